"""collama_train.data: selection and mixture, masking, cached batched tokenization, exact packing,
the preview, and one-line errors for bad data input. Tiny tokenizers trained here, a tiny Llama."""
from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

import mulco
from collama_train import tiny
from collama_train.data import (IGNORE_INDEX, Collator, DataArguments, DataError, build_example, check_tokenizer,
                                mixture_counts, pack_bfd, packing_efficiency, padding_efficiency, parse_mixture,
                                prepare, sample_indices, validate_data_args)

ALPACA_NO_INPUT = ("Below is an instruction that describes a task. Write a response that appropriately completes "
                   "the request.\n\n### Instruction:\n{instruction}\n\n### Response:")


@pytest.fixture(scope="module")
def sample(built_sample) -> Path:
    """The bundled sample, built once per run (conftest; read-only)."""
    return built_sample


@pytest.fixture(scope="module")
def tok(sample):
    """A byte-level BPE trained on the sample's texts plus runs of colons (so ':::' is one token
    and the Alpaca prompt's final ':' merges with a response that starts with '::')."""
    texts = list(tiny.record_texts(mulco.read_table(mulco.resolve("all", sample)).to_pylist()))
    texts += ["a ::: b ::: c :::"] * 50
    return tiny.train_tokenizer(texts, vocab_size=700)


@pytest.fixture
def cache(tmp_path) -> str:
    return str(tmp_path / "tok_cache")


def _args(sample, cache, **kw) -> DataArguments:
    return DataArguments(data=str(sample), tokenized_cache_dir=cache, **kw)


def _trained(labels) -> list[int]:
    return [x for x in labels if x != IGNORE_INDEX]


# ------------------------------------------------------------------ mixture


def test_parse_mixture_and_bad_weights():
    assert parse_mixture("code_search.en, code_generation.zh:0.3") == [("code_search.en", None), ("code_generation.zh", 0.3)]
    assert parse_mixture("all:2") == [("all", 2.0)]
    for bad, word in [("a:0", "positive"), ("a:-1", "positive"), ("a:x", "not a number"), ("a:nan", "positive"),
                      ("a:inf", "positive"), ("a,,b", "empty"), ("a,a", "twice"), (":0.3", "no config name"), ("", "empty")]:
        with pytest.raises(ValueError) as e:
            parse_mixture(bad)
        assert word in str(e.value) and "\n" not in str(e.value), bad


def test_mixture_counts_are_shares_of_the_final_mixture():
    nat = {"a": 100, "b": 300}
    assert mixture_counts(nat, {"a": None, "b": None}) == nat                       # natural sizes
    assert mixture_counts(nat, {"a": 1, "b": 1}) == {"a": 200, "b": 200}             # normalised: 50/50 of 400
    assert mixture_counts(nat, {"a": 3, "b": 1}) == {"a": 300, "b": 100}
    got = mixture_counts(nat, {"a": 0.5, "b": None})                                  # b natural, a = half the total
    assert got == {"a": 300, "b": 300}
    got = mixture_counts(nat, {"a": 0.2, "b": None}, max_samples=100)                 # scaled, shares kept
    assert sum(got.values()) == 100 and got["a"] == round(100 * 0.2)
    odd = mixture_counts({"a": 7, "b": 7, "c": 7}, {"a": 1, "b": 1, "c": 1})
    assert sum(odd.values()) == 21
    with pytest.raises(DataError, match="sum below 1"):
        mixture_counts(nat, {"a": 1.0, "b": None})


def test_sample_indices_over_and_under_sampling():
    import numpy as np

    rng = np.random.default_rng(0)
    over = sample_indices(3, 8, rng)
    assert len(over) == 8 and all(over.count(i) >= 2 for i in range(3))
    under = sample_indices(10, 4, rng)
    assert len(under) == len(set(under)) == 4
    assert sample_indices(5, 5, rng) == list(range(5))


def test_weights_sample_with_the_seed_and_are_reported(sample, tok, cache):
    a = _args(sample, cache, configs="code_search.en:0.25,code_generation.zh:0.75", max_length=512)
    r1 = prepare(a, tok, seed=1).report
    r2 = prepare(a, tok, seed=1).report
    r3 = prepare(a, tok, seed=2)
    cfg = r1["train"]["configs"]
    total = cfg["code_search.en"]["records_before"] + cfg["code_generation.zh"]["records_before"]
    assert cfg["code_generation.zh"]["records_after"] + cfg["code_search.en"]["records_after"] == total
    assert abs(cfg["code_generation.zh"]["records_after"] - 0.75 * total) <= 1
    assert cfg["code_generation.zh"]["sampling"].startswith("over") and cfg["code_search.en"]["sampling"].startswith("under")
    assert r2["cache_hit"] and r2["train"] == r1["train"]
    assert not r3.report["cache_hit"]
    assert len(r3.train) == r1["train"]["records"] == sum(c["records_trained"] for c in cfg.values())
    json.dumps(r1)  # JSON-serialisable


def test_records_in_two_selected_configs_are_used_once(sample, tok, cache):
    wide = prepare(_args(sample, cache, configs="code_search", max_length=512), tok).report["train"]
    both = prepare(_args(sample, cache, configs="code_search,code_search.en", max_length=512), tok).report["train"]
    assert both["records"] == wide["records"]
    assert sum(c["records_before"] for c in both["configs"].values()) == wide["configs"]["code_search"]["records_before"]


def test_max_samples_caps_the_mixture(sample, tok, cache):
    p = prepare(_args(sample, cache, configs="all", max_samples=10, max_length=512), tok)
    assert len(p.train) == 10 and p.report["train"]["configs"]["all"]["records_after"] == 10


def test_licence_filter_and_its_errors(sample, tok, cache):
    present = mulco.count_licenses(mulco.resolve("all", sample))
    lic = sorted(present)[0]
    p = prepare(_args(sample, cache, configs="all", licenses=lic.lower(), max_length=512), tok)
    assert p.report["train"]["configs"]["all"]["records_before"] == present[lic]
    with pytest.raises(DataError) as e:
        prepare(_args(sample, cache, configs="all", licenses="wtfpl"), tok)
    assert "wtfpl" in str(e.value) and all(x in str(e.value) for x in present)
    # a licence present in the selection but none of one config's records: named at once
    zh = mulco.count_licenses(mulco.resolve("code_generation.zh", sample))
    other = next(x for x in present if x not in zh)
    with pytest.raises(DataError) as e:
        prepare(_args(sample, cache, configs="code_generation.zh,all", licenses=other), tok)
    assert "code_generation.zh" in str(e.value) and all(x in str(e.value) for x in zh)
    with pytest.raises(DataError, match="not in the selected records"):
        prepare(_args(sample, cache, configs="code_generation.zh", licenses=other), tok)


# ------------------------------------------------------------------ masking


def test_boundary_merge_cannot_hide_the_response(tok):
    prompt = ALPACA_NO_INPUT.format(instruction="Print colons.")
    output = ":: done"
    p_ids = tok(prompt)["input_ids"]
    joint = tok(prompt + output)["input_ids"]
    assert joint[:len(p_ids)] != p_ids  # joint tokenization merges ':' + '::' across the boundary
    c_ids = tok(output, add_special_tokens=False)["input_ids"]
    ids, labels, status = build_example(p_ids, c_ids, tok.eos_token_id, 512)
    assert status == "ok" and ids[:len(p_ids)] == p_ids
    assert _trained(labels) == c_ids + [tok.eos_token_id]
    assert tok.decode(_trained(labels)) == output + tok.eos_token


def test_alpaca_prompt_is_the_seeds_and_one_eos_ends_every_example(sample, tok, cache, tmp_path):
    recs = [{"instruction": "Print colons.", "input": "", "output": ":: done"},
            {"instruction": "Add.", "input": "1 2", "output": "3" + tok.eos_token},
            {"instruction": "写一个函数。", "input": "", "output": "def f():\n    return '你好'"}]
    path = tmp_path / "alpaca.json"
    path.write_text(json.dumps(recs, ensure_ascii=False), encoding="utf-8")
    p = prepare(DataArguments(data_path=str(path), tokenized_cache_dir=cache), tok)
    assert p.report["train"]["configs"]["data_path"]["records_before"] == 3
    rows = sorted(p.train, key=lambda r: len(r["input_ids"]))
    for row in rows:
        ids, labels = row["input_ids"], row["labels"]
        assert ids[-1] == tok.eos_token_id and ids[-2] != tok.eos_token_id and labels[-1] == tok.eos_token_id
        n_mask = labels.index(next(x for x in labels if x != IGNORE_INDEX))
        assert all(x == IGNORE_INDEX for x in labels[:n_mask])
        prompt = tok.decode(ids[:n_mask])
        rec = next(r for r in recs if prompt.endswith("### Response:") and r["instruction"] in prompt)
        if not rec["input"]:
            assert prompt == ALPACA_NO_INPUT.format(instruction=rec["instruction"])
        else:
            assert "### Input:\n1 2\n\n### Response:" in prompt
        # the literal text "</s>" inside a record is text, not the EOS token
        assert tok.decode(_trained(labels)) == rec["output"] + tok.eos_token
    assert any("你好" in tok.decode(r["input_ids"]) for r in rows)


def test_chat_template_exactly_one_eos_and_pad_inside_response(tok, tmp_path, cache):
    recs = [{"instruction": "Say pad.", "input": "", "output": "a <pad> b"},
            {"instruction": "用中文回答。", "input": "x", "output": "好的"}]
    path = tmp_path / "chat.json"
    path.write_text(json.dumps(recs, ensure_ascii=False), encoding="utf-8")
    p = prepare(DataArguments(data_path=str(path), template="chat", tokenized_cache_dir=cache), tok)
    for row in p.train:
        ids, labels = row["input_ids"], row["labels"]
        assert ids[-1] == tok.eos_token_id and ids[-2] != tok.eos_token_id   # the template's </s> is the one EOS
        assert labels[-1] == tok.eos_token_id
    # a literal "<pad>" in a record's answer is text, not the pad token (issue 17.3), and all of it is trained on
    assert all(tok.pad_token_id not in r["input_ids"] for r in p.train)
    assert any(tok.decode(_trained(r["labels"])).startswith("a <pad> b") for r in p.train)
    batch = Collator(tok)(list(p.train))
    for i, row in enumerate(p.train):
        assert batch["labels"][i].tolist()[:len(row["labels"])] == row["labels"]
        assert all(x == IGNORE_INDEX for x in batch["labels"][i].tolist()[len(row["labels"]):])


def test_tokenizer_that_adds_bos_and_eos_gets_one_bos_and_one_eos(sample, tok, cache):
    from tokenizers.processors import TemplateProcessing

    tok2 = copy.deepcopy(tok)
    bos, eos = tok2.bos_token_id, tok2.eos_token_id
    tok2.backend_tokenizer.post_processor = TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", bos), ("</s>", eos)])
    assert tok2("x")["input_ids"][0] == bos and tok2("x")["input_ids"][-1] == eos
    p = prepare(_args(sample, cache, configs="code_generation.zh", max_length=1024), tok2)
    for row in p.train:
        ids = row["input_ids"]
        assert ids[0] == bos and ids.count(bos) == 1 and ids.count(eos) == 1 and ids[-1] == eos


def test_pad_equal_to_eos_keeps_the_final_eos_trained(sample, tok, cache):
    tok2 = copy.deepcopy(tok)
    tok2.pad_token = tok2.eos_token
    assert tok2.pad_token_id == tok2.eos_token_id
    p = prepare(_args(sample, cache, configs="code_generation", max_length=512), tok2)
    rows = [p.train[i] for i in range(6)]
    batch = Collator(tok2)(rows)
    for i, row in enumerate(rows):
        n = len(row["input_ids"])
        assert batch["labels"][i, n - 1].item() == tok2.eos_token_id
        assert batch["attention_mask"][i].sum().item() == n
        assert (batch["labels"][i] != IGNORE_INDEX).sum().item() == len(_trained(row["labels"]))


def test_long_prompt_dropped_long_response_truncated_never_fully_masked(sample, tok, cache):
    """Issue 17.5: a response cut to fit has no EOS (the model must not learn to stop mid-answer);
    a record left with fewer than MIN_RESPONSE_TOKENS response tokens is dropped and counted."""
    from collama_train.data import MIN_RESPONSE_TOKENS

    full = prepare(_args(sample, cache, configs="all", max_length=4096), tok)
    lengths = sorted(full.train["length"])
    cut = lengths[len(lengths) // 2]
    p = prepare(_args(sample, cache, configs="all", max_length=cut), tok)
    tr = p.report["train"]
    assert tr["dropped_prompt_too_long"] > 0 and tr["truncated"] > 0
    assert tr["records"] + tr["dropped_prompt_too_long"] == full.report["train"]["records"]
    eos = tok.eos_token_id
    by_prompt = {}  # the full-length example of each record, by its prompt ids
    for row in full.train:
        n = row["labels"].count(IGNORE_INDEX)
        by_prompt[tuple(row["input_ids"][:n])] = row
    cut_rows = 0
    for row in p.train:
        ids, trained = row["input_ids"], _trained(row["labels"])
        assert len(ids) <= cut and len(trained) >= 1
        whole = by_prompt[tuple(ids[:len(ids) - len(trained)])]
        if ids[-1] == eos:                       # the whole response fits: it is the full example
            assert ids == whole["input_ids"] and ids.count(eos) == 1
        else:                                    # cut: exactly max_length long, a prefix, no EOS, enough of it
            cut_rows += 1
            assert len(ids) == cut and whole["input_ids"][:cut] == ids and eos not in trained
            assert len(trained) >= MIN_RESPONSE_TOKENS
    assert cut_rows == tr["truncated"]
    # the rule on fixtures, prompt of 6 tokens, max_length 10
    assert build_example([1] * 10, [5, 6], eos, 10) == (None, None, "dropped")       # no room at all
    assert build_example([1] * 9, [5, 6], eos, 10) == (None, None, "dropped")        # would train an EOS only
    assert build_example([1] * 7, [5, 6, 7, 8], eos, 10) == (None, None, "dropped")  # 3 < 4 response tokens left
    ids, labels, status = build_example([1] * 6, [5, 6, 7, 8, 9], eos, 10)           # cut to 4, EOS cut with the tail
    assert status == "truncated" and ids == [1] * 6 + [5, 6, 7, 8] and _trained(labels) == [5, 6, 7, 8]
    ids, labels, status = build_example([1] * 6, [5, 6, 7], eos, 10)                 # fits with its EOS
    assert status == "ok" and ids == [1] * 6 + [5, 6, 7, eos] and _trained(labels) == [5, 6, 7, eos]
    ids, labels, status = build_example([1] * 8, [5, eos, eos], eos, 10)            # a short answer that fits is kept
    assert status == "ok" and _trained(labels) == [5, eos]
    ids, labels, status = build_example([1] * 9, [], eos, 10)
    assert status == "ok" and _trained(labels) == [eos]


def test_build_examples_in_arrays_equals_build_example_record_by_record():
    """Issue 17.10: prepare() builds, selects, shuffles and packs examples as flat arrays; the ids,
    labels and drops are exactly build_example's, record by record (edge cases included)."""
    import random

    from collama_train.data import build_examples, pack_examples

    rnd = random.Random(0)
    eos = 2
    p_ids = [[rnd.randrange(3, 50) for _ in range(rnd.randrange(0, 14))] for _ in range(400)]
    c_ids = [[rnd.randrange(3, 50) for _ in range(rnd.randrange(0, 12))] + [eos] * rnd.choice([0, 0, 1, 2])
             for _ in range(400)]
    for max_length in (2, 5, 10, 30):
        examples, index, counts = build_examples(p_ids, c_ids, eos, max_length)
        want = [build_example(p, c, eos, max_length) for p, c in zip(p_ids, c_ids)]
        assert counts == {"dropped_prompt_too_long": sum(w[2] == "dropped" for w in want),
                          "truncated": sum(w[2] == "truncated" for w in want)}
        for i, (ids, labels, status) in enumerate(want):
            if status == "dropped":
                assert index[i] == -1
                continue
            assert examples.example(int(index[i])) == (ids, labels)
            assert bool(examples.truncated[index[i]]) == (status == "truncated")
        # selecting with repeats, and packing: each row is its records back to back
        order = [rnd.randrange(len(examples)) for _ in range(300)] if len(examples) else []
        taken = examples.take(order)
        assert [taken.example(j) for j in range(len(taken))] == [examples.example(i) for i in order]
        if len(taken):
            packed = pack_examples(taken, max_length)
            values, rows = packed["input_ids"]
            pos = packed["position_ids"][0]
            assert int(packed["length"].sum()) == len(values) == int(taken.offsets[-1]) and rows[-1] == len(values)
            assert all(0 < n <= max_length for n in packed["length"].tolist())
            assert (pos == 0).sum() == len(taken) and (packed["labels"][0][pos == 0] == IGNORE_INDEX).all()


def test_batched_backend_calls_give_the_ids_of_the_tokenizer(tok, monkeypatch):
    from collama_train.data import tokenizing as data

    texts = ["def f():\n    return '你好' </s> <pad>", "  leading spaces\n\n", "", ":::x"] * 3
    for add in (True, False):
        for split in (True, False):
            want = tok(texts, add_special_tokens=add, split_special_tokens=split)["input_ids"]
            assert data.batch_tokenize(tok, texts, add_special_tokens=add, split_special_tokens=split, batch_size=5) == want
    # one backend call per batch of strings, not one per string
    calls = []
    backend = tok.backend_tokenizer

    class Spy:
        def __getattr__(self, name):
            return getattr(backend, name)

        def __setattr__(self, name, value):
            setattr(backend, name, value)

        def encode_batch_fast(self, batch, **kw):
            calls.append(len(batch))
            return backend.encode_batch_fast(batch, **kw)

    monkeypatch.setattr(data, "_raw_backend", lambda t: Spy())
    data.batch_tokenize(tok, texts * 100, add_special_tokens=False, split_special_tokens=True, batch_size=1000)
    assert calls == [1000, 200]
    # a tokenizer with truncation/padding set on its backend: those are ignored (a copy is used)
    tok3 = copy.deepcopy(tok)
    tok3.backend_tokenizer.enable_truncation(4)
    assert data.batch_tokenize(tok3, texts, add_special_tokens=False, split_special_tokens=True) == \
        tok(texts, add_special_tokens=False, split_special_tokens=True)["input_ids"]


# ------------------------------------------------------------------ cache


def test_second_prepare_tokenizes_nothing_and_rank0_goes_first(sample, tok, cache, monkeypatch):
    import contextlib

    from collama_train.data import tokenizing as data

    a = _args(sample, cache, configs="code_search.en:0.5,code_generation", max_length=512, packing=True,
              eval_split="validation")
    calls = {"n": 0, "strings": 0, "enter": 0}
    orig = data.batch_tokenize

    def counting(tokenizer, texts, **kw):
        calls["n"] += 1
        calls["strings"] += len(texts)
        return orig(tokenizer, texts, **kw)

    monkeypatch.setattr(data, "batch_tokenize", counting)

    @contextlib.contextmanager
    def first():
        calls["enter"] += 1
        yield

    p1 = prepare(a, tok, main_process_first=first)
    assert calls["n"] >= 2 and calls["strings"] > 0 and not p1.report["cache_hit"] and calls["enter"] == 1
    n = calls["n"]
    p2 = prepare(a, tok, main_process_first=first)
    assert calls["n"] == n and p2.report["cache_hit"] and calls["enter"] == 2
    assert p2.train["input_ids"] == p1.train["input_ids"] and p2.eval["input_ids"] == p1.eval["input_ids"]
    # each part of the key matters
    for change in (dict(max_length=256), dict(packing=False), dict(configs="code_search.en:0.4,code_generation"),
                   dict(template="chat")):
        p = prepare(_args(sample, cache, **{**{k: getattr(a, k) for k in ("configs", "max_length", "packing", "eval_split")},
                                             **change}), tok)
        assert not p.report["cache_hit"], change
    tok2 = copy.deepcopy(tok)
    tok2.add_tokens(["<new>"])
    assert not prepare(a, tok2).report["cache_hit"]
    # a damaged entry is rebuilt, not trusted
    entry = Path(p1.report["cache_dir"])
    want = [list(x) for x in p1.train["input_ids"]]
    del p1, p2
    for f in (entry / "train").glob("*.arrow"):
        f.write_bytes(b"garbage")
    p3 = prepare(a, tok)
    assert not p3.report["cache_hit"] and [list(x) for x in p3.train["input_ids"]] == want


RANK_SCRIPT = r"""
import contextlib, json, sys, time
import torch.distributed as dist
from transformers import AutoTokenizer
from collama_train.data import DataArguments, prepare

rank, store, model, data, cache, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)

@contextlib.contextmanager
def main_process_first():  # what TrainingArguments.main_process_first does
    try:
        if rank != 0:
            dist.barrier()
        yield
    finally:
        if rank == 0:
            dist.barrier()

tok = AutoTokenizer.from_pretrained(model)
p = prepare(DataArguments(data=data, configs="all", max_length=512, packing=True, tokenized_cache_dir=cache),
            tok, main_process_first=main_process_first)
with open(out, "w") as fh:
    json.dump({"hit": p.report["cache_hit"], "done": time.time(), "ids": [list(x) for x in p.train["input_ids"]]}, fh)
dist.destroy_process_group()
"""


def test_two_ranks_rank0_tokenizes_the_other_reads_the_cache(sample, tok, tmp_path):
    import subprocess
    import sys

    model = tmp_path / "tok"
    tok.save_pretrained(model)
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT, encoding="utf-8")
    procs = [subprocess.Popen([sys.executable, str(script), str(r), str(tmp_path / "store"), str(model), str(sample),
                               str(tmp_path / "cache"), str(tmp_path / f"r{r}.json")],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for r in (1, 0)]
    outs = [p.communicate(timeout=240)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    r0, r1 = (json.loads((tmp_path / f"r{r}.json").read_text()) for r in (0, 1))
    assert r0["hit"] is False and r1["hit"] is True  # rank 1 waited, then read what rank 0 wrote
    assert r0["ids"] == r1["ids"] and len(list((tmp_path / "cache").iterdir())) == 1


# ------------------------------------------------------------------ packing


def _bfd_reference(lengths, cap):
    bins, loads = [], []
    for i in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        best = None
        for b, load in enumerate(loads):
            if load + lengths[i] <= cap and (best is None or load > loads[best]):
                best = b
        if best is None:
            bins.append([i])
            loads.append(lengths[i])
        else:
            bins[best].append(i)
            loads[best] += lengths[i]
    return bins


def test_pack_bfd_matches_the_reference_and_keeps_every_record_once():
    import random

    rnd = random.Random(0)
    for _ in range(20):
        cap = rnd.choice([16, 64, 100])
        lengths = [rnd.randint(1, cap) for _ in range(rnd.randint(1, 60))]
        bins = pack_bfd(lengths, cap)
        assert sorted(i for b in bins for i in b) == list(range(len(lengths)))
        assert all(sum(lengths[i] for i in b) <= cap for b in bins)
        assert sorted(sorted(sum(lengths[i] for i in b) for b in bins)) == sorted(
            sum(lengths[i] for i in b) for b in _bfd_reference(lengths, cap))
        assert len(bins) >= math.ceil(sum(lengths) / cap)
    assert packing_efficiency([50, 50, 30, 70], 100) == 1.0
    assert padding_efficiency([10, 30], batch_size=2) == 40 / 60


def test_packed_dataset_rows_restart_positions(sample, tok, cache):
    plain = prepare(_args(sample, cache, configs="all", max_length=1024), tok)
    packed = prepare(_args(sample, cache, configs="all", max_length=1024, packing=True), tok)
    assert len(packed.train) < len(plain.train)
    assert sum(packed.train["length"]) == sum(plain.train["length"])
    n_records = 0
    for row in packed.train:
        pos = row["position_ids"]
        assert len(pos) == len(row["input_ids"]) == row["length"] <= 1024 and pos[0] == 0
        starts = [i for i, q in enumerate(pos) if q == 0]
        n_records += len(starts)
        for a, b in zip(starts, starts[1:] + [len(pos)]):
            assert pos[a:b] == list(range(b - a)) and row["input_ids"][b - 1] == tok.eos_token_id
            assert row["labels"][a] == IGNORE_INDEX
    assert n_records == len(plain.train)
    assert packed.report["train"]["packing_efficiency"] > packed.report["train"]["padding_efficiency_batch8"] * 0.9


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packed_batch_loss_and_gradients_equal_the_padded_batch(sample, tok, cache, attn):
    import torch

    p = prepare(_args(sample, cache, configs="all", max_length=256, max_samples=6), tok)
    rows = list(p.train)
    assert len(rows) >= 4
    model = tiny.make_model(tok, hidden_size=32, layers=2, heads=4, max_positions=256)
    model.config._attn_implementation = attn
    with torch.no_grad():  # sharpen the random weights so that attention (and any leak across records) matters
        for name, q in model.named_parameters():
            if "norm" not in name:
                q.mul_(5)
    model.train()  # dropout is 0 in the tiny Llama: train mode is deterministic
    assert model.config.use_cache  # the trap: the config asks for a KV cache by default

    def loss_and_grads(batch):
        model.zero_grad()
        out = model(**batch)
        out.loss.backward()
        return out.loss.detach(), {n: q.grad.detach().clone() for n, q in model.named_parameters()}

    padded = Collator(tok, packed=False)(rows)
    packed = Collator(tok, packed=True, flatten=True)(rows)
    assert packed["input_ids"].shape[0] == 1 and "attention_mask" not in packed and packed["use_cache"] is False
    l_pad, g_pad = loss_and_grads(padded)
    l_pack, g_pack = loss_and_grads(packed)
    assert abs(l_pad.item() - l_pack.item()) < 1e-5
    for n in g_pad:
        assert torch.allclose(g_pad[n], g_pack[n], atol=1e-5, rtol=1e-4), n
    # the rows kept as the batch (the default; right-padded, the padding a segment of its own): the same
    by_rows = Collator(tok, packed=True)(rows)
    assert by_rows["input_ids"].shape == padded["input_ids"].shape and "attention_mask" not in by_rows
    l_rows_b, g_rows_b = loss_and_grads(by_rows)
    assert abs(l_pad.item() - l_rows_b.item()) < 1e-5
    for n in g_pad:
        assert torch.allclose(g_pad[n], g_rows_b[n], atol=1e-5, rtol=1e-4), n
    # rows packed by prepare() (position_ids from the dataset) give the same loss
    pk = prepare(_args(sample, cache, configs="all", max_length=256, max_samples=6, packing=True), tok)
    l_rows, _ = loss_and_grads(Collator(tok, packed=True)(list(pk.train)))
    assert abs(l_rows.item() - l_pad.item()) < 1e-5
    # what would break it: a KV cache (use_cache=True) or an attention mask -> attention across records
    with torch.no_grad():
        leaky_cache = model(**{**packed, "use_cache": True}).loss.item()
        leaky_mask = model(**{**packed, "attention_mask": torch.ones_like(packed["input_ids"])}).loss.item()
    assert abs(leaky_cache - l_pad.item()) > 1e-3 and abs(leaky_mask - l_pad.item()) > 1e-3


# ------------------------------------------------------------------ eval split, preview


def test_eval_split_uses_the_configs_that_have_it(sample, tok, cache):
    names = ["code_generation.zh", "code_search.code_translation"]  # the first has no validation records
    p = prepare(_args(sample, cache, configs=",".join(names), eval_split="validation", max_length=1024), tok)
    want = mulco.read_table(mulco.resolve(names, sample, "validation", missing="skip")).num_rows
    assert p.eval is not None and len(p.eval) == want > 0
    assert set(p.eval.column_names) == {"input_ids", "labels", "length"}


def test_preview_prints_table_efficiency_and_marked_examples(sample, tok, cache, tmp_path, capsys, monkeypatch):
    from collama_train import preview

    model_dir = tmp_path / "model"
    tok.save_pretrained(model_dir)
    monkeypatch.setenv("COLLAMA_CACHE", str(tmp_path / "cc"))
    rc = preview.main(["--model_name_or_path", str(model_dir), "--data", str(sample), "--configs",
                       "code_search.en:0.5,code_generation.zh", "--max-length", "512", "--packing",
                       "--marks", "brackets", "--output_dir", str(tmp_path / "never")])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "code_search.en" in out and "code_generation.zh" in out and "under x" in out
    assert "packing (BFD into 512)" in out and "padding to the longest" in out
    assert out.count("--- example ") == 3 and out.count("[[Below is an instruction") == 3
    assert not (tmp_path / "never").exists()
    rc = preview.main(["--model", str(model_dir), "--data", str(sample), "--configs", "code_serch"])
    err = capsys.readouterr().err
    assert rc == 2 and "code_search" in err and len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("kw, words", [
    (dict(), "no training data"),
    (dict(data="X", data_path="Y"), "not both"),
    (dict(data="/nonexistent/mulco"), "no such MulCo folder"),
    (dict(data_path="/nonexistent.json"), "no such file"),
    (dict(data="SAMPLE", configs="code_serch.en"), "code_search.en"),
    (dict(data="SAMPLE", configs="code_search:0"), "not a positive number"),
    (dict(data="SAMPLE", configs="code_search:abc"), "not a number"),
    (dict(data="SAMPLE", template="alpacca"), "alpaca"),
    (dict(data="SAMPLE", max_length=0), "--max_length"),
    (dict(data="SAMPLE", eval_split="train"), "training split"),
    (dict(data="NOTMULCO"), "not a MulCo folder"),
])
def test_bad_arguments_are_one_line_before_any_work(sample, tmp_path, kw, words):
    notmulco = tmp_path / "plain"
    notmulco.mkdir()
    kw = {k: (str(sample) if v == "SAMPLE" else str(notmulco) if v == "NOTMULCO" else v) for k, v in kw.items()}
    with pytest.raises(DataError) as e:
        validate_data_args(DataArguments(**kw))
    assert words in str(e.value) and "\n" not in str(e.value)


def test_bad_data_found_while_preparing_is_one_line(sample, tok, cache, tmp_path):
    def err(args, tokenizer=tok) -> str:
        with pytest.raises(DataError) as e:
            prepare(args, tokenizer)
        assert "\n" not in str(e.value)
        return str(e.value)

    assert "selects no record" in err(_args(sample, cache, configs="code_generation.en.php"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert "not a JSON file" in err(DataArguments(data_path=str(bad), tokenized_cache_dir=cache))
    bad.write_text(json.dumps([{"instruction": "x"}]), encoding="utf-8")
    assert "record 0" in err(DataArguments(data_path=str(bad), tokenized_cache_dir=cache))
    no_eos = copy.deepcopy(tok)
    no_eos.eos_token = None
    with pytest.raises(DataError, match="no eos token"):
        check_tokenizer(no_eos)
    assert "no eos token" in err(_args(sample, cache, configs="all"), no_eos)
    assert "every selected record was dropped" in err(_args(sample, cache, configs="all", max_length=8))
