"""MinHash signatures estimate Jaccard similarity like datasketch's; LSH finds the pairs; the
vectorised hashing is the same chunked or not."""
from __future__ import annotations

import random

import numpy as np

from mulco.steps import minhash, text


def _texts(n=600, seed=0):
    rnd = random.Random(seed)
    words = [f"w{i}" for i in range(400)]
    out = []
    for _ in range(n // 2):
        a = [rnd.choice(words) for _ in range(rnd.randint(8, 160))]
        b = list(a)
        for _ in range(rnd.randint(0, len(b) // 3)):
            b[rnd.randrange(len(b))] = rnd.choice(words)
        out += [" ".join(a), " ".join(b)]
    return out


def test_signature_estimates_jaccard_as_well_as_independent_permutations():
    texts = _texts()
    f = text.features(texts, keep=True)
    h, t = f.shingles
    sets = [set() for _ in texts]
    for x, i in zip(h.tolist(), t.tolist()):
        sets[i].add(x)
    exact = np.array([len(sets[i] & sets[i + 1]) / len(sets[i] | sets[i + 1]) for i in range(0, len(texts), 2)])
    est = minhash.similarity(f.signatures, np.arange(0, len(texts), 2), np.arange(1, len(texts), 2))
    err = est - exact
    assert abs(err.mean()) < 0.01
    theory = np.sqrt((exact * (1 - exact) / 128).mean())  # k independent permutations
    assert np.sqrt((err ** 2).mean()) < 1.3 * theory + 0.005


def test_lsh_bands_match_datasketch():
    from datasketch.lsh import _optimal_param

    for t in (0.7, 0.75, 0.8, 0.85):
        assert minhash.optimal_bands(t, 128) == _optimal_param(t, 128, 0.5, 0.5)


def test_features_do_not_depend_on_chunking_or_threads(monkeypatch):
    texts = _texts(200) + ["你好世界，这是一个测试。" * 3, "MixedCase_Identifier foo(bar) 😀 𠀀𠀁"]
    a = text.features(texts, keep=True)
    monkeypatch.setattr(text, "_CHUNK_CHARS", 2000)
    b = text.features(texts, threads=2, keep=True)
    for x, y in ((a.shingles, b.shingles), (a.word_ngrams, b.word_ngrams), (a.anchors, b.anchors)):
        assert np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1])
    assert np.array_equal(a.exact_keys, b.exact_keys) and np.array_equal(a.signatures, b.signatures)
    assert np.array_equal(a.tokens.hash, b.tokens.hash)


def test_tokens_split_chinese_into_characters_and_fold_case():
    tok = text.tokenize(["Foo_bar(x)+1", "foo_bar ( x ) + 1", "排序算法"])
    c = tok.counts()
    assert list(c) == [6, 6, 4]
    assert np.array_equal(tok.hash[:6], tok.hash[6:12])
    assert text.features(["a  b\n\tc", "A B C"]).exact_keys[0] == text.features(["A B C"]).exact_keys[0]


def test_templates_are_not_content():
    from mulco import templates

    instr = templates.instruction("code_summarization", "en", "00000000000000ab", plang="python")
    r = {"instruction": instr, "input": "def f(): pass", "output": "Does nothing.", "lang": "en"}
    assert text.content(r) == text.SEP.join(["", "def f(): pass", "Does nothing."])
    r["instruction"] = "Write a poem about sorting."
    assert text.content(r).startswith("Write a poem")
