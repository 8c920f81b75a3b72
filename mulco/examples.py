"""The example every ``mulco`` subcommand's help ends with, and the help formatter that prints it.

A command module may set its own ``epilog`` (``export``, ``stats``); otherwise :func:`add_examples`
gives it the lines of :data:`EXAMPLES`. A test runs every command's ``--help`` and checks that it
ends with an example (so a new command without one fails), and that each example parses.
"""
from __future__ import annotations

import argparse

#: Subcommand -> example command lines (each is parsed by the test).
EXAMPLES: dict[str, tuple[str, ...]] = {
    "build": ("mulco build --raw-dir raw --out out/mulco",
              "mulco build --sample --out out/sample   # the small sample bundled with mulco"),
    "configs": ("mulco configs out/mulco",
                "mulco configs out/mulco --json | jq '.configs[] | select(.name == \"zh\")'"),
    "show": ("mulco show out/mulco code_search.en -n 3",
             "mulco show out/mulco code_generation.zh --split test -n 1 --json"),
    "sources": ("mulco sources --raw-dir raw", "mulco sources --json"),
    "publish": ("mulco publish out/mulco --repo-id collama/mulco --dry-run",
                "mulco publish out/mulco --repo-id collama/mulco --tag v0.1.0"),
    "download": ("mulco download --raw-dir raw --dry-run", "mulco download codealpaca codepro --raw-dir raw"),
    "validate": ("mulco validate out/mulco", "mulco validate --alpaca MID_all_data.json"),
}


class ExampleFormatter(argparse.HelpFormatter):
    """Wraps the description as usual but prints an ``examples:`` epilog line by line, as written."""

    def _fill_text(self, text, width, indent):
        if text.startswith("example"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def epilog(command: str) -> str | None:
    lines = EXAMPLES.get(command)
    return None if not lines else "examples:\n" + "\n".join(f"  {x}" for x in lines)


def add_examples(parser: argparse.ArgumentParser, command: str) -> None:
    """Give ``parser`` (a subcommand's) its example epilog unless it has one, and the formatter that keeps it."""
    if not parser.epilog:
        parser.epilog = epilog(command)
    if parser.formatter_class is argparse.HelpFormatter:  # a command's own formatter is kept
        parser.formatter_class = ExampleFormatter
