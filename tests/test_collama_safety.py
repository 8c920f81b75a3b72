"""collama-train --output-dir, collama-eval --out and collama-train merge --out follow mulco's output
rules (mulco.safeout): a MulCo data folder, a path inside one, a folder holding anything else, the
model (or adapter) folder and a file are refused with one line, rc 2, before any work, and are
byte-identical afterwards; a previous run's folder needs --resume or --overwrite_output_dir, and
overwriting leaves no stale checkpoint behind."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from train_fixtures import *  # noqa: F401,F403
from train_fixtures import base_argv, run_report

pytest.importorskip("torch")

from conftest import tree_digest  # noqa: E402

from collama_train.cli import main as train_cli  # noqa: E402
from collama_train.evaluate.cli import main as eval_cli  # noqa: E402


def _one_line(code: int, capsys, prog: str) -> str:
    err = capsys.readouterr().err.strip()
    lines = [ln for ln in err.splitlines() if not ln.startswith("[")]  # DeepSpeed's own import warning
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"{prog}: error: "), lines[0]
    return lines[0]


def _places(tmp_path: Path, data: Path, model: Path) -> dict[str, tuple[Path, str]]:
    """Where no command may write: name -> (path, words its error must hold)."""
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "thesis.tex").write_text("\\documentclass{article}\n")
    afile = tmp_path / "afile.txt"
    afile.write_text("keep me\n")
    return {"data": (data, "is a MulCo data folder"), "inside data": (data / "data" / "x", "inside the MulCo data folder"),
            "unrelated": (thesis, "did not write (it holds thesis.tex)"), "file": (afile, "is an existing file"),
            "model": (model, "the model folder")}


def _digests(places):
    return {n: tree_digest(p) if p.is_dir() else (p.read_bytes() if p.is_file() else None) for n, (p, _) in places.items()}


def test_train_eval_and_merge_refuse_foreign_folders(tmp_path, tiny_model, mulco_sample, cache_dir, capsys):
    places = _places(tmp_path, mulco_sample, tiny_model)
    before = _digests(places)
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(tiny_model)}))
    for name, (path, words) in places.items():
        msg = _one_line(train_cli(base_argv(tiny_model, mulco_sample, path, cache_dir)), capsys, "collama-train")
        assert f"--output-dir {path}" in msg and words in msg, msg
        msg = _one_line(eval_cli(["--model", str(tiny_model), "--data", str(mulco_sample), "--configs",
                                  "code_generation.en", "--out", str(path)]), capsys, "collama-eval")
        assert f"--out {path}" in msg and words in msg, msg
        if name != "model":
            msg = _one_line(train_cli(["merge", str(adapter), "--out", str(path)]), capsys, "collama-train merge")
            assert f"--out {path}" in msg and words in msg, msg
    # merge never writes into (or around) the adapter, nor into the base model
    for path, words in ((adapter, "is the adapter folder"), (adapter / "merged", "is inside the adapter folder"),
                        (tiny_model, "is the base model folder")):
        msg = _one_line(train_cli(["merge", str(adapter), "--out", str(path)]), capsys, "collama-train merge")
        assert words in msg, msg
    assert _digests(places) == before and not (mulco_sample / "data" / "x").exists()
    assert sorted(p.name for p in adapter.iterdir()) == ["adapter_config.json"]
    assert not (tmp_path / "eval_results").exists() and not cache_dir.exists()  # nothing tokenized either


def test_a_previous_run_needs_resume_or_overwrite_and_overwrite_leaves_no_checkpoint(tmp_path, tiny_model,
                                                                                     mulco_sample, cache_dir, capsys):
    out = tmp_path / "run"
    steps = ("--max_steps", "1", "--max-samples", "4")
    assert train_cli(base_argv(tiny_model, mulco_sample, out, cache_dir, *steps, "--save_strategy", "steps",
                               "--save_steps", "1")) == 0
    assert (out / "checkpoint-1").is_dir() and (out / ".collama-train").is_file()
    capsys.readouterr()
    before = tree_digest(out)
    msg = _one_line(train_cli(base_argv(tiny_model, mulco_sample, out, cache_dir, *steps)), capsys, "collama-train")
    assert "holds a previous collama-train run" in msg and "--resume" in msg and "--overwrite_output_dir" in msg
    msg = _one_line(train_cli(base_argv(tiny_model, mulco_sample, out, cache_dir, *steps, "--resume",
                                        "--overwrite_output_dir")), capsys, "collama-train")
    assert "choose one" in msg
    assert tree_digest(out) == before
    assert train_cli(base_argv(tiny_model, mulco_sample, out, cache_dir, *steps, "--overwrite_output_dir")) == 0
    assert not (out / "checkpoint-1").exists() and run_report(out)["results"]["steps"] == 1
    assert "--overwrite_output_dir: emptied" in capsys.readouterr().err


def test_eval_may_write_the_eval_folder_of_a_run_and_nothing_else_inside_it(tmp_path):
    """``collama-eval --model RUN --out RUN/eval`` is the run's own evaluation folder (what --eval-configs
    writes and publish reads): allowed for a collama-train run; any other folder inside a model is not,
    nor ``eval`` inside a model folder that no run wrote."""
    from types import SimpleNamespace

    from mulco.toolkit import UnsafeOutputError

    from collama_train.outputs import RUN_MARKER, check_eval_out

    run, plain = tmp_path / "run", tmp_path / "plain_model"
    for folder in (run, plain):
        folder.mkdir()
        (folder / "config.json").write_text("{}")
    (run / RUN_MARKER).write_text("collama-train\n")
    assert check_eval_out(SimpleNamespace(model=str(run), data=None, out=str(run / "eval"))) == run / "eval"
    for model, out in ((run, run / "other"), (run, run), (plain, plain / "eval")):
        with pytest.raises(UnsafeOutputError, match="the model folder"):
            check_eval_out(SimpleNamespace(model=str(model), data=None, out=str(out)))
