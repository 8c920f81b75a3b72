"""The end of a run: one line of counts and what to do next (stdout), the problems (stderr),
and the exit status."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from .downloader import Outcome
from .lock import LOCK_NAME

#: Exit codes of ``mulco download``.
EXIT_OK, EXIT_FAILED, EXIT_MANUAL = 0, 1, 3


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def summarize(outcomes: list[Outcome], raw_dir: Path, log: Callable[[str], None] = print,
              dry_run: bool = False, warn: Callable[[str], None] = _stderr) -> tuple[int, list[Outcome]]:
    """Say what happened and return (exit code, outcomes): failed or refused files make 1, files
    to fetch by hand 3 (a dry run that could go ahead is 0, even with files it would refuse
    without --trust-on-first-use: a plan refuses nothing)."""
    by: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by.setdefault(o.status, []).append(o)
    log("; ".join(f"{len(os)} {s}" for s, os in sorted(by.items())) or "nothing to do")
    failed, refused, manual = by.get("failed", []), by.get("refused", []), by.get("manual", [])
    unpinned = by.get("needs-trust", [])
    if unpinned:
        log(f"{len(unpinned)} file(s) would need --trust-on-first-use: their sha256 is not pinned, so the run refuses "
            f"them unless the flag is given, which records the hash they have in {raw_dir / LOCK_NAME}")
    if refused:
        warn(f"{len(refused)} file(s) refused because their sha256 is not pinned: pass --trust-on-first-use to "
             f"fetch them and record the hash they have in {raw_dir / LOCK_NAME} (later downloads must match it)")
    if failed:
        warn(f"{len(failed)} file(s) {'could not be put' if dry_run else 'not'} in place; see the lines marked FAILED above")
    if failed or refused:
        return EXIT_FAILED, outcomes
    if manual:
        log(f"{len(manual)} file(s) must be downloaded by hand into {raw_dir} (see BY HAND above)")
    if dry_run:
        log("dry run: nothing was written; the plan above can run"
            + (f" (with --trust-on-first-use for the {len(unpinned)} unpinned file(s))" if unpinned else ""))
        return EXIT_OK, outcomes
    return (EXIT_MANUAL if manual else EXIT_OK), outcomes
