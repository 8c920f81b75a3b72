"""``mulco build``."""
from __future__ import annotations

import sys

from ..args import add_dataclass_arguments, from_namespace
from ..build import BuildConfig


def make_parser(subparsers=None):
    import argparse

    kw = dict(help="Build MulCo from raw sources into a Hub-ready folder.",
              description="Convert every raw source found, validate, split and write Parquet + card.")
    p = subparsers.add_parser("build", **kw) if subparsers else argparse.ArgumentParser("mulco build", **kw)
    add_dataclass_arguments(p, BuildConfig)
    p.set_defaults(func=main)
    return p


def main(args) -> int:
    from ..build import build
    from ..summary import build_summary

    cfg = from_namespace(BuildConfig, args)
    translator = None
    if cfg.translator_url:
        from ..translate_openai import translator_from_config

        translator = translator_from_config(cfg)
    result = build(cfg, translator=translator)
    print(build_summary(result))
    bad = [n for n, r in result.sources.items() if not r.reconciles()]
    if bad:
        print(f"error: counts do not reconcile for {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0
