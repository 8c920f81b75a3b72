"""`ruff check` with the rules in pyproject.toml ([tool.ruff]: pyflakes, pycodestyle, bugbear and a
complexity limit of 12 per function) passes on the whole repository (`make lint` runs the same)."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from conftest import REPO


def _ruff() -> list[str]:
    try:
        import ruff  # noqa: F401  (the [dev] extra)
    except ImportError:
        exe = shutil.which("ruff")
        if exe is None:
            pytest.skip("ruff is not installed (pip install -e '.[dev]')")
        return [exe]
    return [sys.executable, "-m", "ruff"]


def test_ruff_check_passes():
    done = subprocess.run([*_ruff(), "check", "--no-cache", "--output-format", "concise", "."], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
