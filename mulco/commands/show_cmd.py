"""``mulco show OUT CONFIG``: load a config with `datasets` and print a few records."""
from __future__ import annotations

from pathlib import Path


def make_parser(subparsers):
    from ..args import Range, bounded

    p = subparsers.add_parser("show", help="Load a config of a built folder with `datasets` and print records.")
    p.add_argument("folder", type=Path, help="A folder written by `mulco build`.")
    p.add_argument("config", nargs="?", default="all", help="Config name (default: all; `mulco configs FOLDER` lists them).")
    p.add_argument("-n", type=bounded(int, Range.parse("[1, 1000000]")), default=3,
                   help="How many records to print (default: 3; an integer in [1, 1000000]).")
    p.add_argument("--split", default=None,
                   help="Split to read (default: the first the config has, in the order train, validation, test).")
    p.add_argument("--json", action="store_true", help="Print the records (every field) as one JSON document.")
    p.set_defaults(func=main)
    return p


def main(args) -> int:
    import mulco

    from ..taxonomy import UnknownConfigError
    from .configs_cmd import read_build, splits_of

    meta = read_build(args.folder)
    splits = splits_of(meta).get(args.config)
    split = args.split
    if splits is not None:  # an unknown name: mulco.load says which names are close and why
        if split is None:
            split = splits[0]
        elif split not in splits:
            raise UnknownConfigError(f"config {args.config!r} has no {split!r} split; it has {', '.join(splits)}")
    # streaming: only the first records are read; mulco.load closes the stream at exit (apache/arrow#45214)
    ds = mulco.load(args.config, data_dir=args.folder, split=split or "train", streaming=True)
    if getattr(args, "json", False):
        from ..listing import print_json, show_json

        return print_json(show_json(args.config, split or "train", ds.take(args.n))) or 0
    print(f"{args.config} / {split}:")
    _print_records(ds.take(args.n))
    return 0


def _print_records(rows) -> None:
    for r in rows:
        subtask = f"/{r['subtask']}" if r["subtask"] else ""
        print(f"[{r['id']}] {r['task']}{subtask} {r['lang']} {r['plang'] or '-'}  ({r['source']})")
        print("  instruction:", _short(r["instruction"]))
        if r["input"]:
            print("  input:      ", _short(r["input"]))
        print("  output:     ", _short(r["output"]))
        print()


def _short(s: str, n: int = 240) -> str:
    s = s.replace("\n", "⏎ ")
    return s if len(s) <= n else s[:n] + " …"
