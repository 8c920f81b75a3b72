"""What a person sees from ``mulco``: one-line errors they can act on, ranges named for numeric
flags, ``--version``, ``-q``/``-v``, progress on stderr and the summary on stdout, ``configs`` and
``show`` on a wrong folder, ``show`` picking an existing split, ``validate`` hinting ``--alpaca``,
``sources`` on a missing folder, and config-name hints drawn from the build (issue 8)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import mulco
from mulco.build import BuildConfig, build
from mulco.cli import main
from mulco.taxonomy import UnknownConfigError

SOURCES = ["codealpaca", "codesearchnet", "codexglue_cloze"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The sample's codealpaca, codesearchnet (no translator: its ZH summaries are skipped) and
    cloze test (every record in the test split)."""
    out = tmp_path_factory.mktemp("cli") / "out"
    build(BuildConfig(out=out, sources=SOURCES, progress=False), log=None)
    return out


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# -- numeric flags ------------------------------------------------------------------------------

BAD_NUMBERS = [
    (["build", "--workers", "0"], "--workers", "[1, 256]"),
    (["build", "--threads", "-1"], "--threads", "[1, 256]"),
    (["build", "--dedup-threshold", "2"], "--dedup-threshold", "(0, 1]"),
    (["build", "--dedup-threshold", "0"], "--dedup-threshold", "(0, 1]"),
    (["build", "--dedup-threshold", "nan"], "--dedup-threshold", "number"),
    (["build", "--en-max-cjk-ratio", "1.5"], "--en-max-cjk-ratio", "[0, 1]"),
    (["build", "--dedup-num-perm", "0"], "--dedup-num-perm", "[1, 4096]"),
    (["build", "--dedup-ngram", "0"], "--dedup-ngram", ">= 1"),
    (["build", "--max-lines", "0"], "--max-lines", ">= 1"),
    (["build", "--min-instruction-chars", "-3"], "--min-instruction-chars", ">= 0"),
    (["build", "--decontam-ngram", "0"], "--decontam-ngram", ">= 1"),
    (["build", "--workers", "two"], "--workers", "expected an integer"),
    (["show", "x", "-n", "-1"], "-n", "[1, 1000000]"),
    (["validate", "x", "--max-errors", "-1"], "--max-errors", ">= 0"),
    (["download", "--raw-dir", "x", "--retries", "-1"], "--retries", "[0, 100]"),
    (["download", "--raw-dir", "x", "--timeout", "0"], "--timeout", "(0, 86400]"),
]


@pytest.mark.parametrize("argv, flag, rng", BAD_NUMBERS, ids=[" ".join(a[0:1] + a[-2:]) for a, _, _ in BAD_NUMBERS])
def test_numeric_flags_out_of_range_are_one_line_errors_naming_the_range(argv, flag, rng, capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"mulco {argv[0]}: error: argument {flag}") and rng in line, line
    assert list(tmp_path.iterdir()) == []


def test_every_numeric_build_setting_has_a_range():
    """New numeric settings cannot slip in unchecked: each needs a "range" in its field's metadata."""
    import dataclasses
    import typing

    from mulco.args import field_range

    hints = typing.get_type_hints(BuildConfig)
    numeric = [f for f in dataclasses.fields(BuildConfig) if hints[f.name] in (int, float)]
    assert numeric and [f.name for f in numeric if field_range(f) is None] == []


def test_configs_made_in_python_are_checked_too():
    with pytest.raises(ValueError, match=r"workers must be an integer in \[1, 256\], got 0"):
        BuildConfig(workers=0)
    with pytest.raises(ValueError, match="dedup-bands"):
        BuildConfig(dedup_bands=200, dedup_num_perm=128)


# -- global flags -------------------------------------------------------------------------------


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    from importlib.metadata import version

    assert capsys.readouterr().out.strip() == f"mulco {version('mulco')}"


def test_progress_on_stderr_one_line_per_phase_and_the_summary_on_stdout(tmp_path, capsys):
    """Off a terminal: one line for the conversion, one per quality step, one for the write,
    whatever the number of workers (no bars drawn by worker processes)."""
    from mulco.build import quality_steps

    n_steps = len(quality_steps(BuildConfig(), None))
    for workers in ("1", "2"):
        assert main(["build", "--sample", "--sources", "codealpaca", "codepro", "--out", str(tmp_path / workers),
                     "--workers", workers]) == 0
        cap = capsys.readouterr()
        assert "%|" not in cap.err  # no bar off a terminal (nor from the worker processes)
        ours = ("convert:", "quality:", "write:")  # a library may warn on stderr too (e.g. on fork)
        err = [line for line in cap.err.strip().splitlines() if line.startswith(ours)]
        assert len(err) == 1 + n_steps + 1, cap.err
        assert err[0].startswith("convert: 2 of 2 sources found") and "rows read" in err[0]
        assert all(line.startswith("quality: ") and "dropped" in line for line in err[1:-1])
        assert err[-1].startswith("write: ") and "records" in err[-1] and "\r" not in cap.err
        assert "Records" in cap.out and "Sources" in cap.out and " records in " in cap.out.strip().splitlines()[-1]


def test_quiet_prints_only_the_last_line_and_verbose_adds_timings(tmp_path, capsys):
    assert main(["-q", "build", "--sample", "--sources", "codealpaca", "--out", str(tmp_path / "q")]) == 0
    cap = capsys.readouterr()
    assert all(line.startswith("WARNING: ") for line in cap.err.splitlines())  # no progress, warnings stay
    assert len(cap.out.strip().splitlines()) == 1 and "records in" in cap.out
    assert main(["-v", "build", "--sample", "--sources", "codealpaca", "--out", str(tmp_path / "v")]) == 0
    assert "Timings" in capsys.readouterr().out


def test_verbose_shows_the_traceback_of_an_error(tmp_path, capsys):
    assert main(["-v", "configs", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("mulco configs: error:")


def test_usage_errors_are_one_line(capsys):
    with pytest.raises(SystemExit):
        main(["build", "--no-such-flag"])
    assert "unrecognized arguments: --no-such-flag" in one_line(capsys.readouterr().err)


# -- configs / show -----------------------------------------------------------------------------


@pytest.mark.parametrize("what", ["file", "missing", "plain folder"])
def test_configs_and_show_on_something_else_say_not_a_build_folder(tmp_path, capsys, what):
    path = tmp_path / "x"
    if what == "file":
        path.write_text("hello\n")
    elif what == "plain folder":
        path.mkdir()
        (path / "README.md").write_text("# my notes\n")
    for cmd in (["configs", str(path)], ["show", str(path)]):
        assert main(cmd) == 2
        line = one_line(capsys.readouterr().err)
        assert f"{path} is not a MulCo build folder" in line, line


def test_configs_lists_every_config_with_split_counts(built, capsys):
    from mulco.hub import read_configs

    assert main(["configs", str(built)]) == 0
    out = capsys.readouterr().out
    for name in read_configs(built):
        assert any(line.split()[0] == name for line in out.splitlines() if line.strip()), name


def test_show_defaults_to_the_first_split_the_config_has(built, capsys):
    from mulco.card import read_card_yaml

    splits = {c["config_name"]: [d["split"] for d in c["data_files"]] for c in read_card_yaml(built / "README.md")["configs"]}
    name = next(n for n, s in splits.items() if "train" not in s)  # e.g. the cloze test: a test set
    first = splits[name][0]
    assert main(["show", str(built), name, "-n", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{name} / {first}:") and out.count("instruction:") == 1
    assert main(["show", str(built), name, "--split", "train"]) == 2
    assert f"has no 'train' split; it has {', '.join(splits[name])}" in one_line(capsys.readouterr().err)


# -- config-name hints --------------------------------------------------------------------------


def test_a_misspelt_name_gets_only_names_the_build_has(built, capsys):
    from mulco.hub import read_configs

    have = set(read_configs(built))
    with pytest.raises(UnknownConfigError) as e:
        mulco.load("code_serch.en", data_dir=built)
    msg = str(e.value)
    suggested = msg.split("Close names in this build: ")[1].split(". ")[0].split(", ")
    assert suggested and set(suggested) <= have and "code_search.en" in suggested
    assert main(["show", str(built), "code_serch.en"]) == 2
    assert "code_search.en" in one_line(capsys.readouterr().err)


def test_a_valid_but_empty_name_says_why(built):
    with pytest.raises(UnknownConfigError, match="ZH summaries .* need --translator-url"):
        mulco.load("code_summarization.zh", data_dir=built)
    with pytest.raises(UnknownConfigError, match="devign was not in the raw folder or not selected"):
        mulco.load("code_search.defect_detection", data_dir=built)


# -- validate -----------------------------------------------------------------------------------


def test_validate_hints_alpaca_for_a_plain_alpaca_file(tmp_path, capsys):
    f = tmp_path / "mine.json"
    f.write_text(json.dumps([{"instruction": "Add.", "input": "", "output": "1 + 1"}] * 3))
    assert main(["validate", str(f)]) == 1
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == ("hint: every record has only instruction/input/output, i.e. plain Alpaca "
                                           f"records, not MulCo records; to check the Alpaca shape: mulco validate "
                                           f"--alpaca {f}")
    assert main(["validate", "--alpaca", str(f)]) == 0
    assert "hint" not in capsys.readouterr().out


def test_validate_gives_no_alpaca_hint_for_other_records(built, tmp_path, capsys):
    f = tmp_path / "mixed.jsonl"
    f.write_text('{"instruction": "a", "input": "", "output": "b", "id": "x"}\n')
    assert main(["validate", str(f)]) == 1
    assert "hint" not in capsys.readouterr().out
    assert main(["validate", str(built)]) == 0
    assert "hint" not in capsys.readouterr().out


@pytest.mark.parametrize("content", ["", "[]", "\n\n"])
def test_validate_an_empty_file_is_an_error(tmp_path, capsys, content):
    f = tmp_path / "empty.json"
    f.write_text(content)
    assert main(["validate", "--alpaca", str(f)]) == 1
    out = capsys.readouterr().out
    assert "the file is empty" in out and "0 records in 1 file:" in out


# -- sources ------------------------------------------------------------------------------------


def test_sources_on_a_missing_folder_or_a_file_is_an_error(tmp_path, capsys):
    assert main(["sources", "--raw-dir", str(tmp_path / "nonexistent")]) == 2
    assert "does not exist" in one_line(capsys.readouterr().err)
    (tmp_path / "f").write_text("x")
    assert main(["sources", "--raw-dir", str(tmp_path / "f")]) == 2
    assert "is a file" in one_line(capsys.readouterr().err)
    (tmp_path / "empty").mkdir()
    assert main(["sources", "--raw-dir", str(tmp_path / "empty")]) == 0
    out = " ".join(capsys.readouterr().out.split())  # the notes wrap to the terminal's width
    assert "docs/sources.md" in out and "would find nothing" in out


def test_docs_sources_md_exists_and_covers_every_source():
    """Cited by `build --help`, the raw-folder errors and the card."""
    from mulco import sources

    text = (Path(__file__).resolve().parent.parent / "docs" / "sources.md").read_text(encoding="utf-8")
    for name in sources.names():
        spec = sources.get(name).SPEC
        assert f"### {name} " in text, name
        assert spec.patterns[0].split("/")[0] in text, name


def test_the_console_script_runs_without_a_traceback(tmp_path):
    """The real entry point, as a newcomer runs it (a separate process, no terminal)."""
    done = subprocess.run([sys.executable, "-m", "mulco.cli", "build", "--raw-dir", str(tmp_path), "--out",
                           str(tmp_path / "o")], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--out" in done.stderr and "inside --raw-dir" in done.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="needs a Linux pseudo-terminal")
def test_on_a_terminal_two_workers_draw_one_bar(tmp_path):
    """The issue: on a terminal the workers' bars overwrote each other and covered only the
    conversion. Now: one bar for the conversion (with totals), then one line per step and the write."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "mulco.cli", "build", "--sample", "--sources", "codealpaca", "codepro",
                             "--out", str(tmp_path / "o"), "--workers", "2"],
                            stdin=slave, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    raw = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        raw += chunk
    os.close(master)
    assert proc.wait() == 0, raw.decode("utf-8", "replace")[-3000:]
    lines = [line.strip() for line in raw.decode("utf-8", "replace").replace("\r", "\n").split("\n") if line.strip()]
    bars = [line for line in lines if "%|" in line]
    assert bars and all(line.startswith("convert:") for line in bars), bars
    assert "2/2" in bars[-1] and "2 of 2 sources found" in bars[-1]
    assert any(line.startswith("quality: near_dedup:") for line in lines)
    progress = [line for line in lines if not line.startswith("WARNING: ")]
    assert progress[-1].startswith("write: ") and "Traceback" not in raw.decode("utf-8", "replace")


def test_a_bad_zh_twins_value_fails_before_any_conversion(capsys, tmp_path):
    rc = main(["build", "--sample", "--zh-twins", "half", "--out", str(tmp_path / "o")])
    out, err = capsys.readouterr()
    assert rc == 2 and "zh-twins must be paper, all, none or a fraction" in one_line(err)
    assert "convert:" not in out + err and not (tmp_path / "o").exists()


def test_a_malformed_repo_id_fails_before_any_conversion(capsys, tmp_path):
    rc = main(["build", "--sample", "--repo-id", "not a repo", "--out", str(tmp_path / "o")])
    out, err = capsys.readouterr()
    assert rc == 2 and "--repo-id 'not a repo': expected NAMESPACE/NAME" in one_line(err)
    assert "convert:" not in out + err and not (tmp_path / "o").exists()
