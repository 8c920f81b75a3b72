"""Exact and near deduplication, and train/test leakage, as corpus steps sharing :class:`DedupConfig`.

Stages (datatrove style): signature -> buckets -> clusters -> filter.

* What is compared is :func:`mulco.steps.text.content` (instruction unless a template, input,
  output), tokenised as code tokens with Chinese split into characters, ASCII case-folded.
* Records are compared only inside a bucket: same ``lang`` (the EN and ZH records of one raw row
  share their code on purpose), same ``task``/``subtask`` and ``plang``; for the subtasks whose
  answer is a label or one word (clone and defect detection, cloze test, code completion) also
  the same answer, so two items built on the same code with different answers both stay.
* **exact**: the same token sequence (whitespace and letter case never matter).
* **near**: MinHash of the token ``ngram``-shingles (5 by default: a 5-token window of code, or
  5 Chinese characters), LSH with ``bands`` x ``rows`` chosen for ``threshold``, candidates
  accepted when their estimated Jaccard similarity is at least ``threshold``; accepted pairs
  are joined into clusters.
* In a cluster one record is kept: test before validation before train (so the test split is
  intact), then the smallest id. The others are dropped with the kept record's id as
  ``matched``.
* **leakage**: then no train or validation record may be an exact or near duplicate of a test
  record in any bucket of its language (e.g. a function summarised in test and generated in
  train); such a record is dropped with the test record's id.
"""
from __future__ import annotations

import collections
import heapq
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..taxonomy import KINDS
from . import minhash
from .pipeline import Corpus, Outcome
from .spec import Section, Settings, StepSpec, ran_stats, table
from .text import U64, mix

#: subtasks whose answer is a label or a short answer: bucketed by answer too
ANSWER_KEYED = tuple(k.subtask for k in KINDS if k.subtask and k.short_answer)


@dataclass
class DedupConfig:
    """Settings of exact dedup, near dedup (MinHash LSH) and the leakage check."""

    dedup_exact: bool = field(default=True, metadata={"help": "Drop exact duplicates (same tokens, any whitespace/case)."})
    dedup_near: bool = field(default=True, metadata={"help": "Drop near duplicates (MinHash LSH)."})
    dedup_ngram: int = field(default=5, metadata={"range": "[1, inf)",
        "help": "Shingle size in tokens (code tokens; one Chinese character is one token)."})
    dedup_threshold: float = field(default=0.8, metadata={"range": "(0, 1]",
        "help": "Estimated Jaccard similarity of shingle sets from which two records are near duplicates."})
    dedup_num_perm: int = field(default=128, metadata={"range": "[1, 4096]", "help": "MinHash signature size (slots)."})
    dedup_bands: int = field(default=0, metadata={"range": "[0, 4096]",
        "help": "LSH bands (rows = num_perm // bands); 0 picks them for the threshold as datasketch does."})
    dedup_seed: int = field(default=1, metadata={"range": "[0, 4294967295]",
                                                 "help": "MinHash seed (fixed, so builds are identical)."})
    dedup_answers: bool = field(default=True, metadata={
        "help": "Judge free-form-instruction records by their answer (input + output): one answer group keeps "
                "--prompts-per-answer records, all in one split (docs/quality.md)."})
    answer_min_words: int = field(default=8, metadata={"range": "[1, inf)",
        "help": "Answers (input + output) with fewer words are not grouped (a short label-like answer fits many "
                "questions); answers that are code are grouped whatever their length."})
    prompts_per_answer: int = field(default=1, metadata={"range": "[1, inf)",
        "help": "Records kept per answer group (the most preferred: test, validation, train, then id)."})
    leakage: bool = field(default=True, metadata={
        "help": "Drop train/validation records that are exact or near duplicates of a test record."})

    def __post_init__(self):
        if self.dedup_bands > self.dedup_num_perm:
            raise ValueError(f"dedup-bands ({self.dedup_bands}) must be <= dedup-num-perm ({self.dedup_num_perm})")

    def lsh_params(self) -> tuple[int, int]:
        if self.dedup_bands:
            return self.dedup_bands, max(1, self.dedup_num_perm // self.dedup_bands)
        return minhash.optimal_bands(self.dedup_threshold, self.dedup_num_perm)

    def dedup_settings(self) -> dict:
        b, r = self.lsh_params()
        d = {k: getattr(self, k) for k in DedupConfig.__dataclass_fields__}
        d.update(lsh_bands=b, lsh_rows=r, signature="one-permutation MinHash with optimal densification",
                 compared="content: instruction (unless a template) + input + output",
                 bucket="lang, task, subtask, plang (+ answer for " + ", ".join(ANSWER_KEYED) + ")")
        return d


def buckets(corpus: Corpus, with_task: bool = True) -> np.ndarray:
    """Bucket id per record (see the module docstring): int32 numbers of the sorted bucket labels.
    Both kinds are made at once from the corpus' leaf codes; only the records whose subtask is
    bucketed by answer are read (their output)."""
    def make():
        n = len(corpus)
        leaves = corpus.leaf_names  # (task, subtask, lang, plang)
        keyed = np.array([sub in ANSWER_KEYED for _, sub, _, _ in leaves], dtype=bool)
        ans = np.zeros(n, dtype=np.int64)
        answers: dict = {"": 0}
        if n and keyed.any():
            for i, r in corpus.iter_records(np.flatnonzero(keyed[corpus.leaf_codes]), columns=["output"]):
                ans[i] = answers.setdefault(" ".join(str(r.get("output", "")).split()).lower(), len(answers))
        pair, inv = np.unique(corpus.leaf_codes.astype(np.int64) * len(answers) + ans, return_inverse=True)
        text = list(answers)
        out = {}
        for with_task_ in (True, False):
            labels = []
            for p in pair.tolist():
                task, sub, lang, plang = leaves[p // len(answers)]
                a = text[p % len(answers)]
                labels.append((lang or "", task or "", sub or "", plang or "", a) if with_task_ else (lang or "", a))
            rank = {v: k for k, v in enumerate(sorted(set(labels)))}
            code = np.array([rank[v] for v in labels], dtype=np.int32)
            out[with_task_] = code[inv.ravel()] if n else np.zeros(0, dtype=np.int32)
        return out
    return corpus.cached("buckets", make)[with_task]


def _cluster_stats(nodes: np.ndarray, lab: np.ndarray, corpus: Corpus, top: int = 10) -> dict:
    """Clusters (a kept node and the nodes labelled with it), their size histogram and the ``top``
    largest, ordered by size then kept id (only the ids of the clusters that may be among them
    are read)."""
    kept, size = np.unique(lab[lab != np.arange(len(lab))], return_counts=True)
    size = size + 1
    sizes = collections.Counter(size.tolist())
    chosen: list[tuple[int, int, str]] = []  # (-size, record, id)
    if len(kept):
        cut = np.sort(size)[::-1][min(top, len(size)) - 1]  # the size of the top-th largest
        sure, tied = size > cut, size == cut
        for cand in (sure, tied):  # all clusters larger than the cut, then the ties by id
            rec = np.sort(nodes[kept[cand]])
            want = top - len(chosen)
            if not len(rec) or want <= 0:
                continue
            sz = dict(zip(nodes[kept[cand]].tolist(), size[cand].tolist()))
            best: list[tuple[int, str, int]] = []
            for a in range(0, len(rec), 1 << 16):  # ids read in chunks: never one string per cluster
                part = rec[a:a + (1 << 16)]
                best = heapq.nsmallest(want, best + [(-sz[i], rid, i) for i, rid in
                                                     zip(part.tolist(), corpus.column("id", part))])
            chosen += [(s_, i, rid) for s_, rid, i in best]
        chosen.sort(key=lambda c: (c[0], c[2]))
    info = {}
    if chosen:
        want = np.array(sorted(i for _, i, _ in chosen), dtype=np.int64)
        info = dict(corpus.iter_records(want, columns=["subtask", "task", "lang", "plang"]))
    return {
        "clusters": int(len(kept)),
        "records_in_clusters": int(size.sum()),
        "size_histogram": {str(k): v for k, v in sorted(sizes.items())},
        "largest": [{"kept": rid, "size": -s_, "source": corpus.sources[i],
                     "task": info[i].get("subtask") or info[i].get("task"),
                     "lang": info[i].get("lang"), "plang": info[i].get("plang")}
                    for s_, i, rid in chosen],
    }


def _drops_from_labels(nodes: np.ndarray, lab: np.ndarray, corpus: Corpus, reason: str, outcome: Outcome) -> None:
    """nodes: record index per node (preference order); lab: kept node per node. Each other node is
    dropped in bulk as a duplicate of its kept record."""
    dup = np.flatnonzero(lab != np.arange(len(lab)))
    idx, matched = nodes[dup], nodes[lab[dup]]
    order = np.argsort(idx, kind="stable")
    outcome.drop_bulk(idx[order], f"{reason}: duplicate of {{id}}", matched[order])
    outcome.stats.update(_cluster_stats(nodes, lab, corpus))


def _feats(corpus: Corpus, cfg: DedupConfig):
    return corpus.features(shingle_n=cfg.dedup_ngram, num_perm=cfg.dedup_num_perm, seed=cfg.dedup_seed)


def _bands(corpus: Corpus, cfg: DedupConfig) -> np.ndarray:
    """The LSH band hashes of all records (:func:`minhash.band_hashes`): those the feature pass
    computed (``lsh_bands``/``lsh_rows`` of :func:`_feature_args`), else computed once from the
    signatures."""
    bands, rows = cfg.lsh_params()
    f = _feats(corpus, cfg)
    if f.lsh == (bands, rows) and f.band_hashes is not None:
        return f.band_hashes
    return corpus.cached(("bands", cfg.dedup_ngram, cfg.dedup_num_perm, cfg.dedup_seed, bands, rows),
                         lambda: minhash.band_hashes(f.signatures, bands, rows))


def _usable(corpus: Corpus, cfg: DedupConfig) -> np.ndarray:
    """Records with at least one shingle (the others are never near duplicates)."""
    f = _feats(corpus, cfg)
    if f.usable is not None:
        return f.usable

    def make():
        sig = f.signatures
        out = np.empty(len(sig), dtype=bool)
        for i in range(0, len(sig), 1 << 16):
            out[i:i + (1 << 16)] = ~(sig[i:i + (1 << 16)] == minhash.EMPTY).all(axis=1)
        return out
    return corpus.cached(("usable", cfg.dedup_ngram, cfg.dedup_num_perm, cfg.dedup_seed), make)


def _alive_nodes(corpus: Corpus) -> np.ndarray:
    """Alive record indices in preference order (node i is preferred to node j when i < j)."""
    alive = np.flatnonzero(corpus.alive)
    return alive[np.argsort(corpus.preference()[alive], kind="stable")]


@dataclass
class ExactDedup:
    cfg: DedupConfig
    name: str = "exact_dedup"

    def run(self, corpus: Corpus) -> Outcome:
        out = Outcome()
        nodes = _alive_nodes(corpus)
        if len(nodes) < 2:
            return out
        key = mix(_feats(corpus, self.cfg).exact_keys[nodes] ^ (buckets(corpus)[nodes].astype(np.uint64) * U64(0x9E3779B97F4A7C15)))
        order = np.argsort(key, kind="stable")
        ks = key[order]
        start = np.concatenate(([True], ks[1:] != ks[:-1]))
        first = order[np.maximum.accumulate(np.where(start, np.arange(len(ks)), 0))]
        lab = np.empty(len(nodes), dtype=np.int64)
        lab[order] = first
        _drops_from_labels(nodes, lab, corpus, "exact duplicate", out)
        return out


@dataclass
class NearDedup:
    cfg: DedupConfig
    name: str = "near_dedup"

    def run(self, corpus: Corpus) -> Outcome:
        out = Outcome()
        cfg = self.cfg
        nodes = _alive_nodes(corpus)
        bands, rows = cfg.lsh_params()
        out.stats.update(threshold=cfg.dedup_threshold, ngram=cfg.dedup_ngram, num_perm=cfg.dedup_num_perm,
                         bands=bands, rows=rows)
        if len(nodes) < 2:
            return out
        group = buckets(corpus)[nodes]
        u, v = minhash.candidate_edges(None, group, bands, rows, _usable(corpus, cfg)[nodes], _bands(corpus, cfg), nodes)
        sim = minhash.similarity(_feats(corpus, cfg).signatures, nodes[u], nodes[v])
        ok = sim >= cfg.dedup_threshold
        out.stats.update(candidate_pairs=int(len(u)), accepted_pairs=int(ok.sum()))
        lab = minhash.components(len(nodes), u[ok], v[ok])
        _drops_from_labels(nodes, lab, corpus, "near duplicate", out)
        return out


@dataclass
class Leakage:
    cfg: DedupConfig
    name: str = "leakage"

    def run(self, corpus: Corpus) -> Outcome:
        out = Outcome()
        cfg = self.cfg
        nodes = _alive_nodes(corpus)
        is_test = corpus.split_rank[nodes] == 0
        if not is_test.any() or is_test.all():
            out.stats.update(test_records=int(is_test.sum()), exact=0, near=0)
            return out
        group = buckets(corpus, with_task=False)[nodes]
        # exact: same token sequence in the same language
        key = mix(_feats(corpus, self.cfg).exact_keys[nodes] ^ (group.astype(np.uint64) * U64(0x9E3779B97F4A7C15)))
        order = np.argsort(key, kind="stable")
        ks = key[order]
        start = np.concatenate(([True], ks[1:] != ks[:-1]))
        first = order[np.maximum.accumulate(np.where(start, np.arange(len(ks)), 0))]
        hit = is_test[first] & ~is_test[order]
        ex_node, ex_test = order[hit], first[hit]  # non-test node -> test node (each node once)
        del key, order, ks, start, first, hit
        # near: LSH over the whole language, pairs (test, non-test) only
        bands, rows = cfg.lsh_params()
        u, v = minhash.candidate_edges(None, group, bands, rows, _usable(corpus, cfg)[nodes], _bands(corpus, cfg), nodes)
        cross = is_test[u] & ~is_test[v]
        u, v = u[cross], v[cross]
        sim = minhash.similarity(_feats(corpus, cfg).signatures, nodes[u], nodes[v])
        ok = sim >= cfg.dedup_threshold
        a, b = v[ok], u[ok]
        o = np.lexsort((b, a))  # per non-test node its smallest test node, unless an exact one matched
        a, b = a[o], b[o]
        near = np.concatenate(([True], a[1:] != a[:-1])) & ~np.isin(a, ex_node) if len(a) else np.zeros(0, dtype=bool)
        node = np.concatenate((ex_node, a[near]))
        test = np.concatenate((ex_test, b[near]))
        idx, matched = nodes[node], nodes[test]
        o = np.argsort(idx, kind="stable")
        out.drop_bulk(idx[o], "leakage: duplicate of test record {id}", matched[o])
        out.stats.update(test_records=int(is_test.sum()), exact=int(len(ex_node)), near=int(near.sum()),
                         candidate_pairs=int(len(u)))
        return out


# --------------------------------------------------------------------------------------------
# The steps' entries of mulco.steps.registry.STEPS and their parts of the build report


def _dedup_section(results: list) -> dict:
    """``{"exact": {...}, "near": {...}}`` for the dedup steps that ran."""
    out = {}
    for name in (ExactDedup.name, NearDedup.name):
        st = ran_stats(results, name)
        if st:
            out[name.split("_")[0]] = st
    return out


def _cluster_lines(kind: str, d) -> list[str]:
    out = [f"**{kind}**: {d.get('clusters', 0):,} clusters holding {d.get('records_in_clusters', 0):,} records; "
           f"{d.get('dropped', 0):,} dropped (sizes: "
           + ", ".join(f"{k}: {v:,}" for k, v in d.get("size_histogram", {}).items()) + ")."]
    if kind == "near":
        out.append(f"MinHash LSH: {d.get('ngram')}-token shingles, {d.get('num_perm')} slots, "
                   f"{d.get('bands')} bands x {d.get('rows')} rows, threshold {d.get('threshold')}; "
                   f"{d.get('candidate_pairs', 0):,} candidate pairs, {d.get('accepted_pairs', 0):,} accepted.")
    if d.get("largest"):
        out += ["", table(["kept id", "size", "source", "task", "lang", "plang"],
                          [[f"`{c['kept']}`", c["size"], c["source"], c["task"], c["lang"], c["plang"] or "—"]
                           for c in d["largest"]], right={1})]
    return out + [""]


def _dedup_markdown(report) -> list[str]:
    dd = report.get("dedup", {})
    if not dd:
        return []
    out = ["## Duplicate clusters", ""]
    for kind in ("exact", "near"):
        d = dd.get(kind)
        if isinstance(d, Mapping) and d:
            out += _cluster_lines(kind, d)
    return out


def _leakage_section(results: list) -> dict:
    return ran_stats(results, Leakage.name, {})


def _leakage_markdown(report) -> list[str]:
    lk = report.get("leakage", {})
    if not lk:
        return []
    return ["## Leakage", "",
            f"Train/validation records dropped as duplicates of a test record in another bucket of their language: "
            f"{lk.get('exact', 0):,} exact, {lk.get('near', 0):,} near (test records: {lk.get('test_records', 0):,}). "
            "Duplicates inside one bucket were already resolved by dedup, which keeps the test record.", ""]


def _feature_args(cfg: DedupConfig) -> dict:
    """The shingles and signatures of the corpus (shared by dedup, answer dedup, leakage, decontamination)
    and the LSH bands near dedup and leakage hash them into."""
    bands, rows = cfg.lsh_params()  # the band hashes are computed in the same pass (the signatures go to disk)
    return {"shingle_n": cfg.dedup_ngram, "num_perm": cfg.dedup_num_perm, "seed": cfg.dedup_seed,
            "lsh_bands": bands, "lsh_rows": rows}


def _dedup_card(report: Mapping) -> list[str]:
    out = []
    for kind, what in (("exact", "Exact duplicates"), ("near", "Near duplicates")):
        d = report.get("dedup", {}).get(kind)
        if not d:
            continue
        line = (f"{what}: {d.get('clusters', 0):,} clusters holding {d.get('records_in_clusters', 0):,} "
                f"records; {d.get('dropped', 0):,} dropped, one record kept per cluster (a test record where there is one)")
        if kind == "near":
            line += f"; MinHash over {d['ngram']}-token shingles, Jaccard similarity ≥ {d['threshold']}"
        out.append(line + ".")
    return out


def _leakage_card(report: Mapping) -> list[str]:
    lk = report.get("leakage")
    if not lk:
        return []
    return [f"Train/test leakage: {lk.get('exact', 0):,} exact and {lk.get('near', 0):,} near "
            f"duplicates of the {lk.get('test_records', 0):,} test records dropped from train and validation."]


#: the report's settings group of every step reading DedupConfig
SETTINGS = Settings("dedup", DedupConfig.dedup_settings)
_SECTION = Section("dedup", _dedup_section, markdown=((10, _dedup_markdown),), place=10, card=((10, _dedup_card),))

EXACT = StepSpec(ExactDedup.name, lambda cfg, inputs: ExactDedup(cfg), DedupConfig, enabled=lambda cfg: cfg.dedup_exact,
                 settings=SETTINGS, section=_SECTION, feature_args=_feature_args)
NEAR = StepSpec(NearDedup.name, lambda cfg, inputs: NearDedup(cfg), DedupConfig, enabled=lambda cfg: cfg.dedup_near,
                settings=SETTINGS, section=_SECTION, feature_args=_feature_args)
LEAKAGE = StepSpec(Leakage.name, lambda cfg, inputs: Leakage(cfg), DedupConfig, enabled=lambda cfg: cfg.leakage,
                   settings=SETTINGS, section=Section("leakage", _leakage_section, markdown=((30, _leakage_markdown),),
                                                      place=20, card=((30, _leakage_card),)),
                   off_warning="train/test leakage was not checked: the leakage step was turned off")
