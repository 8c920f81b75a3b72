"""``mulco configs OUT``: list the configs of a built folder with their sizes."""
from __future__ import annotations

from pathlib import Path


def make_parser(subparsers):
    p = subparsers.add_parser("configs", help="List the configs of a built MulCo folder.")
    p.add_argument("folder", type=Path, help="A folder written by `mulco build`.")
    p.set_defaults(func=main)
    return p


def main(args) -> int:
    from ..card import read_card_yaml
    from ..table import render

    meta = read_card_yaml(Path(args.folder) / "README.md")
    if not meta.get("configs"):
        raise FileNotFoundError(f"{args.folder}/README.md has no configs: is it a folder written by `mulco build`?")
    info = {d["config_name"]: {s["name"]: s["num_examples"] for s in d["splits"]} for d in meta.get("dataset_info", [])}
    rows = [(c["config_name"], info.get(c["config_name"], {}).get("train", 0), info.get(c["config_name"], {}).get("validation", 0),
             info.get(c["config_name"], {}).get("test", 0)) for c in meta["configs"]]
    print(render(["config", "train", "validation", "test"], rows))
    return 0
