"""Every `mulco` subcommand's help ends with an example, and every example parses."""
from __future__ import annotations

import shlex

import pytest

from mulco.cli import COMMANDS, main, make_parser

NAMES = [m.removesuffix("_cmd") for m in COMMANDS]


def _help(cmd: str, capsys) -> str:
    with pytest.raises(SystemExit) as e:
        main([cmd, "--help"])
    assert e.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("cmd", NAMES)
def test_help_ends_with_examples_that_parse(cmd, capsys):
    lines = _help(cmd, capsys).rstrip("\n").splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("example"))
    examples = [line.strip() for line in lines[start + 1:]]
    assert examples and all(x.startswith(f"mulco {cmd} ") for x in examples), lines[start:]
    parser = make_parser()
    for x in examples:
        argv = shlex.split(x.split(" | ")[0].split("  #")[0])
        parser.parse_args(argv[1:])  # exits (status 2) if the example does not parse
