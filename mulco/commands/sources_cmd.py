"""``mulco sources [--raw-dir DIR]``: the registry, what each source expects, and what is present."""
from __future__ import annotations

from pathlib import Path


def make_parser(subparsers):
    p = subparsers.add_parser("sources", help="List the raw sources, their licenses and expected files.")
    p.add_argument("--raw-dir", type=Path, default=None, help="Also say which sources are present in this folder.")
    p.add_argument("--json", action="store_true", help="Print the sources, licenses, expected files (and presence) as JSON.")
    p.set_defaults(func=main)
    return p


def main(args) -> int:
    from .. import sources
    from ..sources.base import MissingSourceFile
    from ..table import render

    if args.raw_dir is not None:
        from ..build import check_raw_dir

        check_raw_dir(args.raw_dir)  # a missing folder or a file is an error, not "every source absent"
    rows = []
    for name in sources.names():
        spec = sources.get(name).SPEC
        present = ""
        if args.raw_dir:
            try:
                files = sources.get(name).find(args.raw_dir)
                present = f"{len(files)} files" if files else "absent"
            except MissingSourceFile as e:
                present = f"partial: missing {Path(e.path).name}"
        rows.append((name, spec.license, spec.expected) + ((present,) if args.raw_dir else ()))
    headers = ["source", "license", "expected under the raw folder"] + (["present"] if args.raw_dir else [])
    if getattr(args, "json", False):
        from ..listing import print_json, sources_json

        return print_json(sources_json(headers, rows)) or 0
    print(render(headers, rows))
    print("\nLayout, where to get each source and which files are optional: docs/sources.md"
          + ("" if args.raw_dir else "; `mulco sources --raw-dir DIR` says what DIR holds") + ".")
    if args.raw_dir and not any(r[-1] not in ("absent",) and not str(r[-1]).startswith("partial") for r in rows):
        print(f"No source is complete under {args.raw_dir}: `mulco build --raw-dir {args.raw_dir}` would find nothing.")
    return 0
