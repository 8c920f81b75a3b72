"""DeepSpeed on the CPU (gloo): the seed's own command line (ZeRO-3, its own ds_config.json). ZeRO-2
and ZeRO-3 with 1 and 2 processes, their weights against a plain run's and ZeRO-3's gathered weights
reloaded in a fresh process are in test_train_dist.py (one set of runs checks all of it)."""
from __future__ import annotations

import json

import pytest

from train_fixtures import *  # noqa: F401,F403
from train_fixtures import run_cli, run_report

torch = pytest.importorskip("torch")
pytest.importorskip("deepspeed")

pytestmark = pytest.mark.slow


def test_seed_command_line(tmp_path, tiny_model, mulco_sample):
    """The seed's flags unchanged: --model_name_or_path, --data_path (an Alpaca JSON list), --fp16 on a
    machine without a GPU (one warning, fp32), its own ds_config.json, --evaluation_strategy,
    --model_max_length."""
    records = [{"instruction": f"Write a function that returns {i} plus one.", "input": "" if i % 2 else f"x = {i}",
                "output": f"def f():\n    return {i} + 1\n"} for i in range(8)]
    data = tmp_path / "alpaca_data.json"
    data.write_text(json.dumps(records))
    ds = tmp_path / "ds_config.json"
    ds.write_text(json.dumps({
        "zero_optimization": {"stage": 3, "stage3_gather_16bit_weights_on_model_save": True},
        "fp16": {"enabled": "auto"}, "bf16": {"enabled": "auto"},
        "optimizer": {"type": "AdamW", "params": {"lr": "auto", "betas": "auto", "eps": "auto",
                                                   "weight_decay": "auto", "torch_adam": True}},
        "train_batch_size": "auto", "train_micro_batch_size_per_gpu": "auto",
        "gradient_accumulation_steps": "auto", "gradient_clipping": "auto"}))
    out = tmp_path / "seed_run"
    proc = run_cli(["--model_name_or_path", str(tiny_model), "--data_path", str(data), "--fp16", "--tf32", "True", "--deepspeed", str(ds),
                    "--evaluation_strategy", "no", "--output_dir", str(out), "--num_train_epochs", "1",
                    "--per_device_train_batch_size", "4", "--gradient_accumulation_steps", "1",
                    "--learning_rate", "2e-5", "--weight_decay", "0.", "--warmup_ratio", "0.03",
                    "--lr_scheduler_type", "cosine", "--logging_steps", "1", "--save_strategy", "no",
                    "--model_max_length", "256", "--tokenized_cache_dir", str(tmp_path / "cache")])
    if not torch.cuda.is_available():
        warnings = [ln for ln in proc.stderr.splitlines() if "ignored: no CUDA GPU" in ln]
        assert len(warnings) == 1, proc.stderr[-3000:]
    rep = run_report(out)
    assert rep["data_summary"]["source"] == str(data.resolve()) and rep["data_summary"]["records"] == 8 and rep["results"]["steps"] == 2
    assert rep["data_args"]["max_length"] == 256 and rep["training"]["fp16"] is (torch.cuda.is_available())
    from transformers import AutoModelForCausalLM

    assert AutoModelForCausalLM.from_pretrained(out).num_parameters() > 0
