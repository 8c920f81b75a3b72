"""``mulco sources [--raw-dir DIR]``: the registry, what each source expects, and what is present."""
from __future__ import annotations

from pathlib import Path


def make_parser(subparsers):
    p = subparsers.add_parser("sources", help="List the raw sources, their licenses and expected files.")
    p.add_argument("--raw-dir", type=Path, default=None, help="Also say which sources are present in this folder.")
    p.set_defaults(func=main)
    return p


def main(args) -> int:
    from .. import sources
    from ..sources.base import MissingSourceFile
    from ..table import render

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
    print(render(headers, rows))
    return 0
