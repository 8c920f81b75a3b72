"""``mulco build``."""
from __future__ import annotations

import sys

from ..args import add_dataclass_arguments, from_namespace
from ..build import BuildConfig


def make_parser(subparsers=None):
    import argparse

    kw = dict(help="Build MulCo from raw sources into a Hub-ready folder.",
              description="Convert every raw source found (layout: docs/sources.md; `mulco sources --raw-dir DIR` "
                          "says what is present), or the small bundled sample with --sample; validate, split and write Parquet + "
                          "card. The output folder must be new, empty or written by an earlier `mulco build` of the same "
                          "raw folder (else refused unless --force) and is "
                          "replaced atomically when the build completes. A build that finds no source or keeps no "
                          "record is an error. Progress and warnings go to stderr, the summary to stdout.")
    p = subparsers.add_parser("build", **kw) if subparsers else argparse.ArgumentParser("mulco build", **kw)
    add_dataclass_arguments(p, BuildConfig)
    p.set_defaults(func=main)
    return p


def main(args) -> int:
    from ..extras import require

    require("build", "mulco build")  # before any work: one line naming the extra
    if args.raw_dir is None and not args.sample:  # a forgotten --raw-dir must not build (and replace with) the toy sample
        raise ValueError("no --raw-dir: name the folder holding the raw sources (--raw-dir DIR; `mulco sources` says "
                         "what goes there), or ask for the small sample bundled with mulco with --sample")
    from ..build import build, limit_malloc_arenas
    from ..summary import build_summary, last_line

    limit_malloc_arenas()
    verbosity = getattr(args, "verbosity", 1)
    if verbosity == 0:
        args.progress = False
    cfg = from_namespace(BuildConfig, args)
    translator = None
    if cfg.translator_url:
        from ..translate_openai import translator_from_config

        translator = translator_from_config(cfg)
    result = build(cfg, translator=translator)
    print(last_line(result) if verbosity == 0 else build_summary(result, timings=verbosity >= 2), flush=True)
    for w in result.warnings:
        print(f"WARNING: {w}", file=sys.stderr)
    bad = [n for n, r in result.sources.items() if not r.reconciles()]
    if bad:
        print(f"error: counts do not reconcile for {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0
