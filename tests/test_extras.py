"""What a build does when part of the [build] extra is missing: a missing tree-sitter grammar is a
warning (summary and report) that names the plang and the pip command, an error under --strict;
a command whose extra is missing says which to install in one line (tests/test_core_install.py
runs that in a real core-only venv)."""
from __future__ import annotations

import json

import pytest

from mulco import extras
from mulco.build import BuildConfig, build
from mulco.steps import parse


@pytest.fixture
def no_sql_grammar(monkeypatch):
    monkeypatch.setitem(parse.GRAMMARS, "sql", ("tree_sitter_sql_not_installed", "language"))
    parse.parser.cache_clear()
    parse.parses.cache_clear()
    yield
    parse.parser.cache_clear()
    parse.parses.cache_clear()


def test_a_missing_grammar_is_a_warning_in_the_summary_and_the_report(no_sql_grammar, tmp_path):
    res = build(BuildConfig(out=tmp_path / "out", sources=["codealpaca"], progress=False))
    (warning,) = [w for w in res.warnings if "tree-sitter" in w]
    assert "sql" in warning and "tree_sitter_sql_not_installed" in warning and "pip install 'mulco[build]'" in warning
    report = json.loads((tmp_path / "out" / "build_report.json").read_text())
    assert warning in report["warnings"] and report["parse"]["grammars"]["sql"] == "missing"
    assert warning in (tmp_path / "out" / "build_report.md").read_text()


def test_a_missing_grammar_is_an_error_under_strict(no_sql_grammar, tmp_path, capsys):
    from mulco import cli

    assert cli.main(["-q", "build", "--sample", "--out", str(tmp_path / "out"), "--sources", "codealpaca", "--strict"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mulco build: error: --strict: no tree-sitter grammar for sql")
    assert not (tmp_path / "out").exists()


def test_require_names_the_extra_and_what_is_missing(monkeypatch):
    extras.require("build", "mulco build")  # the test environment has the extra
    monkeypatch.setitem(extras.EXTRAS, "charts", ("matplotlib", "no_such_module_here"))
    with pytest.raises(extras.MissingExtraError) as ei:
        extras.require("charts", "mulco stats --plot")
    assert str(ei.value) == ("mulco stats --plot needs the [charts] extra (no_such_module_here not installed): "
                             "pip install 'mulco[charts]'")
    assert isinstance(ei.value, LookupError)  # the CLI prints it as one line
