"""DeepSpeed on the CPU (gloo): ZeRO-2 and ZeRO-3 with 1 and 2 processes through the real entry points
(``python -m collama_train`` and ``torchrun --nproc_per_node 2 -m collama_train``), ZeRO-3's gathered
weights reloaded in a fresh process, and the seed's own command line."""
from __future__ import annotations

import json

import pytest

from train_fixtures import *  # noqa: F401,F403
from train_fixtures import REPO, base_argv, losses, run_cli, run_report

torch = pytest.importorskip("torch")
pytest.importorskip("deepspeed")

pytestmark = pytest.mark.slow
PROBE_SCRIPT = str(REPO / "tests" / "train_probe.py")


def _ds_argv(model, data, out, cache, stage, nproc, *extra):
    # the same global batch (4) whatever the number of processes, so the losses must agree
    return base_argv(model, data, out, cache, "--deepspeed", stage, "--max_steps", "3",
                     "--per_device_train_batch_size", str(4 // nproc), *extra)


def test_zero2_one_and_two_processes(tmp_path, tiny_model, mulco_sample, cache_dir):
    runs = {}
    for nproc in (1, 2):
        out = tmp_path / f"z2_{nproc}"
        run_cli(_ds_argv(tiny_model, mulco_sample, out, cache_dir, "zero2", nproc), nproc=nproc)
        runs[nproc] = out
        rep = run_report(out)
        assert rep["training"]["world_size"] == nproc and rep["training"]["deepspeed"].endswith("zero2.json")
    # the 2-process run read the tokenized cache the first one wrote, and agrees with it step by step
    assert run_report(runs[2])["data_summary"]["cache_hit"] is True
    a, b = losses(runs[1]), losses(runs[2])
    assert len(a) == len(b) == 3 and max(abs(x - y) for x, y in zip(a, b)) < 1e-4, (a, b)


@pytest.mark.parametrize("nproc", [1, 2])
def test_zero3_saves_full_weights_reloaded_in_a_fresh_process(nproc, tmp_path, tiny_model, mulco_sample, cache_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out, probe = tmp_path / "z3", tmp_path / "logits.pt"
    run_cli([str(probe), *_ds_argv(tiny_model, mulco_sample, out, cache_dir, "zero3", nproc)], nproc=nproc,
            script=PROBE_SCRIPT)
    assert run_report(out)["training"]["world_size"] == nproc
    # this pytest process never started DeepSpeed: a fresh load of what the run saved
    saved = AutoModelForCausalLM.from_pretrained(out)
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    sd, bd = saved.state_dict(), base.state_dict()
    assert sd.keys() == bd.keys()
    for name, t in sd.items():  # full tensors, not empty ZeRO-3 shards
        assert t.shape == bd[name].shape and t.numel() > 0, name
    assert any(not torch.equal(sd[n], bd[n]) for n in sd)  # and trained
    import sys
    sys.path.insert(0, str(REPO / "tests"))
    from train_probe import PROBE

    tok = AutoTokenizer.from_pretrained(out)
    with torch.no_grad():
        logits = saved.eval()(torch.tensor([tok(PROBE)["input_ids"]])).logits
    assert torch.allclose(logits, torch.load(probe), atol=1e-5)


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
