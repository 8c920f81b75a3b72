"""One built MulCo sample per session for the export and stats tests (no torch needed).

Use with ``from sample_fixtures import built_sample`` (pytest then sees the fixture in that module).
The folder is ``mulco build --out`` of the bundled raw sample, built once even though several
test modules import the fixture (a later module finds the finished folder).
"""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def built_sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.getbasetemp() / "sample_fixtures" / "mulco"
    done = out.with_name("mulco.done")
    if not done.exists():
        from mulco.build import BuildConfig, build

        out.parent.mkdir(parents=True, exist_ok=True)
        build(BuildConfig(out=out, progress=False), log=None)
        done.touch()
    return out


__all__ = ["built_sample"]
