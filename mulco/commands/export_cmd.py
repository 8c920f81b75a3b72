"""``mulco export OUT_OR_REPO --format FMT --configs … --dest DIR``: files for LLaMA-Factory, axolotl, TRL,
the seed's train.py (alpaca-json) or anything that reads JSON Lines."""
from __future__ import annotations

import sys

from ..textio import counted

EPILOG = """examples:
  mulco export out/mulco --format llamafactory --configs code_search.en,code_generation.zh --dest exports/lf
  mulco export collama/mulco --format trl --configs en --licenses MIT,Apache-2.0,CC-BY-4.0 --split train,validation --dest exports/trl
  mulco export out/mulco --format llamafactory --configs zh --absolute-paths --dest exports/lf-abs"""


def make_parser(subparsers=None):
    import argparse

    from ..examples import ExampleFormatter
    from ..export import FORMATS

    kw = dict(help="Export configs for LLaMA-Factory, axolotl, TRL, the seed's train.py (alpaca-json) or as JSON Lines.",
              description="Write each config and split to DEST/<config>/<split>.json[l] with exactly the records "
                          "mulco.load gives (same order; --licenses keeps only those licences), plus what the tool needs: "
                          "dataset_info.json (llamafactory), axolotl.yaml and axolotl_hub.yaml (axolotl). DEST must be "
                          "new, empty or written by an earlier `mulco export` (else refused unless --force), never the "
                          "data folder; it is replaced atomically when complete. The same input gives identical bytes. "
                          "A split a config does not have (or with no record under --licenses) is skipped and listed; "
                          "configs that share records (en and code_search.en) are exported as asked, with a warning. "
                          "docs/exports.md says what each format writes and how to point the tool at it.",
              epilog=EPILOG, formatter_class=ExampleFormatter)
    p = subparsers.add_parser("export", **kw) if subparsers else argparse.ArgumentParser("mulco export", **kw)
    p.add_argument("data", metavar="OUT_OR_REPO", help="A folder written by `mulco build`, or a Hub dataset repo id.")
    p.add_argument("--format", required=True, metavar="FORMAT", help=f"One of: {', '.join(FORMATS)}.")
    p.add_argument("--configs", required=True, action="append", metavar="NAME[,NAME…]",
                   help="Config names (comma-separated or repeated); `mulco configs OUT` lists them.")
    p.add_argument("--split", action="append", default=None, metavar="SPLIT[,SPLIT…]",
                   help="Splits to export (train, validation, test; comma-separated or repeated; default: train); "
                        "a config's missing split is skipped and listed.")
    p.add_argument("--licenses", default=None, metavar="LIC[,LIC…]",
                   help="An allow-list: keep only records under these licences (the `license` field, case-insensitive), "
                        "e.g. MIT,Apache-2.0,CC-BY-4.0; one that selects nothing is a note, and only an export left "
                        "empty is an error.")
    p.add_argument("--dest", required=True, help="The folder to write (replaced as a whole).")
    p.add_argument("--force", action="store_true", help="Replace DEST even if `mulco export` did not write it.")
    p.add_argument("--revision", default=None, help="Hub revision (branch, tag or commit) when OUT_OR_REPO is a repo id.")
    p.add_argument("--repo-id", default=None,
                   help="The Hub repo axolotl_hub.yaml points at (default: the repo read from, or the one the build was made for).")
    p.add_argument("--absolute-paths", action="store_true",
                   help="llamafactory: name the files by absolute path in dataset_info.json, so its entries can be "
                        "merged into LLaMA-Factory's own data/dataset_info.json (default: relative to DEST, "
                        "for dataset_dir: DEST).")
    p.add_argument("--json", action="store_true", help="Print what was written as JSON (for scripts).")
    p.set_defaults(func=main)
    return p


def main(args) -> int:
    import json

    from ..export import export, split_list, summary_table

    verbosity = getattr(args, "verbosity", 1)
    log = (lambda m: print(m, file=sys.stderr, flush=True)) if verbosity >= 2 else None
    result = export(args.data, args.format, split_list(args.configs), args.dest,
                    splits=split_list(args.split) or ["train"],
                    licenses=None if args.licenses is None else split_list(args.licenses),
                    force=args.force, revision=args.revision, repo_id=args.repo_id, log=log,
                    absolute_paths=args.absolute_paths)
    for note in result.notes:
        print(f"mulco export: note: {note}", file=sys.stderr)
    for w in result.warnings:
        print(f"WARNING: {w}", file=sys.stderr)
    if result.format == "llamafactory" and not args.absolute_paths and not args.json and verbosity > 0:
        print(f"mulco export: note: dataset_info.json names the files relative to {result.dest} (dataset_dir: "
              f"{result.dest}); to merge its entries into LLaMA-Factory's own data/dataset_info.json, export with "
              f"--absolute-paths", file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    elif verbosity == 0:
        skipped = f"; {len(result.skipped)} config split(s) skipped" if result.skipped else ""
        print(f"{counted(result.records, 'record')} in {counted(len(result.files), 'file')} ({result.bytes:,} bytes) written to "
              f"{result.dest}{skipped}")
    else:
        print(summary_table(result))
    return 0
