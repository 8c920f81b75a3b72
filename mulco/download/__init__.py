"""``mulco download``: fetch the raw sources from their public locations into ``--raw-dir``.

What is fetched from where is data: ``mulco/data/downloads.json`` (one entry per source, files
at fixed GitHub commits, archives, derived files, and what must be fetched by hand). Every
file is checked before it is put in place:

* **Pins.** ``sha256`` (of the whole file) when known; otherwise ``git_blob`` (a prefix of the
  git blob id, ``sha1("blob <size>\\0" + content)``) and ``size`` taken from the source
  repository's history. A file verified by these has its sha256 recorded in the lock file
  ``<raw-dir>/mulco-download.lock.json``, which pins every later download.
* **Unpinned files** (``sha256: null`` and nothing else known) are refused unless
  ``--trust-on-first-use`` is given; the hash of what was fetched is then recorded in the
  lock file, and later downloads must match it. ``--dry-run`` lists them as needing the flag.
* **A mismatch** is an error that names the expected and the actual hash; the bad file is
  moved to ``<raw-dir>/.mulco-download/rejected/`` (kept for inspection, never used).

Transfers go to ``<raw-dir>/.mulco-download/partial/`` and resume with HTTP ``Range`` after an
interruption; failures that can heal are retried with backoff, those that cannot fail at once
(:mod:`mulco.retry`), and the other files of a host that could not be reached are not tried. A
file appears at its place in the raw folder only once complete and verified.

**The user's files.** The raw folder is the user's: other files in it are normal and left
alone. ``download`` only adds files at the manifest's destinations and never deletes one: a
present file that is not the original is refused unless ``--force``, which moves it aside to
``.mulco-download/rejected/`` (kept). It refuses a ``--raw-dir`` that is a file, that it cannot
write, or that is (inside) a folder written by ``mulco build`` (the next build would delete
what it fetched). ``--dry-run`` writes nothing (not even the folder) and exits 0 when the real
run could go ahead. Files that cannot be fetched automatically (Google Drive, licence
click-through) are listed with exactly what to download and where to put it.

The parts: :mod:`.manifest` (what, where, pins), :mod:`.lock` (the lock file), :mod:`.verify`
(hashes), :mod:`.transfer` (HTTP with resume), :mod:`.downloader` (the run),
:mod:`.summary` (the end of the run and the exit code).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable

from .downloader import Downloader, Options, Outcome
from .errors import ChecksumError, DownloadError, Unreachable
from .lock import LOCK_NAME, Lock
from .manifest import MANIFEST, WORK_DIR, Item, Pin, SourceEntry, iter_items, load_manifest, select
from .summary import EXIT_FAILED, EXIT_MANUAL, EXIT_OK, summarize
from .transfer import USER_AGENT, fetch
from .verify import Verdict, hashes, verify

__all__ = ["EXIT_FAILED", "EXIT_MANUAL", "EXIT_OK", "LOCK_NAME", "MANIFEST", "USER_AGENT", "WORK_DIR", "ChecksumError",
           "DownloadError", "Downloader", "Item", "Lock", "Options", "Outcome", "Pin", "SourceEntry", "Unreachable",
           "Verdict", "check_raw_dir", "download", "fetch", "hashes", "iter_items", "load_manifest", "select",
           "summarize", "verify"]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def download(names: list[str] | None, raw_dir: Path, opts: Options | None = None, *, manifest: Path | None = None,
             log: Callable[[str], None] = print, warn: Callable[[str], None] = _stderr) -> tuple[int, list[Outcome]]:
    """Fetch the named sources (all when none) into ``raw_dir``; return (exit code, outcomes).

    ``log`` gets the plan, the files in place and the summary (stdout); ``warn`` the files that
    failed or were refused, and the retries (stderr)."""
    entries = select(load_manifest(manifest), names)
    raw_dir = Path(raw_dir)
    opts = opts or Options()
    check_raw_dir(raw_dir)
    if not opts.dry_run:
        raw_dir.mkdir(parents=True, exist_ok=True)
    d = Downloader(raw_dir, opts, log, warn)
    for e in entries:
        d.get_source(e)
    return summarize(d.outcomes, raw_dir, log, dry_run=opts.dry_run, warn=warn)


def check_raw_dir(raw_dir: Path) -> None:
    """``--raw-dir`` may hold anything of the user's (download adds files, never deletes one);
    refused: a file, a place that cannot be written, a folder written by ``mulco build``
    (the next build would delete the downloads) or one inside it."""
    from ..safeout import BUILD_MARKER, UnsafeOutputError, check_writable_into, has_marker

    check_writable_into(raw_dir, flag="--raw-dir")
    p = Path(os.path.abspath(raw_dir))
    for folder in (p, *p.parents):
        if folder.is_dir() and has_marker(folder, BUILD_MARKER):
            raise UnsafeOutputError(f"--raw-dir {raw_dir} is {'inside ' if folder != p else ''}a folder written by "
                                    f"`mulco build` ({folder}), which the next build replaces; choose another folder")
