"""Several processes and DeepSpeed through the real entry points, each run kept tiny (one step, a
12-record sample, one evaluated record per leaf, four tokens each):

- ``--eval-configs`` after ZeRO-3 (1 and 2 processes) and ZeRO-2 (2 processes, evaluation slower
  than the shortened collective timeout) ends with rc 0, the run report and ``eval/results.json``;
- one AdamW step with weight decay gives the same weights with and without DeepSpeed, with 1 and 2
  processes (Trainer builds the optimizer and its parameter groups: no decay on norm weights);
- ZeRO-3 saves full weights: reloaded in this process (which never started DeepSpeed) they give the
  trained model's logits (1e-5); the 2-process runs read the tokenized cache the first run wrote;
- ``torchrun`` on a CPU without DeepSpeed is real data parallelism (DDP)."""
from __future__ import annotations

import json

import pytest

from train_fixtures import *  # noqa: F401,F403
from train_fixtures import REPO, base_argv, bos_eos_tokenizer, losses, run_cli, run_report

torch = pytest.importorskip("torch")
pytest.importorskip("deepspeed")
pytest.importorskip("collama_train.evaluate.runner")

pytestmark = pytest.mark.slow
SLOW_EVAL = str(REPO / "tests" / "train_slow_eval.py")
#: One AdamW step that shows weight decay: lr 0.1, decay 0.5, no clipping, no schedule. Adam's eps 1e-2:
#: an element moves by lr * g / (|g| + eps), whose slope lr / eps turns the last-bit differences of
#: DeepSpeed's gradient reduction into weight (eps 1e-8: 6e-6 on embedding rows; 1e-4: 1e-6 on v_proj);
#: decay on the wrong parameters still differs by lr * decay * w (5e-2 on a norm weight).
ADAMW_STEP = ("--max_steps", "1", "--optim", "adamw_torch", "--learning_rate", "0.1", "--weight_decay", "0.5",
              "--adam_epsilon", "1e-2", "--lr_scheduler_type", "constant", "--max_grad_norm", "0")
EVAL = ("--eval-configs", "code_generation.en", "--eval-limit", "1", "--eval-max-new-tokens", "4")


def _weights(folder):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(folder).state_dict()


def _check_eval_and_report(out, nproc: int) -> None:
    rep = run_report(out)
    assert rep["training"]["world_size"] == nproc
    results = json.loads((out / "eval" / "results.json").read_text())
    assert rep["eval"]["cells"] == results["cells"] and results["cells"]
    rows = [json.loads(x) for x in (out / "eval" / "generations.jsonl").read_text().splitlines()]
    assert rows and all(r["task"] == "code_generation" and r["lang"] == "en" for r in rows)


def _check_full_weights(out, base_folder, logits_file) -> None:
    """ZeRO-3 saved full tensors (not empty shards), trained, that give the logits the run saw."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from train_probe import PROBE

    saved = AutoModelForCausalLM.from_pretrained(out)
    sd, bd = saved.state_dict(), AutoModelForCausalLM.from_pretrained(base_folder).state_dict()
    assert sd.keys() == bd.keys()
    for name, t in sd.items():
        assert t.shape == bd[name].shape and t.numel() > 0, name
    assert any(not torch.equal(sd[n], bd[n]) for n in sd)
    tok = AutoTokenizer.from_pretrained(out)
    with torch.no_grad():
        logits = saved.eval()(torch.tensor([tok(PROBE)["input_ids"]])).logits
    assert torch.allclose(logits, torch.load(logits_file), atol=1e-5)


def test_deepspeed_runs_evaluate_after_training_and_match_plain_adamw(tmp_path, tiny_model, mulco_sample, cache_dir):
    from collama_train.train import main as train_main

    plain = tmp_path / "plain"
    assert train_main(base_argv(tiny_model, mulco_sample, plain, cache_dir, *ADAMW_STEP)) == 0  # warms the cache
    runs = {  # name: (stage, processes, evaluation's extra sleep, extra flags)
        "z3_1": ("zero3", 1, 0, ()),
        "z3_2": ("zero3", 2, 0, ()),
        "z2_2": ("zero2", 2, 17, ("--ddp_timeout", "15")),
    }
    for name, (stage, nproc, sleep, extra) in runs.items():
        out = tmp_path / name
        argv = base_argv(tiny_model, mulco_sample, out, cache_dir, "--deepspeed", stage, *ADAMW_STEP, *EVAL,
                         "--per_device_train_batch_size", str(4 // nproc), *extra)
        probe = str(tmp_path / f"{name}.logits.pt") if stage == "zero3" else "-"
        run_cli([str(sleep), probe, *argv], nproc=nproc, script=SLOW_EVAL)
        _check_eval_and_report(out, nproc)
        rep = run_report(out)
        assert rep["training"]["deepspeed"].endswith(f"{stage}.json") and rep["data_summary"]["cache_hit"] is True
        if stage == "zero3":
            _check_full_weights(out, tiny_model, tmp_path / f"{name}.logits.pt")

    # Trainer's optimizer and parameter groups with and without DeepSpeed: the same weights after one
    # AdamW step (with the shipped configs' old optimizer block, DeepSpeed decayed the norm weights too).
    want = _weights(plain)
    assert (want["model.norm.weight"] - 1).abs().max() <= 0.1 + 1e-6  # Trainer decays no norm weight
    for name in runs:
        got = _weights(tmp_path / name)
        for key in want:
            assert torch.allclose(got[key], want[key], atol=1e-6), (name, key, (got[key] - want[key]).abs().max())


def test_torchrun_on_cpu_without_deepspeed_is_data_parallel(tmp_path, tiny_model, mulco_sample, cache_dir):
    """2 processes of batch 2 log the losses of 1 process of batch 4 and save the same weights (DDP
    averages the gradients; unsynchronised copies logged about twice the loss and drifted apart)."""
    from collama_train.train import main as train_main

    steps = ("--max_steps", "2", "--optim", "sgd", "--learning_rate", "0.5", "--lr_scheduler_type", "constant")
    one, two = tmp_path / "one", tmp_path / "two"
    assert train_main(base_argv(tiny_model, mulco_sample, one, cache_dir, *steps)) == 0
    run_cli(base_argv(tiny_model, mulco_sample, two, cache_dir, *steps, "--per_device_train_batch_size", "2"), nproc=2)
    assert run_report(two)["training"]["world_size"] == 2
    a, b = losses(one), losses(two)
    assert len(a) == len(b) == 2 and max(abs(x - y) for x, y in zip(a, b)) < 1e-4, (a, b)
    wa, wb = _weights(one), _weights(two)
    for name in wa:
        assert torch.allclose(wa[name], wb[name], atol=1e-5), name


def _starcoder2_without_pad(folder, texts) -> None:
    """A tiny random Starcoder2 (another family than the suite's Llama) whose tokenizer is shaped like
    Llama-3's or Mistral's: no pad token, BOS added and EOS appended by a ``<s> $A </s>`` post-processor,
    and a chat template."""
    from transformers import Starcoder2Config, Starcoder2ForCausalLM

    tok = bos_eos_tokenizer(texts, 600)
    config = Starcoder2Config(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                              bos_token_id=0, eos_token_id=1, tie_word_embeddings=False)
    torch.manual_seed(0)
    Starcoder2ForCausalLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)


def test_two_processes_zero3_packing_chat_on_another_family_without_a_pad_token(tmp_path, mulco_sample, cache_dir):
    """The shapes users bring, together: torchrun x2, ZeRO-3, --packing, the chat template, a Starcoder2
    whose tokenizer has no pad token and adds BOS/EOS itself, and --eval-configs afterwards."""
    from transformers import AutoTokenizer

    from collama_train.cli import folder_texts, template_texts

    model = tmp_path / "starcoder2"
    _starcoder2_without_pad(model, [*folder_texts(mulco_sample), *template_texts()])
    tok = AutoTokenizer.from_pretrained(model)
    assert tok.pad_token_id is None and tok("a")["input_ids"][0] == tok.bos_token_id
    assert tok("a")["input_ids"][-1] == tok.eos_token_id
    out = tmp_path / "run"
    argv = base_argv(model, mulco_sample, out, cache_dir, "--deepspeed", "zero3", "--packing", "--template", "chat",
                     "--max_steps", "2", "--per_device_train_batch_size", "2", *EVAL)
    run_cli(["0", "-", *argv], nproc=2, script=SLOW_EVAL)
    _check_eval_and_report(out, 2)
    rep = run_report(out)
    assert rep["data_args"]["packing"] is True and rep["data_args"]["template"] == "chat"
    assert len(losses(out)) == 2 and all(0 < x < 10 for x in losses(out))
