"""``mulco download [SOURCE…] --raw-dir DIR``: fetch the raw sources, checked against pinned hashes."""
from __future__ import annotations

from pathlib import Path


def make_parser(subparsers=None):
    import argparse

    from ..args import Range, bounded

    kw = dict(
        help="Download the raw sources from their original locations (sha256-checked, resumable).",
        description=(
            "Fetch each raw source listed in mulco/data/downloads.json into the layout `mulco build` reads "
            "(docs/sources.md). Files are checked against pinned hashes before they are put in place; unpinned "
            "files are only fetched with --trust-on-first-use, which records their sha256 in "
            "DIR/mulco-download.lock.json (later downloads must match). Other files in DIR are left alone; nothing "
            "is ever deleted. Files that cannot be fetched automatically are listed with what to do. Problems go to "
            "stderr, the plan and the summary to stdout. Exit status: 0 all in place (or, with --dry-run, the plan "
            "can run), 1 something failed or was refused, 3 only files to download by hand remain."
        ),
    )
    p = subparsers.add_parser("download", **kw) if subparsers else argparse.ArgumentParser("mulco download", **kw)
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="Sources to fetch (default: all in the manifest).")
    p.add_argument("--raw-dir", type=Path, required=True, help="Where to put the raw files (then: mulco build --raw-dir DIR).")
    p.add_argument("--trust-on-first-use", action="store_true",
                   help="Also fetch files whose sha256 is not pinned yet, and record the hash they had in the lock file.")
    p.add_argument("--force", action="store_true",
                   help="Replace files that are present but differ from the pinned original (the old one is kept aside "
                        "in DIR/.mulco-download/rejected/).")
    p.add_argument("--dry-run", action="store_true",
                   help="Say what would be fetched, from where, and how it is pinned, and which files would need "
                        "--trust-on-first-use; write nothing. Exits 0 when the plan can run.")
    p.add_argument("--retries", type=bounded(int, Range.parse("[0, 100]")), default=5,
                   help="Retries per file for failures that can heal (timeouts, dropped connections, 429, 5xx), with "
                        "exponential backoff (default: 5; an integer in [0, 100]).")
    p.add_argument("--timeout", type=bounded(float, Range.parse("(0, 86400]")), default=60.0,
                   help="Seconds without data before a request is retried (default: 60; a number in (0, 86400]).")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="No progress bars.")
    p.add_argument("--manifest", type=Path, default=None, help="Another manifest (default: the one shipped with mulco).")
    p.set_defaults(func=main)
    return p


def main(args) -> int:
    from ..download import Options, download

    quiet = getattr(args, "verbosity", 1) == 0
    opts = Options(trust_on_first_use=args.trust_on_first_use, force=args.force, dry_run=args.dry_run,
                   retries=args.retries, timeout=args.timeout, progress=args.progress and not quiet)
    code, _ = download(args.sources or None, args.raw_dir, opts, manifest=args.manifest)
    return code
