"""Issue 17.6: ``--packing`` is refused, in one line before training, for model families whose
attention ignores restarting position ids (OPT, Bloom, MPT leak records into each other); exact
families (Llama, GPT-2, ...) pass. Tiny random configs of a good and a bad family; the start-up
probe that judges families on neither list is checked on both."""
from __future__ import annotations

import shutil

import pytest
from train_fixtures import *  # noqa: F401,F403
from train_fixtures import base_argv

from collama_train.data import DataError, check_packing, packing_leak
from collama_train.data import guard


def _configs():
    from transformers import GPT2Config, LlamaConfig, OPTConfig

    good = LlamaConfig(vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2)
    gpt2 = GPT2Config(vocab_size=128, n_embd=32, n_layer=2, n_head=4)
    bad = OPTConfig(vocab_size=128, hidden_size=32, ffn_dim=64, num_hidden_layers=2, num_attention_heads=4,
                    word_embed_proj_dim=32)
    return good, gpt2, bad


def test_the_probe_tells_an_exact_family_from_a_leaking_one(monkeypatch):
    good, gpt2, bad = _configs()
    for attn in ("sdpa", "eager"):
        assert packing_leak(good, attn) <= guard.TOLERANCE
        assert packing_leak(gpt2, attn) <= guard.TOLERANCE
        assert packing_leak(bad, attn) > 1e-2  # OPT: the second record sees the first
    # the lists: Llama allowed, OPT refused with one line naming the family and what to do
    assert check_packing(good) == "allow-list"
    with pytest.raises(DataError) as e:
        check_packing(bad)
    msg = str(e.value)
    assert "\n" not in msg and "OPT" in msg and "without --packing" in msg
    # a family on neither list is measured at start-up by the same probe
    monkeypatch.setattr(guard, "PACKING_EXACT", frozenset())
    monkeypatch.setattr(guard, "PACKING_LEAKS", {})
    assert check_packing(good).startswith("measured")
    assert check_packing(gpt2).startswith("measured")
    with pytest.raises(DataError, match="'opt'"):
        check_packing(bad)


def test_collama_train_refuses_packing_for_opt_before_training(tiny_model, mulco_sample, tmp_path, capsys):
    """The check runs in train.check(), before any tokenizing or weights: an OPT folder with only a
    config and a tokenizer is enough to be refused; the same flags without --packing pass the checks."""
    from collama_train import train

    from transformers import AutoTokenizer

    _, _, bad = _configs()
    bad.vocab_size = len(AutoTokenizer.from_pretrained(tiny_model))  # the embedding holds every token, as a real model's
    opt = tmp_path / "opt"
    opt.mkdir()
    bad.save_pretrained(opt)
    for f in tiny_model.iterdir():
        if f.name.startswith(("tokenizer", "special_tokens")):
            shutil.copy(f, opt / f.name)
    argv = base_argv(opt, mulco_sample, tmp_path / "run", tmp_path / "cache", "--packing")
    assert train.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("collama-train: error: --packing: OPT models"), err
    assert not (tmp_path / "run").exists() and not (tmp_path / "cache").exists()
    plan = train.check(train.parse(argv[:-1]))  # without --packing: accepted
    assert plan.model_config.model_type == "opt"
