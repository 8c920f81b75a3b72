"""``mulco`` flags whose typos or omissions must not quietly weaken or replace a build (issue 20):
list flags check their values, the bundled sample is asked for by name and never replaces a build
of another raw folder, nothing written names a local path, ``mulco sources`` calls an incomplete
source partial (and ``--strict`` fails on it), and the global flags go on either side of the
subcommand."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import typing
from pathlib import Path

import pytest

from mulco.args import field_choices
from mulco.build import BuildConfig, build, sample_raw_dir
from mulco.cli import NORMAL, QUIET, VERBOSE, main, make_parser
from mulco.safeout import BUILD_MARKER, UnsafeOutputError


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _copy(rel: str, raw: Path) -> None:
    """The sample's file or folder ``rel`` into the raw folder ``raw``, at the same place."""
    src, dst = sample_raw_dir() / rel, raw / rel
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dst)
    else:
        shutil.copy2(src, dst)


def _list_fields() -> list[dataclasses.Field]:
    hints = typing.get_type_hints(BuildConfig)
    return [f for f in dataclasses.fields(BuildConfig) if "list[" in str(hints[f.name])]


# -- item 4: every list-valued build flag checks its values ----------------------------------------


def test_every_list_valued_build_flag_refuses_an_unknown_value_before_any_work(tmp_path, capsys):
    fields = _list_fields()
    assert {"sources", "parse_drop", "decontam_benchmarks"} <= {f.name for f in fields}
    for f in fields:
        valid = field_choices(f)
        assert valid, f"--{f.name}: a list flag must declare metadata['choices'] (mulco.args.check_choices)"
        typo, flag = valid[0] + "2", "--" + f.name.replace("_", "-")
        out = tmp_path / f.name
        assert main(["build", "--sample", "--out", str(out), flag, typo, "--no-progress"]) == 2
        err = _one_line(capsys)
        assert err.startswith(f"mulco build: error: {flag}: unknown value {typo!r}"), err
        assert f"did you mean {valid[0]}" in err and all(v in err for v in valid), err
        assert not out.exists()
        with pytest.raises(ValueError, match=f"did you mean {valid[0]}"):
            BuildConfig(**{f.name: [valid[0], typo]})  # the Python API checks the same way
        BuildConfig(**{f.name: list(valid)})  # every valid value passes


# -- item 9: global flags on either side of the subcommand -----------------------------------------


@pytest.mark.parametrize("argv, verbosity", [
    (["build", "--sample"], NORMAL), (["-q", "build", "--sample"], QUIET), (["build", "--sample", "-q"], QUIET),
    (["build", "-v", "--sample"], VERBOSE), (["-v", "export", "o", "--format", "jsonl", "--configs", "en", "--dest", "d"], VERBOSE),
    (["export", "o", "--format", "jsonl", "--configs", "en", "--dest", "d", "--quiet"], QUIET),
    (["sources", "-q"], QUIET), (["configs", "o", "--verbose"], VERBOSE),
])
def test_global_flags_are_accepted_before_and_after_the_subcommand(argv, verbosity):
    assert make_parser().parse_args(argv).verbosity == verbosity


def test_quiet_after_the_subcommand_quiets_the_build(tmp_path, capsys):
    assert main(["build", "--sample", "--sources", "codealpaca", "--out", str(tmp_path / "q"), "-q"]) == 0
    cap = capsys.readouterr()
    assert len(cap.out.strip().splitlines()) == 1 and "records in" in cap.out
    assert all(line.startswith("WARNING: ") for line in cap.err.splitlines())


# -- item 5: the sample is asked for by name; a build of another raw folder needs --force ----------


def test_a_forgotten_raw_dir_never_replaces_a_real_build(tmp_path, capsys):
    raw = tmp_path / "real"
    _copy("codealpaca", raw)
    out = tmp_path / "built"
    assert main(["build", "--raw-dir", str(raw), "--out", str(out), "--no-progress", "-q"]) == 0
    capsys.readouterr()
    before = _snapshot(out)
    marker = json.loads((out / BUILD_MARKER).read_text(encoding="utf-8"))
    assert marker["origin"].startswith("raw folder 'real' #") and str(tmp_path) not in json.dumps(marker)

    assert main(["build", "--out", str(out)]) == 2  # no --raw-dir: the message names --sample
    err = _one_line(capsys)
    assert "no --raw-dir" in err and "--sample" in err
    assert main(["build", "--sample", "--out", str(out), "--no-progress"]) == 2  # the sample over a real build
    err = _one_line(capsys)
    assert str(out) in err and "the bundled sample" in err and "raw folder 'real'" in err and "--force" in err
    with pytest.raises(UnsafeOutputError, match="--force"):
        build(BuildConfig(out=out, progress=False), log=None)  # Python: raw_dir=None is the sample, same rule
    other = tmp_path / "other" / "real"
    _copy("codealpaca", other)
    assert main(["build", "--raw-dir", str(other), "--out", str(out), "--no-progress"]) == 2  # same name, other folder
    assert "--force" in _one_line(capsys)
    assert _snapshot(out) == before

    assert main(["build", "--raw-dir", str(raw), "--out", str(out), "--no-progress", "-q"]) == 0  # same folder again
    assert _snapshot(out) == before
    capsys.readouterr()
    assert main(["build", "--sample", "--raw-dir", str(raw), "--out", str(out)]) == 2
    assert "give one of them" in _one_line(capsys)
    assert main(["build", "--sample", "--sources", "codealpaca", "--out", str(out), "--force", "-q"]) == 0
    assert json.loads((out / BUILD_MARKER).read_text(encoding="utf-8"))["origin"] == "the bundled sample (--sample)"


# -- item 7: nothing written into the build folder names a local path ------------------------------


def test_no_absolute_local_path_in_any_file_of_a_build_with_a_source_missing(tmp_path, capsys):
    home = tmp_path / "Qz7-distinctive-home"
    raw = home / "raw"
    _copy("codealpaca", raw)
    for name in ("train.txt", "valid.txt", "test.txt"):  # devign without its function.json: skipped
        _copy(f"codexglue/Defect-detection/dataset/{name}", raw)
    mbpp = home / "benchmarks" / "mbpp"
    shutil.copytree(sample_raw_dir() / "mbpp", mbpp)
    out = tmp_path / "out"
    assert main(["build", "--raw-dir", str(raw.resolve()), "--mbpp-dir", str(mbpp.resolve()), "--out", str(out),
                 "--no-progress", "-q"]) == 0
    report = json.loads((out / "build_report.json").read_text(encoding="utf-8"))
    assert report["sources"]["devign"]["status"] == "skipped" and report["sources"]["bigclonebench"]["status"] == "absent"
    # the messages still say what is missing where, relative to the raw folder
    assert "missing raw/codexglue/Defect-detection/dataset/function.json" in report["sources"]["devign"]["message"]
    assert "not found under raw " in report["sources"]["bigclonebench"]["message"]
    assert report["settings"]["decontamination"]["mbpp_dir"] == "mbpp"
    leaks = {}
    for p in sorted(out.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            for needle in ("Qz7-distinctive-home", str(tmp_path), str(tmp_path.resolve())):
                if needle.encode() in data:
                    leaks.setdefault(p.relative_to(out).as_posix(), []).append(needle)
    assert not leaks, leaks


# -- item 8: mulco sources says what a source lacks; --strict fails on a source that keeps no row --


def test_sources_calls_a_source_without_a_required_companion_partial_and_strict_fails(tmp_path, capsys, monkeypatch):
    raw = tmp_path / "raw"
    _copy("codexglue/ClozeTesting-maxmin/data", raw)  # the cloze files without evaluator/answers
    _copy("codealpaca", raw)
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["sources", "--raw-dir", str(raw)]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80, out
    rows = {line.split()[0]: line for line in out.splitlines() if line and not line.startswith(" ")}
    assert "partial" in rows["codexglue_cloze"] and "answers.txt" in out
    assert rows["codealpaca"].rstrip().endswith("1 file")

    assert main(["build", "--raw-dir", str(raw), "--out", str(tmp_path / "o"), "--strict", "--no-progress"]) == 2
    err = _one_line(capsys)
    assert "codexglue_cloze" in err and "answers.txt" in err
    assert not (tmp_path / "o").exists()


def test_strict_fails_on_a_source_that_keeps_no_row(tmp_path, capsys):
    raw = tmp_path / "raw"
    _copy("codepro", raw)
    (raw / "codealpaca").mkdir(parents=True)
    (raw / "codealpaca" / "code_alpaca_20k.json").write_text(json.dumps([{"instruction": 1}, "not an object"]))
    assert main(["build", "--raw-dir", str(raw), "--out", str(tmp_path / "loose"), "--no-progress", "-q"]) == 0
    assert "codealpaca read 2 rows but kept no record" in capsys.readouterr().err  # a warning only
    assert main(["build", "--raw-dir", str(raw), "--out", str(tmp_path / "strict"), "--no-progress", "--strict"]) == 2
    err = _one_line(capsys)
    assert "--strict: source codealpaca kept none of its 2 rows" in err and "mulco sources --raw-dir" in err
    assert not (tmp_path / "strict").exists()
