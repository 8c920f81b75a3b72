"""``mulco export OUT_OR_REPO --format FMT --configs … --dest DIR``: files for LLaMA-Factory, axolotl, TRL,
the seed's train.py (alpaca-json) or anything that reads JSON Lines."""
from __future__ import annotations

import sys

EPILOG = """examples:
  mulco export out/mulco --format llamafactory --configs code_search.en,code_generation.zh --dest exports/lf
  mulco export collama/mulco --format trl --configs en --licenses MIT,Apache-2.0 --split train,validation --dest exports/trl"""


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
                          "docs/exports.md says what each format writes and how to point the tool at it.",
              epilog=EPILOG, formatter_class=ExampleFormatter)
    p = subparsers.add_parser("export", **kw) if subparsers else argparse.ArgumentParser("mulco export", **kw)
    p.add_argument("data", metavar="OUT_OR_REPO", help="A folder written by `mulco build`, or a Hub dataset repo id.")
    p.add_argument("--format", required=True, metavar="FORMAT", help=f"One of: {', '.join(FORMATS)}.")
    p.add_argument("--configs", required=True, action="append", metavar="NAME[,NAME…]",
                   help="Config names (comma-separated or repeated); `mulco configs OUT` lists them.")
    p.add_argument("--split", action="append", default=None, metavar="SPLIT[,SPLIT…]",
                   help="Splits to export (train, validation, test; comma-separated or repeated; default: train).")
    p.add_argument("--licenses", default=None, metavar="LIC[,LIC…]",
                   help="Keep only records under these licences (the `license` field, case-insensitive), "
                        "e.g. MIT,Apache-2.0; an unknown one is an error listing those present.")
    p.add_argument("--dest", required=True, help="The folder to write (replaced as a whole).")
    p.add_argument("--force", action="store_true", help="Replace DEST even if `mulco export` did not write it.")
    p.add_argument("--revision", default=None, help="Hub revision (branch, tag or commit) when OUT_OR_REPO is a repo id.")
    p.add_argument("--repo-id", default=None,
                   help="The Hub repo axolotl_hub.yaml points at (default: the repo read from, or the one the build was made for).")
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
                    force=args.force, revision=args.revision, repo_id=args.repo_id, log=log)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    elif verbosity == 0:
        print(f"{result.records:,} records in {len(result.files)} files ({result.bytes:,} bytes) written to {result.dest}")
    else:
        print(summary_table(result))
    return 0
