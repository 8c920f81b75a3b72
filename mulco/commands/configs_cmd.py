"""``mulco configs OUT``: list the configs of a built folder with their sizes."""
from __future__ import annotations

from pathlib import Path


def make_parser(subparsers):
    p = subparsers.add_parser("configs", help="List the configs of a built MulCo folder.")
    p.add_argument("folder", type=Path, help="A folder written by `mulco build`.")
    p.add_argument("--json", action="store_true", help="Print the configs, their split sizes and licences as JSON.")
    p.set_defaults(func=main)
    return p


class NotABuild(ValueError):
    """A path that is not a folder written by ``mulco build`` (one line says why)."""


def read_build(folder: Path) -> dict:
    """The card YAML of a built folder, or :class:`NotABuild` naming the folder and what is wrong."""
    from ..card import read_card_yaml

    folder = Path(folder)
    hint = "pass the --out folder of `mulco build`"
    if not folder.exists():
        raise NotABuild(f"{folder} is not a MulCo build folder: it does not exist; {hint}")
    if not folder.is_dir():
        raise NotABuild(f"{folder} is not a MulCo build folder: it is a file; {hint}")
    card = folder / "README.md"
    if not card.is_file():
        raise NotABuild(f"{folder} is not a MulCo build folder: it has no README.md; {hint}")
    try:
        meta = read_card_yaml(card)
    except Exception as e:  # a YAML error of any kind: the card is not one mulco wrote
        raise NotABuild(f"{folder} is not a MulCo build folder: the YAML header of README.md does not parse "
                        f"({type(e).__name__}); rebuild it") from None
    if not isinstance(meta, dict) or not meta.get("configs"):
        raise NotABuild(f"{folder} is not a MulCo build folder: its README.md lists no configs; {hint}")
    return meta


def splits_of(meta: dict) -> dict[str, list[str]]:
    """Config name -> its splits, in the order the card lists them."""
    return {c["config_name"]: [df["split"] for df in c.get("data_files", [])] for c in meta["configs"]}


def main(args) -> int:
    from ..table import render

    meta = read_build(args.folder)
    from ..listing import configs_listing, print_json

    headers, rows, doc = configs_listing(args.folder, meta)  # records per split, and per licence (all splits)
    if getattr(args, "json", False):
        return print_json(doc) or 0
    print(render(headers, rows))
    if getattr(args, "verbosity", 1):
        print(f"\n{len(rows)} configs (the licence columns count records of all splits); "
              f"load one with `mulco show {args.folder} NAME` or "
              f"mulco.load(NAME, data_dir={str(args.folder)!r})")
    return 0
