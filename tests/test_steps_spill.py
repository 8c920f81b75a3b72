"""What the corpus steps keep per record is only what they look up (issue 21): the signatures go to a
file and are read back by rows, the band hashes come from the feature pass, decontamination keeps
only the word n-grams it can look up, dedup drops in bulk. Each gives the same result as the
whole arrays in memory."""
from __future__ import annotations

import numpy as np
import pytest

from mulco.record import make_record
from mulco.steps import minhash
from mulco.steps.pipeline import Corpus, run_steps


def _signatures(n: int, k: int, seed: int = 0) -> np.ndarray:
    """Signatures with near copies (the second half repeats the first with a few slots changed)
    and empty rows, so LSH finds pairs."""
    rng = np.random.default_rng(seed)
    sig = rng.integers(0, 2**32 - 1, size=(n, k), dtype=np.uint64).astype(np.uint32)
    half = n // 2
    sig[half:2 * half] = sig[:half]
    sig[np.arange(half, 2 * half), rng.integers(0, k, size=half)] ^= 1  # one slot of each copy
    sig[::11] = minhash.EMPTY
    return sig


def test_signature_file_reads_what_was_written(tmp_path):
    sig = _signatures(1000, 16)
    f = minhash.SignatureFile(tmp_path / "s.u32", 16)
    for a in range(0, 1000, 300):  # blocks, as the feature pass appends them
        f.append(sig[a:a + 300])
    assert f.shape == (1000, 16) and len(f) == 1000
    assert (tmp_path / "s.u32").stat().st_size == sig.nbytes
    assert np.array_equal(f[0:1000], sig) and np.array_equal(f[990:2000], sig[990:]) and len(f[5:5]) == 0
    rng = np.random.default_rng(1)
    for idx in (rng.integers(0, 1000, 500), np.array([999, 0, 0, 1, 2, 3, 500, 3]), np.arange(1000)[::-3],
                np.zeros(0, dtype=np.int64)):
        assert np.array_equal(f[idx], sig[idx])  # any order, repeats, gaps, nothing
    with pytest.raises(IndexError):
        f[np.array([1000])]
    u, v = rng.integers(0, 1000, 3000), rng.integers(0, 1000, 3000)
    u[:500], v[:500] = np.arange(500), np.arange(500) + 500  # the near copies
    assert np.array_equal(minhash.similarity(f, u, v, batch=256), minhash.similarity(sig, u, v, batch=256))
    assert (minhash.similarity(f, u[:500], v[:500]) > 0.5).mean() > 0.8


def test_candidate_edges_index_the_band_hashes_in_place():
    """Band hashes given for all records with the nodes' rows (``at``) give the pairs of the nodes'
    own copy, without copying every band of every node."""
    sig = _signatures(2000, 32, seed=2)
    bh = minhash.band_hashes(sig, 8, 4)
    rng = np.random.default_rng(3)
    nodes = rng.permutation(2000)[:1500]
    group = rng.integers(0, 3, size=len(nodes))
    usable = (sig[nodes] != minhash.EMPTY).any(axis=1)
    a = minhash.candidate_edges(None, group, 8, 4, usable, bh[nodes])
    b = minhash.candidate_edges(None, group, 8, 4, usable, bh, nodes)
    c = minhash.candidate_edges(sig[nodes], group, 8, 4, usable)
    assert len(a[0]) > 50
    for x in (b, c):
        assert np.array_equal(a[0], x[0]) and np.array_equal(a[1], x[1])


def _codexglue_records(shared_raw):
    from mulco.build import convert_source

    records, splits = [], []
    for name in ("codexglue_translation",):  # test records that other records overlap (the slices' build drops 90)
        res = convert_source(name, shared_raw, progress=False)
        records += [r for _, r in res.records]
        splits += [s for s, _ in res.records]
    return records, splits


def test_decontamination_keeps_few_ngrams_and_drops_the_same(shared_raw):
    """With ``prepare`` (the build's way) the corpus keeps only the word n-grams of the benchmark
    items and those found in a CodeXGLUE test record, outside the test records; the drops and the
    stats are those of the step run on every n-gram."""
    from mulco.steps.decontaminate import DecontamConfig, Decontaminate

    records, splits = _codexglue_records(shared_raw)
    sources = [r["source"] for r in records]
    assert "test" in splits
    cfg = DecontamConfig()
    filtered = Corpus(records, splits, sources, threads=1)
    res, dropped = run_steps(filtered, [Decontaminate(cfg, None)])
    whole = Corpus(records, splits, sources, threads=1)
    out = Decontaminate(cfg, None).run(whole)  # no prepare: every anchor and n-gram kept
    assert len(out.drops) > 10
    assert sorted((i, d.reason, d.matched) for i, d in dropped.items()) == sorted(out.drops)
    assert res[0].stats == out.stats
    kept, every = (len(c.features(word_n=cfg.decontam_ngram).word_ngrams[0]) for c in (filtered, whole))
    assert kept * 5 < every


def _rec(n: int, output: str) -> dict:
    return make_record(source="codealpaca", source_id=str(n), license="x", task="code_generation",
                       lang="en", plang="python", instruction="Write a function.", input="", output=output)


def test_dedup_drops_in_bulk_and_names_the_largest_clusters_by_size_then_id():
    """Exact dedup over 13 clusters (one of 3 records, twelve of 2): each copy is dropped as a
    duplicate of its cluster's kept record, and the report's ten largest are the cluster of 3,
    then the pairs by kept id."""
    from mulco.steps.dedup import DedupConfig, ExactDedup

    records = []
    for c in range(13):
        body = f"def f{c}(x):\n    return x * {c} + {c * c}\n"
        records += [_rec(c * 10 + k, body) for k in range(3 if c == 5 else 2)]
    corpus = Corpus(records, ["train"] * len(records), ["codealpaca"] * len(records), threads=1)
    res, dropped = run_steps(corpus, [ExactDedup(DedupConfig())])
    ids = [r["id"] for r in records]
    kept_of = {}
    for r in records:
        kept_of.setdefault(r["output"], []).append(r["id"])
    want = {}
    for members in kept_of.values():
        first = min(members)
        for m in members:
            if m != first:
                want[m] = (f"exact duplicate: duplicate of {first}", first)
    assert {ids[i]: (d.reason, d.matched) for i, d in dropped.items()} == want
    st = res[0].stats
    assert st["clusters"] == 13 and st["records_in_clusters"] == 27 and st["size_histogram"] == {"2": 12, "3": 1}
    expect = sorted(((-len(m), min(m)) for m in kept_of.values()))[:10]
    assert [(-c["size"], c["kept"]) for c in st["largest"]] == expect
    assert {c["task"] for c in st["largest"]} == {"code_generation"} and st["largest"][0]["source"] == "codealpaca"
