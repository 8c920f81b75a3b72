"""``mulco``: one command with subcommands. Heavy imports happen inside each command."""
from __future__ import annotations

import argparse
import sys

#: Subcommand modules under mulco.commands, in the order `mulco --help` lists them.
COMMANDS = ("build_cmd", "configs_cmd", "show_cmd", "sources_cmd", "publish_cmd", "download_cmd", "validate_cmd")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mulco", description="Build, check and load the MulCo dataset.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    import importlib

    for name in COMMANDS:
        importlib.import_module(f"mulco.commands.{name}").make_parser(sub)
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (FileNotFoundError, ValueError, PermissionError) as e:
        # expected user errors: one line, no traceback
        print(f"mulco {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
