"""``mulco``: one command with subcommands. Heavy imports happen inside each command.

Global flags: ``--version``; ``-q/--quiet`` (no progress, only the last line of a summary,
warnings and errors) and ``-v/--verbose`` (more detail, and a traceback with an error), before or
after the subcommand (``mulco -q build …`` = ``mulco build -q …``). Output: the summary of a
command on stdout; progress, warnings and errors on stderr. An expected error is one line,
``mulco COMMAND: error: ...``, with exit status 2.
"""
from __future__ import annotations

import argparse
import sys

#: Subcommand modules under mulco.commands, in the order `mulco --help` lists them.
COMMANDS = ("build_cmd", "configs_cmd", "show_cmd", "sources_cmd", "publish_cmd", "download_cmd", "validate_cmd",
            "export_cmd", "stats_cmd")

#: Verbosity levels (``args.verbosity``).
QUIET, NORMAL, VERBOSE = 0, 1, 2


class Parser(argparse.ArgumentParser):
    """A usage error is one line naming the command and how to get its help (not the whole usage)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mulco")
    except PackageNotFoundError:
        from . import __version__

        return __version__


def make_parser() -> argparse.ArgumentParser:
    import importlib

    parser = Parser(prog="mulco", description="Build, check and load the MulCo dataset.")
    parser.add_argument("--version", action="version", version=f"mulco {_version()}")
    add_verbosity(parser, NORMAL)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    from .examples import add_examples

    for name in COMMANDS:
        # every subcommand's help ends with an example (mulco/examples.py unless the command sets its own)
        p = importlib.import_module(f"mulco.commands.{name}").make_parser(sub)
        add_verbosity(p, argparse.SUPPRESS)  # also after the subcommand; unset there, the global one stands
        add_examples(p, name.removesuffix("_cmd"))
    return parser


def add_verbosity(parser: argparse.ArgumentParser, default) -> None:
    """``-q/--quiet`` and ``-v/--verbose`` (``args.verbosity``)."""
    loud = parser.add_mutually_exclusive_group()
    loud.add_argument("-q", "--quiet", dest="verbosity", action="store_const", const=QUIET, default=default,
                      help="No progress; only the last line of a summary, warnings and errors.")
    loud.add_argument("-v", "--verbose", dest="verbosity", action="store_const", const=VERBOSE, default=default,
                      help="More detail (per-phase timings; a traceback with an error).")


def main(argv: list[str] | None = None) -> int:
    import warnings

    args = make_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _note_printer(args.command, warnings.showwarning)
        return _run(args)


def _note_printer(command: str, show):
    """``warnings.showwarning`` that prints mulco's notes (:class:`mulco.select.LicenceNote`) as one
    line, ``mulco COMMAND: note: ...``, and leaves every other warning to ``show``."""
    from .select import LicenceNote

    def note(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, LicenceNote):
            print(f"mulco {command}: note: {message}", file=sys.stderr, flush=True)
        else:
            show(message, category, filename, lineno, file, line)

    return note


def _run(args) -> int:
    verbosity = getattr(args, "verbosity", NORMAL)
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `mulco configs OUT | head`: the reader left; no error, no traceback
        from .textio import stdout_closed

        return stdout_closed()
    except (OSError, ValueError, LookupError) as e:
        # expected user errors (missing or unwritable paths, refused outputs, bad names): one line
        if verbosity >= VERBOSE:
            import traceback

            traceback.print_exc()
        print(f"mulco {args.command}: error: {_one_line(e)}", file=sys.stderr)
        return 2


def _one_line(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        text = f"{e.filename}: {e.strerror}" if e.filename else e.strerror
    else:
        text = str(e) or type(e).__name__
    if isinstance(e, KeyError) and e.args:
        text = str(e.args[0])
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
