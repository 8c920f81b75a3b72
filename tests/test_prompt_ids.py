"""Issue 17.3: evaluation feeds the model the prompt ids training masked — one function builds both
(``collama_train.data.encode_prompts``), for the alpaca and chat templates, with a Llama-2-like
tokenizer whose post-processor adds BOS *and* EOS (``<s> $A </s>``) and that has no pad token, and
records that hold ``<s>``/``</s>`` as text (HTML strike-through, XML in code)."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from collama_train import tiny
from collama_train.data import IGNORE_INDEX, DataArguments, encode_chat, prepare, prompt_ids
from collama_train.prompts import from_name

RECORDS = [
    {"instruction": "Render <s>old</s> price as HTML.", "input": "", "output": "<p><s>10</s> 8</p>"},
    {"instruction": "Fix the tag.", "input": "x = '</s>' + y  # <s>", "output": "x = '</s>' + y"},
    {"instruction": "Sum a list.", "input": "", "output": "def f(xs):\n    return sum(xs)"},
    {"instruction": "用中文解释 <s> 标签。", "input": "<s>删除线</s>", "output": "删除线 </s> 结束"},
]


@pytest.fixture(scope="module")
def eos_tok():
    """A tiny byte-level BPE whose post-processor wraps every text as ``<s> $A </s>``, without a pad token."""
    from train_fixtures import bos_eos_tokenizer

    texts = [v for r in RECORDS for v in r.values()] * 20 + ["Below is an instruction that describes a task."] * 20
    tok = bos_eos_tokenizer(texts, 400)
    assert tok.pad_token_id is None and tok("a")["input_ids"][-1] == tok.eos_token_id
    return tok


def _training_prompts(tok, template, tmp_path) -> list[tuple[int, ...]]:
    path = tmp_path / f"{template}.json"
    path.write_text(json.dumps(RECORDS, ensure_ascii=False), encoding="utf-8")
    p = prepare(DataArguments(data_path=str(path), template=template, max_length=512,
                              tokenized_cache_dir=str(tmp_path / "cache")), tok)
    out = []
    for row in p.train:
        n = next(i for i, x in enumerate(row["labels"]) if x != IGNORE_INDEX)
        assert all(x == IGNORE_INDEX for x in row["labels"][:n])
        out.append(tuple(row["input_ids"][:n]))
    return out


@pytest.mark.parametrize("template", ["alpaca", "chat"])
def test_eval_feeds_the_prompt_ids_training_masked(eos_tok, template, tmp_path):
    from collama_train.evaluate.backends import GenerationConfig, TransformersBackend
    from collama_train.evaluate.runner import requests_for

    tok = eos_tok
    trained = _training_prompts(tok, template, tmp_path)
    assert len(trained) == len(RECORDS)
    kind = from_name(template).kind
    reqs = requests_for(RECORDS, template, tok)
    model = tiny.make_model(tok, hidden_size=16, layers=1, heads=2, max_positions=512)
    backend = TransformersBackend(model, tok, add_special_tokens=kind == "text")
    fed = []
    real_generate = model.generate

    def spy(**kw):  # what generate() is given, left padding taken off
        for ids, mask in zip(kw["input_ids"], kw["attention_mask"]):
            fed.append(tuple(ids[mask.bool()].tolist()))
        return real_generate(**kw)

    model.generate = spy
    backend.generate(reqs, GenerationConfig(max_new_tokens=2, batch_size=3))
    assert Counter(fed) == Counter(trained)
    assert Counter(map(tuple, prompt_ids(from_name(template), tok, RECORDS))) == Counter(trained)
    bos, eos = tok.bos_token_id, tok.eos_token_id
    for ids in fed:
        assert eos not in ids                               # no EOS from the "<s> $A </s>" post-processor
        assert ids.count(bos) == (1 if kind == "text" else 0)  # the tokenizer's BOS (alpaca) or the template's (none here)
        if kind == "text":
            assert ids[0] == bos
    with_tag = sum("<s>" in r["instruction"] + r["input"] for r in RECORDS)
    assert sum("<s>" in tok.decode(list(ids), skip_special_tokens=True) for ids in fed) == with_tag == 3  # text
    # the old way (tok(prompt, add_special_tokens=True)) ended every alpaca prompt with EOS and read "<s>" as BOS
    if kind == "text":
        old = tok([r.prompt for r in reqs], add_special_tokens=True)["input_ids"]
        assert all(o[-1] == eos for o in old) and Counter(map(tuple, old)) != Counter(trained)


def test_chat_ids_equal_the_tokenizers_for_records_without_special_strings(eos_tok):
    """The chat path is HF's own (`tokenizer(rendered, add_special_tokens=False)`) unless a record
    holds a special-token string; then only that string is tokenized as text."""
    tok, t = eos_tok, from_name("chat")
    plain = RECORDS[2]
    rendered = t.prompt(plain, tok)
    assert prompt_ids(t, tok, [plain])[0] == tok(rendered, add_special_tokens=False)["input_ids"]
    # the template's own special strings stay special; the same string inside the record is text
    text = "<|user|>\nkeep </s> here\n</s>"
    ids = encode_chat(tok, [text], [["keep </s> here"]])[0]
    assert ids.count(tok.eos_token_id) == 1 and ids[-1] == tok.eos_token_id
    assert tok.decode(ids, skip_special_tokens=True) == "<|user|>\nkeep </s> here\n"
    # a record string the template changed is not found: the text is tokenized as the tokenizer would
    assert encode_chat(tok, [text], [["not in it </s>"]])[0] == tok(text, add_special_tokens=False)["input_ids"]
