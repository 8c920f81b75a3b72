"""A rank started by a launcher leaves without interpreter finalization once its run is done
(collama_train.cli.leave): what it printed is flushed, its exit code is kept, and finalization (where
a joinable C++ thread can abort the rank) does not run; a plain process returns normally."""
from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import atexit, sys
from collama_train.cli import leave
atexit.register(lambda: print("finalized", flush=True))
print("report written", end="")
sys.stderr.write("summary on stderr")
rc = leave(int(sys.argv[1]), launched=sys.argv[2] == "1")
print(" returned", rc)
sys.exit(rc)
"""


def _run(rc: int, launched: bool, **env) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-c", SCRIPT, str(rc), "1" if launched else "0"], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **env})


def test_a_launched_rank_leaves_at_once_with_its_code_and_output():
    for rc in (0, 3):
        done = _run(rc, True)
        assert done.returncode == rc
        assert done.stdout == "report written" and done.stderr == "summary on stderr"  # flushed; no atexit, no return


def test_a_plain_process_or_collama_finalize_exits_normally():
    for done in (_run(0, False), _run(0, True, COLLAMA_FINALIZE="1")):
        assert done.returncode == 0
        assert done.stdout == "report written returned 0\nfinalized\n"
