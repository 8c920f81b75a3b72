"""``mulco validate PATH...``: check Alpaca-style files against the MulCo record schema."""
from __future__ import annotations

import sys
from pathlib import Path

from ..textio import counted


def make_parser(subparsers=None):
    import argparse

    from ..args import Range, bounded

    kw = dict(help="Check JSON/JSONL/Parquet files or a built folder against the record schema.",
              description="Check every record of JSON arrays, JSON Lines (.jsonl, .gz too), Parquet files or a folder "
                          "written by `mulco build` against the MulCo record schema (or, with --alpaca, the bare "
                          "instruction/input/output shape). Each bad record is printed with its file, line/item/row, "
                          "the JSON pointer of the field and the reason; the exit status is 1 when any record fails. "
                          "Files are streamed, never loaded whole.")
    p = subparsers.add_parser("validate", **kw) if subparsers else argparse.ArgumentParser("mulco validate", **kw)
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="Files or built folders.")
    p.add_argument("--alpaca", action="store_true",
                   help="Check only the Alpaca shape: string instruction (non-empty), input and output (non-empty).")
    p.add_argument("--max-errors", type=bounded(int, Range.parse("[0, inf)")), default=50,
                   help="Print at most this many problems (all are counted; default: 50; 0 prints none).")
    p.set_defaults(func=main)
    return p


def main(args) -> int:
    from ..extras import require

    require("build", "mulco validate")  # the schema check is jsonschema-rs
    from ..steps.validate import validate_paths
    from ..table import render

    shown = 0

    def on_problem(p):
        nonlocal shown
        if shown < args.max_errors:
            print(p)
        shown += 1

    summary = validate_paths(args.paths, alpaca=args.alpaca, on_problem=on_problem)
    if shown > args.max_errors:
        print(f"... {shown - args.max_errors:,} more problems not shown (--max-errors)")
    what = "Alpaca shape" if args.alpaca else "MulCo record schema"
    if summary.by_reason:
        print()
        print(render(["reason", "records"], sorted(summary.by_reason.items(), key=lambda kv: (-kv[1], kv[0])),
                     title=f"Records failing the {what}, by reason"))
    print()
    if summary.empty_files:
        print(f"{len(summary.empty_files):,} file(s) hold no record (e.g. {summary.empty_files[0]}): an empty file is "
              f"not a valid dataset.")
    print(f"{counted(summary.records, 'record')} in {counted(summary.files, 'file')}: {summary.records - summary.bad_records:,} valid, "
          f"{summary.bad_records:,} invalid ({what}).")
    if not args.alpaca and summary.bad_records and summary.looks_alpaca:
        paths = " ".join(str(p) for p in args.paths)
        print(f"hint: every record has only instruction/input/output, i.e. plain Alpaca records, not MulCo records; "
              f"to check the Alpaca shape: mulco validate --alpaca {paths}")
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main(make_parser().parse_args()))
