"""Training through the real entry point (``collama_train.train.main``), one process on the CPU:
the run report, packed == padded (loss and gradients), LoRA then merge, and resume."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from train_fixtures import *  # noqa: F401,F403
from train_fixtures import base_argv, losses, run_report

torch = pytest.importorskip("torch")

from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback  # noqa: E402

from collama_train.cli import main as cli_main  # noqa: E402
from collama_train.train import main as train_main  # noqa: E402

PROBE = "def add(a, b):\n    return a + b\n"


def probe_ids(tokenizer) -> torch.Tensor:
    return torch.tensor([tokenizer(PROBE)["input_ids"]])


class Capture(TrainerCallback):
    """Gradients right before the first optimizer step, and the model at the end of training."""

    def __init__(self):
        self.grads: dict[str, torch.Tensor] = {}
        self.model = None

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
        if not self.grads:
            self.grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}

    def on_train_end(self, args, state, control, model=None, **kwargs):
        self.model = model


def _logits(model, tokenizer) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(probe_ids(tokenizer)).logits


def test_run_report_and_saved_model(tmp_path, tiny_model, mulco_sample, cache_dir):
    out = tmp_path / "run"
    cap = Capture()
    # 12 records, batch 4, 3 steps = exactly one epoch: every record seen once
    assert train_main(base_argv(tiny_model, mulco_sample, out, cache_dir, "--max_steps", "3"), callbacks=[cap]) == 0
    rep = run_report(out)
    data, res = rep["data_summary"], rep["results"]
    assert data["source"] == str(mulco_sample) and data["fingerprint"]
    import hashlib

    assert data["card_sha256"] == hashlib.sha256((mulco_sample / "README.md").read_bytes()).hexdigest()
    assert data["records"] == 12 == sum(data["records_per_config"].values())
    assert sum(data["tokens_per_config"].values()) == data["tokens"]
    assert data["cache_hit"] is False and data["dropped_prompt_too_long"] is not None
    assert data["padding_efficiency_batch8"] is not None
    # the real (non-pad) tokens counted by the trainer are exactly the tokenized records' tokens
    assert res["tokens"] == data["tokens"]
    assert res["steps"] == 3 and len(res["loss_history"]) == 3
    assert res["final_loss"] == res["loss_history"][-1]["loss"]
    assert all(h["tokens_per_s"] > 0 for h in res["loss_history"]) and res["tokens_per_s"] > 0
    assert res["wall_time_s"] > 0 and rep["training"]["world_size"] == 1
    # the saved model and tokenizer load on their own and are the trained model
    tok = AutoTokenizer.from_pretrained(out)
    saved = AutoModelForCausalLM.from_pretrained(out)
    assert saved.config.use_cache is True  # off while training (packing), back on for generation
    assert torch.allclose(_logits(saved, tok), _logits(cap.model, tok), atol=1e-6)
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert not torch.allclose(_logits(saved, tok), _logits(base, tok), atol=1e-4)


def test_packed_equals_padded_one_step(tmp_path, tiny_model, mulco_sample, cache_dir):
    """Same 12 records in one optimizer step, packed vs padded: same loss (1e-5), same
    gradients and the same updated weights. The whole set fits one batch either way."""
    common = ("--max_steps", "1", "--per_device_train_batch_size", "64", "--optim", "sgd", "--learning_rate", "0.5",
              "--max_grad_norm", "0", "--lr_scheduler_type", "constant")
    caps = {}
    for mode in ("padded", "packed"):
        caps[mode] = Capture()
        extra = ("--packing",) if mode == "packed" else ()
        assert train_main(base_argv(tiny_model, mulco_sample, tmp_path / mode, cache_dir, *common, *extra),
                          callbacks=[caps[mode]]) == 0
    rp, rk = run_report(tmp_path / "padded"), run_report(tmp_path / "packed")
    assert rk["data_summary"]["packed"] and rk["data"]["train"]["rows"] < rp["data"]["train"]["rows"] == 12
    assert rk["data_summary"]["records"] == rp["data_summary"]["records"] == 12
    # real tokens counted the same way in both modes: every token of the 12 records, no padding
    assert rk["results"]["tokens"] == rp["results"]["tokens"] == rp["data_summary"]["tokens"]
    assert abs(losses(tmp_path / "padded")[0] - losses(tmp_path / "packed")[0]) < 1e-5
    gp, gk = caps["padded"].grads, caps["packed"].grads
    assert gp.keys() == gk.keys() and len(gp) > 0
    for name in gp:
        assert torch.allclose(gp[name], gk[name], rtol=1e-4, atol=1e-7), name
    wp = AutoModelForCausalLM.from_pretrained(tmp_path / "padded").state_dict()
    wk = AutoModelForCausalLM.from_pretrained(tmp_path / "packed").state_dict()
    for name in wp:
        assert torch.allclose(wp[name], wk[name], atol=1e-6), name

    # The test has teeth: the same packed batch with a KV cache (records attend to each other) differs.
    from collama_train.data import Collator, DataArguments, prepare

    tok = AutoTokenizer.from_pretrained(tiny_model)
    prepared = prepare(DataArguments(data=str(mulco_sample), max_length=256, max_samples=12, packing=True,
                                     tokenized_cache_dir=str(cache_dir)), tok, seed=7)
    assert prepared.report["cache_hit"] is True
    # flattened into one row: every record shares the row, so a leak across records shows most
    batch = Collator(tok, packed=True, flatten=True)([prepared.train[i] for i in range(len(prepared.train))])
    batch.pop("use_cache", None)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    with torch.no_grad():
        exact = model(**batch, use_cache=False).loss.item()
        leaky = model(**batch, use_cache=True).loss.item()
    assert abs(exact - losses(tmp_path / "packed")[0]) < 1e-5
    assert abs(leaky - exact) > 1e-4


def test_lora_then_merge(tmp_path, tiny_model, mulco_sample, cache_dir, capsys):
    from peft import PeftModel

    run = tmp_path / "lora"
    assert train_main(base_argv(tiny_model, mulco_sample, run, cache_dir, "--lora", "--lora-r", "4",
                                "--lora_alpha", "8", "--lora-targets", "q_proj,v_proj", "--learning_rate", "1e-2",
                                "--max_steps", "3")) == 0
    adapter_cfg = json.loads((run / "adapter_config.json").read_text())
    assert adapter_cfg["r"] == 4 and set(adapter_cfg["target_modules"]) == {"q_proj", "v_proj"}
    assert adapter_cfg["base_model_name_or_path"] == str(Path(tiny_model).resolve())
    assert not (run / "model.safetensors").exists()  # only the adapter is saved
    assert run_report(run)["model"]["lora"] is True

    merged = tmp_path / "merged"
    capsys.readouterr()
    assert cli_main(["merge", str(run), "--out", str(merged)]) == 0
    said = capsys.readouterr().out
    assert f"wrote {merged}: base model {Path(tiny_model).resolve()} with the adapter {run} merged in (both left unchanged)" in said
    (merged / "model-00001-of-00002.safetensors").write_text("stale shard of an earlier merge")
    assert cli_main(["merge", str(run), "--out", str(merged)]) == 0  # its own earlier output: replaced, nothing stale
    assert not (merged / "model-00001-of-00002.safetensors").exists() and (merged / ".collama-merge").is_file()
    tok = AutoTokenizer.from_pretrained(merged)
    plain = AutoModelForCausalLM.from_pretrained(merged)
    with_adapter = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model), str(run))
    assert torch.allclose(_logits(plain, tok), _logits(with_adapter, tok), atol=1e-5)
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert not torch.allclose(_logits(plain, tok), _logits(base, tok), atol=1e-4)  # the adapter learned something

    capsys.readouterr()
    assert cli_main(["merge", str(tiny_model), "--out", str(tmp_path / "m2")]) == 2
    assert "no adapter_config.json" in capsys.readouterr().err


class StopAfter(TrainerCallback):
    """Simulates a killed job: training stops after ``k`` steps (the checkpoint at k is written first)."""

    def __init__(self, k: int):
        self.k = k

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.k:
            control.should_training_stop = True


def test_resume_same_loss_history(tmp_path, tiny_model, mulco_sample, cache_dir):
    """Stopped after 2 of 5 steps and resumed: the same 5 losses as a run never stopped (1e-6), and the
    resumed launch re-tokenizes nothing (the tokenized cache is hit)."""
    steps = ("--max_steps", "5", "--save_strategy", "steps", "--save_steps", "2", "--lr_scheduler_type", "cosine",
             "--warmup_steps", "1")
    full = tmp_path / "full"
    assert train_main(base_argv(tiny_model, mulco_sample, full, cache_dir, *steps)) == 0
    cut = tmp_path / "cut"
    assert train_main(base_argv(tiny_model, mulco_sample, cut, cache_dir, *steps), callbacks=[StopAfter(2)]) == 0
    assert (cut / "checkpoint-2").is_dir() and len(losses(cut)) == 2
    assert train_main(base_argv(tiny_model, mulco_sample, cut, cache_dir, *steps, "--resume")) == 0
    rep = run_report(cut)
    assert rep["training"]["resumed_from"].endswith("checkpoint-2")
    assert rep["data_summary"]["cache_hit"] is True
    a, b = losses(full), losses(cut)
    assert len(a) == len(b) == 5
    assert max(abs(x - y) for x, y in zip(a, b)) < 1e-6, (a, b)


def test_eval_configs_after_training(tmp_path, tiny_model, mulco_sample, cache_dir):
    """--eval-configs: the trained model, reloaded from what the run saved (here a LoRA adapter folder), is
    evaluated (collama_train.evaluate) on the test split and the results land in RUN/eval/ and in the run report."""
    pytest.importorskip("collama_train.evaluate.runner")
    out = tmp_path / "run"
    assert train_main(base_argv(tiny_model, mulco_sample, out, cache_dir, "--max_steps", "1", "--eval-configs",
                                "code_generation.en", "--eval-limit", "2", "--eval-max-new-tokens", "4", "--lora",
                                "--lora-r", "2")) == 0
    assert (out / "adapter_config.json").is_file() and not (out / "model.safetensors").exists()
    rows = [json.loads(x) for x in (out / "eval" / "generations.jsonl").read_text().splitlines()]
    assert rows and all(r["task"] == "code_generation" and r["lang"] == "en" for r in rows)
    ev = run_report(out)["eval"]
    assert ev["run"]["configs"] == "code_generation.en" and ev["cells"]
    assert json.loads((out / "eval" / "results.json").read_text())["cells"] == ev["cells"]


def test_seed_command_line_without_a_length_fits_the_model(tmp_path, tiny_model, capsys):
    """The seed's flags with no length flag train a model with fewer positions than the 2048 default:
    the run uses min(2048, max_position_embeddings) and says so; a length the user gives is still checked."""
    from transformers import AutoConfig

    positions = AutoConfig.from_pretrained(tiny_model).max_position_embeddings
    assert positions < 2048
    records = [{"instruction": f"Return {i} plus one.", "input": "", "output": f"def f():\n    return {i} + 1\n"}
               for i in range(4)]
    data = tmp_path / "alpaca_data.json"
    data.write_text(json.dumps(records))
    out = tmp_path / "seed"
    argv = ["--model_name_or_path", str(tiny_model), "--data_path", str(data), "--output_dir", str(out),
            "--max_steps", "1", "--per_device_train_batch_size", "4", "--save_strategy", "no", "--disable_tqdm", "true",
            "--tokenized_cache_dir", str(tmp_path / "cache")]
    capsys.readouterr()
    assert train_main(argv) == 0
    assert run_report(out)["data_args"]["max_length"] == positions
    err = capsys.readouterr().err
    assert f"max length {positions} tokens (--max-length not given" in err
    assert train_main([*argv, "--output_dir", str(tmp_path / "long"), "--model_max_length", "2048"]) == 2
    assert "--max-length 2048 is longer than the model's max_position_embeddings" in capsys.readouterr().err


def test_oversampling_warns_in_one_line_and_the_report_has_each_factor(tmp_path, tiny_model, mulco_sample, cache_dir,
                                                                       capsys):
    out = tmp_path / "mix"
    capsys.readouterr()
    assert train_main(base_argv(tiny_model, mulco_sample, out, cache_dir, "--configs", "code_generation.en:0.9,code_search.en",
                                "--max-samples", "100000", "--max_steps", "1")) == 0
    err = [ln for ln in capsys.readouterr().err.splitlines() if "oversampled" in ln]
    rep = run_report(out)
    configs = rep["data"]["train"]["configs"]
    factors = rep["data_summary"]["sampling_factor_per_config"]
    assert set(factors) == set(configs) == {"code_generation.en", "code_search.en"}
    for name, c in configs.items():
        assert factors[name] == round(c["records_after"] / c["records_before"], 3)
    assert factors["code_search.en"] == 1.0 and factors["code_generation.en"] > 10
    assert len(err) == 1 and "code_generation.en x" in err[0] and "code_search.en" not in err[0], err


def test_summary_of_a_json_source_names_no_missing_card():
    """A --data_path JSON has no dataset card: the summary says so instead of 'card sha256 None'."""
    from collama_train.report import summary

    text = summary({"data": {"source": "alpaca.json", "fingerprint": "abc123", "train": {}}, "results": {}})
    assert "None" not in text and "local (no dataset card; fingerprint abc123)" in text


def test_preview_uses_the_same_default_length(tiny_model, mulco_sample, cache_dir, capsys):
    from transformers import AutoConfig

    positions = AutoConfig.from_pretrained(tiny_model).max_position_embeddings
    assert cli_main(["preview", "--model", str(tiny_model), "--data", str(mulco_sample), "--configs", "code_search.en",
                     "--examples", "0", "--tokenized_cache_dir", str(cache_dir)]) == 0
    assert f"max length: {positions} " in capsys.readouterr().out
