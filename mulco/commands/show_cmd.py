"""``mulco show OUT CONFIG``: load a config with `datasets` and print a few records."""
from __future__ import annotations

from pathlib import Path


def make_parser(subparsers):
    p = subparsers.add_parser("show", help="Load a config of a built folder with `datasets` and print records.")
    p.add_argument("folder", type=Path, help="A folder written by `mulco build`.")
    p.add_argument("config", nargs="?", default="all", help="Config name (default: all).")
    p.add_argument("-n", type=int, default=3, help="How many records to print.")
    p.add_argument("--split", default="train", help="Split to read (default: train).")
    p.set_defaults(func=main)
    return p


def main(args) -> int:
    import mulco

    ds = mulco.load(args.config, data_dir=args.folder, split=args.split, streaming=True)
    for i, r in enumerate(ds):
        if i >= args.n:
            break
        head = f"[{r['id']}] {r['task']}" + (f"/{r['subtask']}" if r["subtask"] else "") + f" {r['lang']} {r['plang'] or '-'}  ({r['source']})"
        print(head)
        print("  instruction:", _short(r["instruction"]))
        if r["input"]:
            print("  input:      ", _short(r["input"]))
        print("  output:     ", _short(r["output"]))
        print()
    return 0


def _short(s: str, n: int = 240) -> str:
    s = s.replace("\n", "⏎ ")
    return s if len(s) <= n else s[:n] + " …"
