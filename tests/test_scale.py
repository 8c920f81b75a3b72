"""Scale: the memory the quality steps need per record stays bounded (docs/scale.md has the 1M
build). The corpus is the code-refinement slice of ../shared/data/raw replicated with perturbations by
bench/make_corpus.py (duplicate-heavy: three near copies of every row)."""
from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SOURCE = "codexglue_refinement"


def _records(raw: Path):
    from mulco.build import convert_source

    res = convert_source(SOURCE, raw, progress=False)
    return [r for _, r in res.records], [s for s, _ in res.records]


@pytest.fixture(scope="module")
def replicated(shared_raw, tmp_path_factory):
    sys.path.insert(0, str(REPO / "bench"))
    from make_corpus import replicate

    raw = tmp_path_factory.mktemp("scale") / "raw"
    part = Path("codexglue", "code-refinement")  # what SOURCE reads: the other slices would be copied for nothing
    replicate(shared_raw / part, raw / part, 2.0)
    return _records(raw)


def _steps_peak(records, splits, warm_up: bool = False) -> int:
    """Peak traced memory of the corpus steps over ``records``. The records are stored before the
    window opens (an Arrow store, as a build's records are on disk): what is measured is what the
    corpus and its steps keep, as in a build (its feature settings, one thread)."""
    from mulco.build import BuildConfig
    from mulco.steps import registry
    from mulco.steps.decontaminate import Decontaminate
    from mulco.steps.dedup import ExactDedup, Leakage, NearDedup
    from mulco.steps.pipeline import Corpus, run_steps
    from mulco.store import RecordStore

    import gc

    cfg = BuildConfig()
    store = RecordStore.from_records(records, splits)
    sources = [SOURCE] * len(records)
    gc.collect()  # garbage of earlier tests must not count, nor be collected inside the window
    tracemalloc.start()
    try:
        corpus = Corpus(store, sources=sources, threads=1, feature_args=registry.feature_args(cfg))  # one thread: a repeatable peak
        steps = [ExactDedup(cfg), NearDedup(cfg), Decontaminate(cfg, None), Leakage(cfg)]
        results, _ = run_steps(corpus, steps)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert warm_up or results[1].dropped > len(records) // 4  # duplicate-heavy: the near copies go
    return peak


@pytest.mark.slow
def test_quality_steps_memory_per_record_is_bounded(replicated, monkeypatch):
    """Features, dedup, decontamination and leakage over ~17k and ~67k records: what the steps
    need beyond a fixed working set (traced; the records themselves excluded) grows by less than
    BOUND bytes a record (measured: 114 bytes with one thread and 8k-record blocks, 534-570 while
    the signatures and every word 13-gram stayed in memory). What is left is what the steps look
    up per record: 9 band hashes (72), the exact key (8), the preference rank (8), two bucket ids
    (8), the corpus' own arrays (alive, split, source, leaf: 10) and a few flags and kept
    n-grams; the 1M build of docs/scale.md relies on it."""
    from mulco.steps import pipeline

    # Blocks of 8k records, as a 1M build sees blocks of 16k: the texts of one block are a fixed
    # working set, so what grows with n is what the steps keep per record.
    monkeypatch.setattr(pipeline, "FEATURE_BLOCK", 1 << 13)
    records, splits = replicated
    n = len(records)
    assert n > 50_000
    small = n // 4
    _steps_peak(records[:2000], splits[:2000], warm_up=True)  # warm up: caches (benchmarks, grammars) load once
    p_small = _steps_peak(records[:small], splits[:small])
    p_all = _steps_peak(records, splits)
    per = (p_all - p_small) / (n - small)
    print(f"steps memory: {per:.0f} bytes a record")
    assert per < BOUND, f"{per:.0f} bytes a record"


BOUND = 150


def test_blocked_features_equal_one_call(sample_raw, monkeypatch):
    """The corpus computes its features block by block and keeps only the anchors asked for: the
    same arrays as one call over every content text."""
    from mulco.steps import minhash, pipeline, text
    from mulco.steps.pipeline import Corpus

    records, splits = [], []
    for name in ("codesearchnet", "codexglue_refinement", "codegpt_cn"):
        from mulco.build import convert_source

        res = convert_source(name, sample_raw, progress=False)
        records += [r for _, r in res.records]
        splits += [s for s, _ in res.records]
    whole = text.features([text.content(r) for r in records], fields=[text.code_fields(r) for r in records])
    monkeypatch.setattr(pipeline, "FEATURE_BLOCK", 7)
    c = Corpus(records, splits, ["x"] * len(records))
    probe = whole.anchors[0][::5]
    c.keep_anchors(probe)
    f = c.features()
    for a, b in ((whole.word_ngrams, f.word_ngrams),):
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert np.array_equal(whole.exact_keys, f.exact_keys)
    assert np.array_equal(whole.signatures, f.signatures[0:len(records)])  # from the file they went to
    picks = np.array([5, 0, 5, len(records) - 1, 3])
    assert np.array_equal(whole.signatures[picks], f.signatures[picks])  # rows in any order, repeated
    assert np.array_equal(f.usable, (whole.signatures != minhash.EMPTY).any(axis=1))
    keep = np.isin(whole.anchors[0], probe)
    assert np.array_equal(whole.anchors[0][keep], f.anchors[0])
    assert np.array_equal(whole.anchors[1][keep], f.anchors[1])
