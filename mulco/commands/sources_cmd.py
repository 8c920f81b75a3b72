"""``mulco sources [--raw-dir DIR]``: the registry, what each source expects, and what is present.

A source is *present* when its files are found and none it needs is missing, *partial* when a
file it needs is missing (a half of a pair, or a companion such as the cloze test's answers:
the build would quarantine every row), *absent* otherwise. The table fits the terminal: the long
"expected" column is wrapped to the width left (``--json`` gives the text unwrapped).
"""
from __future__ import annotations

from pathlib import Path

from ..textio import counted

#: A wrapped column never gets narrower than this, however narrow the terminal.
MIN_WRAPPED = 16


def make_parser(subparsers):
    p = subparsers.add_parser("sources", help="List the raw sources, their licenses and expected files.")
    p.add_argument("--raw-dir", type=Path, default=None, help="Also say which sources are present in this folder.")
    p.add_argument("--json", action="store_true", help="Print the sources, licenses, expected files (and presence) as JSON.")
    p.set_defaults(func=main)
    return p


def presence(name: str, raw_dir: Path) -> str:
    """``N files``, ``absent`` or ``partial: missing …`` for source ``name`` under ``raw_dir``."""
    from .. import sources
    from ..build import missing_companions
    from ..sources.base import MissingSourceFile

    mod = sources.get(name)
    try:
        files = mod.find(raw_dir)
    except MissingSourceFile as e:
        return f"partial: missing {Path(e.path).name}"
    if not files:
        return "absent"
    lacking = missing_companions(mod, raw_dir, files)
    if lacking:  # e.g. "partial: 6 files, missing 6 answers.txt"
        import collections

        names = collections.Counter(p.name for p in lacking)
        shown = ", ".join(f"{n} {name}" if n > 1 else name for name, n in sorted(names.items()))
        return f"partial: {counted(len(files), 'file')}, missing {shown}"
    return counted(len(files), "file")


def fit(headers: list[str], rows: list[tuple], wrap: list[int], width: int) -> list[tuple]:
    """``rows`` with the text of the columns ``wrap`` wrapped so that the table is at most ``width``
    wide when it can be (each wrapped column at least :data:`MIN_WRAPPED`; the first of ``wrap`` gets
    what the others leave); continuation lines have empty cells elsewhere."""
    import textwrap

    natural = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    room = width - sum(w for i, w in enumerate(natural) if i not in wrap) - 2 * (len(headers) - 1)
    widths = {}
    for i in wrap[1:]:
        widths[i] = min(natural[i], max(MIN_WRAPPED, room // (2 * len(wrap) - 1)))
    widths[wrap[0]] = min(natural[wrap[0]], max(MIN_WRAPPED, room - sum(widths.values())))
    out = []
    for r in rows:
        cells = {i: textwrap.wrap(str(r[i]), widths[i], break_on_hyphens=False) or [""] for i in wrap}
        for k in range(max(len(c) for c in cells.values())):
            out.append(tuple((cells[i][k] if k < len(cells[i]) else "") if i in cells else (c if k == 0 else "")
                             for i, c in enumerate(r)))
    return out


def main(args) -> int:
    import shutil

    from .. import sources
    from ..table import render

    if args.raw_dir is not None:
        from ..build import check_raw_dir

        check_raw_dir(args.raw_dir)  # a missing folder or a file is an error, not "every source absent"
    rows = []
    for name in sources.names():
        spec = sources.get(name).SPEC
        present = (presence(name, args.raw_dir),) if args.raw_dir else ()
        rows.append((name, spec.license, spec.expected) + present)
    headers = ["source", "license", "expected under the raw folder"] + (["present"] if args.raw_dir else [])
    if getattr(args, "json", False):
        from ..listing import print_json, sources_json

        return print_json(sources_json(headers, rows)) or 0
    import textwrap

    width = shutil.get_terminal_size((100, 24)).columns
    shown = [h if i != 2 else "expected files" for i, h in enumerate(headers)]  # a short header wraps the column narrower
    wrap = [2, 3] if args.raw_dir else [2]  # the expected files, and what is present
    print(render(shown, fit(shown, rows, wrap, width)))
    notes = ["", "Layout, where to get each source and which files are optional: docs/sources.md"
             + ("" if args.raw_dir else "; `mulco sources --raw-dir DIR` says what DIR holds") + "."]
    if args.raw_dir and not any(r[-1] != "absent" and not str(r[-1]).startswith("partial") for r in rows):
        notes.append(f"No source is complete under {args.raw_dir}: `mulco build --raw-dir {args.raw_dir}` would find nothing.")
    print("\n".join(textwrap.fill(n, width, break_long_words=False, break_on_hyphens=False) for n in notes))
    return 0
