"""collama-train's command line: both flag spellings, --config YAML, the seed's flags, DeepSpeed names
resolved to shipped configs whose `auto` values HF's integration fills, and the model-side bad input:
one line each, before any heavy work, nothing written to --output-dir."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from train_fixtures import *  # noqa: F401,F403
from train_fixtures import base_argv

from collama_train import args as A
from collama_train.cli import main as cli_main


def test_both_spellings_and_seed_aliases():
    a = A.parse(["--output-dir", "r", "--model", "m", "--per-device-train-batch-size", "3", "--max-length", "99"])
    b = A.parse(["--output_dir", "r", "--model_name_or_path", "m", "--per_device_train_batch_size", "3",
                 "--max_length", "99"])
    for group in ("model", "data", "run", "training"):
        assert getattr(a, group) == getattr(b, group)
    assert a.model["model"] == "m" and a.training["output_dir"] == "r"
    assert a.training["per_device_train_batch_size"] == 3 and a.data["max_length"] == 99
    # transformers 5 renamed evaluation_strategy -> eval_strategy; the seed's spelling still works
    c = A.parse(["--output_dir", "r", "--evaluation_strategy", "no"])
    assert c.training["eval_strategy"] == "no"
    d = A.parse(["--output_dir", "r", "--evaluation-strategy=steps"])
    assert d.training["eval_strategy"] == "steps"


def test_yaml_config_and_cli_override(tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("model_name_or_path: base\nlearning-rate: 0.5\nmax_length: 77\nlora: true\n"
                   "configs: code_search.en:0.3\nevaluation_strategy: 'no'\n")
    p = A.parse(["--config", str(cfg), "--output-dir", "r", "--learning_rate", "0.25"])
    assert p.model["model"] == "base" and p.model["lora"] is True
    assert p.training["learning_rate"] == 0.25  # the command line wins
    assert p.data["max_length"] == 77 and p.data["configs"] == "code_search.en:0.3"
    assert p.training["eval_strategy"] == "no"

    bad = tmp_path / "bad.yaml"
    bad.write_text("learnig_rate: 1\n")
    with pytest.raises(A.ArgsError, match=r"bad.yaml: unknown key 'learnig_rate' \(did you mean learning_rate"):
        A.parse(["--config", str(bad)])
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [1, 2\n")
    with pytest.raises(A.ArgsError, match=r"broken.yaml: not valid YAML \(line"):
        A.parse(["--config", str(broken)])


def test_unknown_flag_names_close_one():
    with pytest.raises(A.ArgsError, match=r"unknown argument --learnin_rate.*--learning_rate"):
        A.parse(["--learnin_rate", "1"])


@pytest.mark.parametrize("name", A.DEEPSPEED_NAMES)
def test_shipped_deepspeed_configs_resolve_with_hf_integration(name, tiny_model):
    """Every `auto` in the shipped json is filled by transformers' DeepSpeed integration."""
    from transformers import AutoModelForCausalLM, TrainingArguments
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig, unset_hf_deepspeed_config

    path = A.resolve_deepspeed(name)
    raw = json.loads(Path(path).read_text())
    assert "optimizer" not in raw  # Trainer builds the optimizer and its parameter groups (--optim honoured)
    if name.startswith("zero3"):
        assert raw["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True
    assert "auto" in json.dumps(raw)
    targs = TrainingArguments(output_dir="unused", learning_rate=3e-4, per_device_train_batch_size=2,
                              gradient_accumulation_steps=3, report_to="none")
    model = AutoModelForCausalLM.from_pretrained(tiny_model)  # before the config: ZeRO-3 would zero.Init it
    ds = HfTrainerDeepSpeedConfig(path)
    try:
        ds.trainer_config_process(targs)
        ds.trainer_config_finalize(targs, model, num_training_steps=10)
        filled = ds.config
    finally:
        unset_hf_deepspeed_config()
    assert "auto" not in json.dumps(filled)
    assert "optimizer" not in filled
    assert filled["train_micro_batch_size_per_gpu"] == 2 and filled["gradient_accumulation_steps"] == 3


def _fail(argv, capsys) -> str:
    code = cli_main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if not ln.startswith("[")]  # DeepSpeed's own import warning
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_bad_model_side_input_one_line_nothing_written(tmp_path, tiny_model, mulco_sample, cache_dir, capsys):
    out = tmp_path / "run"
    argv = lambda *extra, model=tiny_model: base_argv(model, mulco_sample, out, cache_dir, *extra)  # noqa: E731

    msg = _fail(argv(model=tmp_path / "nope"), capsys)
    assert msg.startswith("collama-train: error: --model ") and "no such folder" in msg

    # a tokenizer without eos
    from transformers import AutoTokenizer

    no_eos = tmp_path / "no_eos"
    import shutil

    shutil.copytree(tiny_model, no_eos)
    cfg = json.loads((no_eos / "tokenizer_config.json").read_text())
    cfg["eos_token"] = None
    (no_eos / "tokenizer_config.json").write_text(json.dumps(cfg))
    assert AutoTokenizer.from_pretrained(no_eos).eos_token_id is None
    assert "no eos token" in _fail(argv(model=no_eos), capsys)

    # a tokenizer with more tokens than the model's embedding (a tokenizer class that adds its default pad
    # token, as Qwen2's does to a vocabulary without <|endoftext|>): one line, not "index out of range"
    bigger = tmp_path / "bigger_tokenizer"
    shutil.copytree(tiny_model, bigger)
    tok = AutoTokenizer.from_pretrained(bigger)
    tok.add_special_tokens({"additional_special_tokens": ["<|endoftext|>"]})
    tok.save_pretrained(bigger)
    msg = _fail(argv(model=bigger), capsys)
    assert "tokens but the model's embedding only" in msg and "'<|endoftext|>'" in msg, msg

    # a DeepSpeed config that does not parse: the file is named, with the line
    ds = tmp_path / "ds_config.json"
    ds.write_text('{"zero_optimization": {"stage": 2,}\n')
    msg = _fail(argv("--deepspeed", str(ds)), capsys)
    assert str(ds) in msg and "not valid JSON (line 1" in msg
    assert "zero2, zero3, zero3_offload" in _fail(argv("--deepspeed", "zero4"), capsys)

    # --max-length longer than the model's positions
    msg = _fail(argv("--max-length", "4096"), capsys)
    assert "--max-length 4096" in msg and "max_position_embeddings (512)" in msg

    # output dir that is a file
    f = tmp_path / "a_file"
    f.write_text("x")
    assert "is an existing file, not a folder" in _fail(base_argv(tiny_model, mulco_sample, f, cache_dir), capsys)

    # data side (collama_train.data's checks) comes out the same way
    assert "config" in _fail(argv("--configs", "code_search.en:-1"), capsys)
    assert not out.exists() and not cache_dir.exists()


def test_resume_without_checkpoint_and_missing_eval_module(tmp_path, tiny_model, mulco_sample, cache_dir, capsys):
    out = tmp_path / "run"
    msg = _fail(base_argv(tiny_model, mulco_sample, out, cache_dir, "--resume"), capsys)
    assert "--resume" in msg and "no checkpoint" in msg
    msg = _fail(base_argv(tiny_model, mulco_sample, out, cache_dir, "--resume_from_checkpoint", str(tmp_path / "ck")), capsys)
    assert msg.endswith(f"--resume_from_checkpoint {tmp_path / 'ck'}: no such folder")
    msg = _fail(base_argv(tiny_model, mulco_sample, out, cache_dir, "--packing", "--use_cache", "true"), capsys)
    assert "--packing" in msg and "cache" in msg
    assert not out.exists()


def test_fp16_without_gpu_is_one_warning():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: --fp16 is honoured")
    seen = []
    training = {"fp16": True, "bf16": False}
    A.settle_precision(training, warn=seen.append)
    assert training["fp16"] is False and len(seen) == 1 and "--fp16 ignored" in seen[0]


def test_cli_commands(capsys):
    assert cli_main(["tarin", "--x"]) == 2
    assert "did you mean train" in capsys.readouterr().err
    assert cli_main(["--help"]) == 0
    out = capsys.readouterr().out
    for cmd in ("preview", "merge", "tiny-model"):
        assert cmd in out


def test_tiny_model_command(tmp_path, mulco_sample, capsys):
    from transformers import AutoConfig, AutoTokenizer

    out = tmp_path / "tiny"
    assert cli_main(["tiny-model", "--out", str(out), "--data", str(mulco_sample), "--hidden-size", "32",
                     "--vocab-size", "512"]) == 0
    tok = AutoTokenizer.from_pretrained(out)
    cfg = AutoConfig.from_pretrained(out)
    assert cfg.hidden_size == 32 and cfg.vocab_size == len(tok)
    assert tok.eos_token_id is not None and tok.pad_token_id is not None
    # trained on the data's texts: a common code word is a single token, not bytes
    assert len(tok("return")["input_ids"]) == 1
    assert cli_main(["tiny-model", "--out", str(out / "config.json")]) == 2


@pytest.mark.parametrize("extra, words", [
    (("--configs", "code_search.zh.ruby"), "selects no record"),
    (("--licenses", "wtfpl"), "wtfpl"),
    (("--configs", "code_search.en:0"), "not a positive number"),
])
def test_empty_selection_fails_before_the_model_loads(extra, words, tmp_path, tiny_model, mulco_sample, cache_dir, capsys):
    """A selection that is empty only once the folder is read (prepare()) is still one line, and the
    output folder is never created."""
    out = tmp_path / "run"
    msg = _fail(base_argv(tiny_model, mulco_sample, out, cache_dir, *extra), capsys)
    assert words in msg
    assert not out.exists()


def test_cpu_only_torch_adam_is_added_by_code_not_shipped(tmp_path, monkeypatch):
    """A user's config with its own Adam block gets torch_adam only on a machine without a GPU (no
    fused-Adam op compiled on a CPU); with a GPU, and for the shipped files, the config is untouched."""
    own = tmp_path / "ds.json"
    own.write_text(json.dumps({"optimizer": {"type": "AdamW", "params": {"lr": "auto"}}, "zero_optimization": {"stage": 2}}))
    monkeypatch.setattr(A, "has_gpu", lambda: False)
    got = A.deepspeed_for_this_machine(str(own))
    assert got["optimizer"]["params"] == {"lr": "auto", "torch_adam": True} and got["zero_optimization"] == {"stage": 2}
    shipped = A.resolve_deepspeed("zero3_offload")
    assert A.deepspeed_for_this_machine(shipped) == shipped
    assert A.deepspeed_for_this_machine({"optimizer": {"type": "AdamW", "params": {"torch_adam": False}}}) == \
        {"optimizer": {"type": "AdamW", "params": {"torch_adam": False}}}  # the user's explicit choice stays
    monkeypatch.setattr(A, "has_gpu", lambda: True)
    assert A.deepspeed_for_this_machine(str(own)) == str(own)


def test_gradient_checkpointing_follows_transformers_rename(tmp_path):
    """--gradient_checkpointing (the seed's and transformers 4's spelling, deprecated in 5.25) becomes
    --activation_checkpointing before parsing: the same setting, and no FutureWarning on every run."""
    import warnings

    cfg = tmp_path / "run.yaml"
    cfg.write_text("gradient-checkpointing: true\n")
    for argv in (["--gradient_checkpointing", "--gradient-checkpointing-kwargs", '{"use_reentrant": false}'],
                 ["--config", str(cfg)]):
        p = A.parse(["--output-dir", str(tmp_path / "r"), "--model", "m", *argv])
        assert p.training["activation_checkpointing"] is True and p.training["gradient_checkpointing"] is None
        with warnings.catch_warnings():
            warnings.simplefilter("error", FutureWarning)
            targs = A.build(p)[3]
        assert targs.activation_checkpointing is True
    assert A.parse(["--output-dir", "r", "--gradient-checkpointing-kwargs", "{}"]).training["activation_checkpointing_kwargs"] == "{}"


@pytest.mark.parametrize("extra, words", [
    (("--learning_rate", "-1"), "--learning_rate -1: must be 0 or more"),
    (("--per_device_train_batch_size", "0"), "--per_device_train_batch_size 0: must be 1 or more"),
    (("--lora", "--lora-r", "0"), "--lora_r 0: must be 1 or more"),
    (("--max_steps", "0"), "--max_steps 0: give 1 or more, or -1"),
    (("--eval-configs", "code_serch.en"), "Close valid names: code_search.en"),
    (("--eval-configs", "code_search.en", "--eval-limit", "0"), "--limit must be at least 1"),
    (("--eval-configs", "code_search.en", "--template", "alpacca"),
     "unknown template 'alpacca' (did you mean alpaca?); choose one of: alpaca, chat"),
])
def test_bad_flags_fail_before_the_model_loads(extra, words, tmp_path, tiny_model, mulco_sample, cache_dir, capsys,
                                               monkeypatch):
    """Each is one line, rc 2, before the model's config or tokenizer is read and nothing written (before:
    an optimizer ValueError or an evaluation traceback after training)."""
    import collama_train.train as T

    def no_model(*a, **k):
        raise AssertionError("the model was loaded before the flags were checked")

    monkeypatch.setattr(T, "_load_config_and_tokenizer", no_model)
    out = tmp_path / "run"
    msg = _fail(base_argv(tiny_model, mulco_sample, out, cache_dir, *extra), capsys)
    assert words in msg, msg
    assert not out.exists() and not cache_dir.exists()


def test_report_to_without_the_package_and_hub_id_offline_are_one_line(tmp_path, tiny_model, mulco_sample, cache_dir,
                                                                       capsys, monkeypatch):
    from transformers.integrations import integration_utils as iu

    out = tmp_path / "run"
    monkeypatch.setattr(iu, "is_wandb_available", lambda: False)  # whatever this machine has installed
    msg = _fail(base_argv(tiny_model, mulco_sample, out, cache_dir, "--report_to", "wandb"), capsys)
    assert "--report_to wandb: the wandb package is not installed (pip install wandb)" in msg
    # a Hub id with no network here (sealed tests): one line, not the HTTP client's traceback
    msg = _fail(base_argv(tiny_model, "collama/mulco", out, cache_dir), capsys)
    assert msg.startswith("collama-train: error: collama/mulco: ") and ("offline" in msg or "cannot reach the Hub" in msg)
    import huggingface_hub.constants as hc

    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    msg = _fail(base_argv(tiny_model, "collama/mulco", out, cache_dir), capsys)
    assert "collama/mulco: not a local folder, and the Hub is offline" in msg
    assert not out.exists()


def test_ctrl_c_during_training_is_one_line_rc_130(tmp_path, tiny_model, mulco_sample, cache_dir, capsys):
    from transformers import TrainerCallback

    from collama_train.train import main as train_main

    class CtrlC(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            raise KeyboardInterrupt

    assert train_main(base_argv(tiny_model, mulco_sample, tmp_path / "run", cache_dir, "--max_steps", "3"),
                      callbacks=[CtrlC()]) == 130
    err = capsys.readouterr().err
    assert "collama-train: interrupted" in err and "Traceback" not in err


def test_short_help_without_transformers_and_help_all(capsys):
    """`train --help` shows our flags first, the common transformers ones and a pointer, without importing
    transformers (it was 686 lines and 8 s); --help-all lists every TrainingArguments flag."""
    import subprocess
    import sys

    code = ("import sys; from collama_train.cli import main; rc = main(['train', '--help']); "
            "print('transformers' in sys.modules, rc, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stderr.strip().splitlines()[-1] == "False 0", done.stderr
    text = done.stdout
    assert len(text.splitlines()) < 120 and "--help-all" in text and "examples:" in text
    assert text.index("--model") < text.index("--eval-configs") < text.index("common transformers") < text.index("--learning_rate")
    assert "max_position_embeddings" in text  # --max-length's default is the model's limit, not a bare 2048
    assert cli_main(["train", "--help-all"]) == 0
    full = capsys.readouterr().out
    assert "--adam_beta1" in full and "--eval-configs" in full and len(full.splitlines()) > 300


def test_yaml_as_first_argument_and_quiet(tmp_path, tiny_model, mulco_sample, cache_dir, capsys):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("learning_rate: 0.5\nmax_length: 77\n")
    assert A.parse([str(cfg), "--max-length", "99"]).data == A.parse(["--config", str(cfg), "--max-length", "99"]).data
    p = A.parse([str(cfg)])
    assert p.training["learning_rate"] == 0.5 and p.data["max_length"] == 77 and "max_length" in p.given
    with pytest.raises(A.ArgsError, match="unknown argument nonsense"):
        A.parse(["nonsense"])
    out = tmp_path / "q"
    argv = base_argv(tiny_model, mulco_sample, out, cache_dir, "--max_steps", "2", "--disable_tqdm", "false", "-q")
    capsys.readouterr()
    assert cli_main(["train", str(cfg), *argv[:-1], "--quiet"]) == 0
    got = capsys.readouterr()
    assert "step 1/" not in got.err and "'loss'" not in got.out and "loss first -> final" not in got.err
    assert "run report:" in got.err and json.loads((out / "collama_run.json").read_text())["data_args"]["max_length"] == 256
    assert cli_main([str(cfg), *argv[:-1]]) == 2  # no `train`: still the training command (a rerun, refused)
    assert "holds a previous collama-train run" in capsys.readouterr().err


def test_tiny_model_sizes_are_checked(tmp_path, capsys):
    for flag, value, words in (("--vocab-size", "0", "--vocab-size 0: must be at least 260"),
                               ("--hidden-size", "30", "multiple of 4"), ("--layers", "0", "--layers 0")):
        assert cli_main(["tiny-model", "--out", str(tmp_path / "t"), flag, value]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and words in err, err
    assert not (tmp_path / "t").exists()


def test_zero3_offload_on_a_gpu_steps_with_deepspeeds_cpu_adam(monkeypatch):
    """zero3_offload (no optimizer block): on a GPU machine with the default AdamW, Trainer is given
    DeepSpeedCPUAdam (AdamW mode, the run's hyper-parameters) as the class for its own parameter groups;
    another --optim, zero2 or a CPU-only machine keep Trainer's choice."""
    from types import SimpleNamespace

    import torch
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig, unset_hf_deepspeed_config

    from collama_train.train import offload_optimizer

    def targs(name, optim="adamw_torch_fused"):
        return SimpleNamespace(hf_deepspeed_config=HfTrainerDeepSpeedConfig(A.resolve_deepspeed(name)), optim=optim,
                               learning_rate=1e-4, adam_beta1=0.9, adam_beta2=0.95, adam_epsilon=1e-8, weight_decay=0.1)

    try:
        assert offload_optimizer(targs("zero3_offload")) is None  # no GPU here: torch's AdamW on the CPU
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        cls, kwargs = offload_optimizer(targs("zero3_offload"))
        assert cls.__name__ == "DeepSpeedCPUAdam" and kwargs == {"lr": 1e-4, "betas": (0.9, 0.95), "eps": 1e-8,
                                                                 "weight_decay": 0.1, "adamw_mode": True}
        assert offload_optimizer(targs("zero3_offload", optim="adafactor")) is None
        assert offload_optimizer(targs("zero3")) is None and offload_optimizer(targs("zero2")) is None
    finally:
        unset_hf_deepspeed_config()
