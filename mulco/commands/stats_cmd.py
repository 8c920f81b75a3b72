"""``mulco stats OUT CONFIG``: length distributions of instruction, input and output."""
from __future__ import annotations

EPILOG = """examples:
  mulco stats out/mulco code_search.en
  mulco stats out/mulco en --split train --tokenizer models/tiny --licenses MIT,Apache-2.0 --plot en_lengths.png"""


def make_parser(subparsers=None):
    import argparse

    from ..examples import ExampleFormatter
    kw = dict(help="Length distributions (characters, tokens) of a config's fields, as a table or a histogram PNG.",
              description="For instruction, input and output: count, empty, mean, p50, p90, p99 and max of the "
                          "length in characters and, with --tokenizer (a local folder; nothing is downloaded), in "
                          "tokens without special tokens. Percentiles are nearest-rank (each is a length that occurs).",
              epilog=EPILOG, formatter_class=ExampleFormatter)
    p = subparsers.add_parser("stats", **kw) if subparsers else argparse.ArgumentParser("mulco stats", **kw)
    p.add_argument("data", metavar="OUT_OR_REPO", help="A folder written by `mulco build`, or a Hub dataset repo id.")
    p.add_argument("config", nargs="?", default="all", help="Config name (default: all; `mulco configs OUT` lists them).")
    p.add_argument("--split", action="append", default=None, metavar="SPLIT[,SPLIT…]",
                   help="Splits to count (train, validation, test; default: every split the config has).")
    p.add_argument("--tokenizer", default=None, metavar="PATH",
                   help="A local tokenizer folder (or tokenizer.json): also count tokens.")
    p.add_argument("--plot", default=None, metavar="FILE.png", help="Also write histograms to this PNG file.")
    p.add_argument("--licenses", default=None, metavar="LIC[,LIC…]",
                   help="Count only records under these licences (case-insensitive); an unknown one is an error "
                        "listing those present.")
    p.add_argument("--revision", default=None, help="Hub revision when OUT_OR_REPO is a repo id.")
    p.add_argument("--json", action="store_true", help="Print the figures as JSON (for scripts).")
    p.set_defaults(func=main)
    return p


def _loud(args) -> bool:
    from ..cli import QUIET

    return getattr(args, "verbosity", None) != QUIET


def main(args) -> int:
    import json

    from ..export import split_list
    from ..stats import check_plot_path, compute, plot, table_text

    plot_path = check_plot_path(args.plot, args.data) if args.plot else None  # before the work
    result = compute(args.data, args.config, splits=split_list(args.split) or None,
                     licenses=None if args.licenses is None else split_list(args.licenses),
                     tokenizer=args.tokenizer, revision=args.revision, progress=_loud(args))
    if plot_path is not None:
        plot(result, plot_path)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return 0
    print(table_text(result))
    if plot_path is not None:
        print(f"\nhistograms written to {plot_path}")
    return 0
