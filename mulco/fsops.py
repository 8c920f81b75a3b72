"""Putting a finished folder in place: atomic replace, the cleanup of what killed runs left, fsync.

``mulco build`` and ``mulco export`` write into a hidden ``.X.tmp-PID`` folder next to their output
and swap it in with :func:`atomic_replace` when it is complete; :func:`clean_leftovers` removes
(or puts back) what an interrupted run left there.
"""
from __future__ import annotations

import contextvars
import hashlib
import os
import shutil
import sys
from pathlib import Path

#: Run by :func:`atomic_replace` just before it swaps (the output checks again, as late as possible).
SWAP_CHECK: contextvars.ContextVar = contextvars.ContextVar("mulco_swap_check", default=None)


def atomic_replace(tmp: Path, out: Path) -> None:
    """Put the complete folder ``tmp`` at ``out``. With an existing ``out`` the two are swapped
    in one step (Linux renameat2 RENAME_EXCHANGE) so a reader or a crash never sees a mix;
    elsewhere the old folder is moved aside first."""
    check = SWAP_CHECK.get()
    if check is not None:
        check()
    if out.exists():
        from .safeout import check_removable

        check_removable(out, "--out")  # before anything moves: the old output must be removable
        if not _exchange(tmp, out):
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.rename(out, old)
            try:
                os.rename(tmp, out)
            except BaseException:
                os.rename(old, out)  # put the old output back before giving up
                raise
            tmp = old
        _fsync_dir(out.parent)
        # the new output is in place; what is left of the old one (should it resist) is removed by
        # the next build (clean_leftovers)
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        os.rename(tmp, out)
        _fsync_dir(out.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def clean_leftovers(out: Path) -> list[str]:
    """Remove the ``.X.tmp-PID`` / ``.X.old-PID`` folders that killed builds left beside ``out``.
    If ``out`` itself is missing (a crash between the two renames where renameat2 is not
    available), the old output is put back first. Folders of running processes are left alone."""
    out = Path(out)
    if not out.parent.is_dir():
        return []
    done = []
    for kind in ("old", "tmp"):  # old first: it may have to become out again
        for p in sorted(out.parent.glob(f".{out.name}.{kind}-*")):
            pid = p.name.rsplit("-", 1)[-1]
            if not pid.isdigit() or int(pid) == os.getpid() or _running(int(pid)):
                continue
            if kind == "old" and not out.exists():
                os.rename(p, out)
                done.append(f"restored {out} from {p.name}")
            else:
                shutil.rmtree(p, ignore_errors=True)
                done.append(f"removed {p.name}")
    return done


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _exchange(a: Path, b: Path) -> bool:
    if sys.platform != "linux":
        return False
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    fn = getattr(libc, "renameat2", None)
    if fn is None:
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    return fn(AT_FDCWD, os.fsencode(str(a)), AT_FDCWD, os.fsencode(str(b)), RENAME_EXCHANGE) == 0


def fsync_tree(root: Path) -> None:
    """fsync every file under ``root`` (before it is renamed into place)."""
    for dirpath, _, files in os.walk(root):
        for f in files:
            fd = os.open(os.path.join(dirpath, f), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


__all__ = ["SWAP_CHECK", "atomic_replace", "clean_leftovers", "fsync_tree"]


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/mulco``, else ``~/.cache/mulco``: where mulco keeps what it can make again."""
    return Path(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")) / "mulco"


def file_hashes(path: Path, chunk: int = 1 << 20) -> tuple[str, str, int]:
    """(sha256, git blob id, size) of a file, in one pass: what `mulco download` checks a file
    against and what the build report's provenance lists."""
    size = path.stat().st_size
    sha, blob = hashlib.sha256(), hashlib.sha1(f"blob {size}\0".encode())
    with open(path, "rb") as fh:
        for piece in iter(lambda: fh.read(chunk), b""):
            sha.update(piece)
            blob.update(piece)
    return sha.hexdigest(), blob.hexdigest(), size
