"""Tests are sealed from the network and the user's caches: every test gets its own HF cache
and runs with the Hub offline."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_RAW = REPO.parent / "shared" / "data" / "raw"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


@pytest.fixture(autouse=True)
def _sealed_hf(tmp_path_factory, monkeypatch):
    cache = tmp_path_factory.mktemp("hf_home")
    monkeypatch.setenv("HF_HOME", str(cache))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache / "datasets"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    yield


@pytest.fixture(scope="session")
def shared_raw() -> Path:
    if not SHARED_RAW.is_dir():
        pytest.skip("../shared/data/raw is not present")
    return SHARED_RAW


@pytest.fixture(scope="session")
def sample_raw() -> Path:
    from mulco.build import sample_raw_dir

    return sample_raw_dir()
