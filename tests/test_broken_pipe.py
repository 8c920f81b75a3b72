"""A command whose reader has gone (``mulco sources | head -1``) ends quietly: no traceback, no
'error: Broken pipe' line, exit status 141 (128 + SIGPIPE) as shell tools do (before: a 5-frame
traceback from collama-train, 'mulco sources: error: Broken pipe' with status 2)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

BIN = os.path.dirname(sys.executable)


def _into_closed_pipe(argv: list[str], tmp_path) -> subprocess.CompletedProcess:
    r, w = os.pipe()
    os.close(r)  # the reader is gone before the command writes a byte
    try:
        return subprocess.run(argv, stdout=w, stderr=subprocess.PIPE, text=True, timeout=120, cwd=tmp_path,
                              env={**os.environ, "HF_HUB_OFFLINE": "1"})
    finally:
        os.close(w)


@pytest.mark.parametrize("argv", [
    ["mulco", "sources", "--raw-dir", "."],
    ["collama-train", "train", "--help"],
    ["collama-eval", "--help"],
])
def test_a_closed_stdout_is_not_an_error(argv, tmp_path):
    exe = os.path.join(BIN, argv[0])
    if not os.path.exists(exe):
        pytest.skip(f"{argv[0]} is not installed in this environment")
    proc = _into_closed_pipe([exe, *argv[1:]], tmp_path)
    # 141 when the command saw the closed pipe; argparse's own --help may finish inside the buffer (0)
    assert proc.returncode in (0, 141), proc.stderr
    assert "Traceback" not in proc.stderr and "Broken pipe" not in proc.stderr, proc.stderr
