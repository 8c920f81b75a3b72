"""Hashing a file and checking it against its pin (sha256, git blob and size, or the lock file)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..fsops import file_hashes as hashes  # (sha256, git blob id, size) in one pass
from .lock import LOCK_NAME
from .manifest import Pin

CHUNK = 1 << 20


@dataclass
class Verdict:
    ok: bool | None  # None: nothing to check against
    sha256: str
    size: int
    how: str  # sha256 | git-blob | lock | size | none
    expected: str = ""
    actual: str = ""


def verify(path: Path, pin: Pin, locked: str | None) -> Verdict:
    """Check ``path`` against its pin, else against the sha256 the lock file ``locked``."""
    sha, blob, size = hashes(path)
    if pin.size is not None and size != pin.size:
        return Verdict(False, sha, size, "size", f"{pin.size} bytes", f"{size} bytes")
    if pin.sha256:
        return Verdict(sha == pin.sha256, sha, size, "sha256", f"sha256 {pin.sha256}", f"sha256 {sha}")
    if pin.git_blob:
        return Verdict(blob.startswith(pin.git_blob), sha, size, "git-blob", f"git blob {pin.git_blob}…", f"git blob {blob}")
    if locked:
        return Verdict(sha == locked, sha, size, "lock", f"sha256 {locked} (from {LOCK_NAME})", f"sha256 {sha}")
    return Verdict(None, sha, size, "none")
