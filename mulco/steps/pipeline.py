"""Running the quality steps over the whole corpus, with the accounting.

A step is either a *record step* ``f(record) -> None | reason`` (wrapped by :class:`RecordStep`)
or a *corpus step*: an object with a ``name`` and ``run(corpus) -> Outcome`` that sees every
record still alive at once (dedup, decontamination, leakage). A reason that is a :class:`Flag`
only flags the record (counted, not dropped). A dropped record carries the step, the reason and,
for dedup/decontamination/leakage, what it ``matched`` (the id of the record kept for its
cluster, or the benchmark item).

:class:`Corpus` holds the records with their split and source, which are alive, and the shared,
lazily computed views the corpus steps use (content text, tokens, shingles, signatures), so
each is computed once.
"""
from __future__ import annotations

import collections
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np

SPLIT_RANK = {"test": 0, "validation": 1, "train": 2}  # the order a duplicate cluster keeps


class Flag(str):
    """A reason that flags a record without dropping it."""


@dataclass
class Outcome:
    drops: list[tuple[int, str, Optional[str]]] = field(default_factory=list)  # (index, reason, matched)
    flags: list[tuple[int, str]] = field(default_factory=list)
    stats: dict = field(default_factory=dict)


class Corpus:
    def __init__(self, records: Sequence[dict], splits: Sequence[str], sources: Sequence[str], threads: int = 2,
                 feature_args: dict | None = None):
        self.records = list(records)
        n = len(self.records)
        self.splits = list(splits)
        self.split_rank = np.fromiter((SPLIT_RANK.get(s, 2) for s in self.splits), dtype=np.int8, count=n)
        self.sources = list(sources)
        self.alive = np.ones(n, dtype=bool)
        self.threads = threads
        #: shingle_n, word_n, num_perm, seed of :meth:`features` (set from the build settings)
        self.feature_args = {"shingle_n": 5, "word_n": 13, "num_perm": 128, "seed": 1, **(feature_args or {})}
        #: sorted uint64 hashes: the only anchors :meth:`features` keeps (set by a step's
        #: ``prepare``, e.g. the first anchors of the benchmark snippets decontamination looks
        #: for); None keeps every anchor
        self.anchor_filter: np.ndarray | None = None
        #: the records :meth:`features` and a step's ``prepare`` look at: those the ``early`` steps
        #: kept (None: all); the others get the features of an empty record (two field separators)
        self.early_alive: np.ndarray | None = None
        self._cache: dict = {}
        self._pending: dict = {}

    def __len__(self) -> int:
        return len(self.records)

    def cached(self, key, make: Callable[[], Any]):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def ids(self) -> list[str]:
        return self.cached("ids", lambda: [str(r.get("id")) for r in self.records])

    def preference(self) -> np.ndarray:
        """rank[i]: position of record i when records are ordered test < validation < train, then id."""
        def make():
            ids = np.array(self.ids())
            order = np.lexsort((ids, self.split_rank))
            rank = np.empty(len(order), dtype=np.int64)
            rank[order] = np.arange(len(order))
            return rank
        return self.cached("preference", make)

    def content(self) -> list[str]:
        """The :func:`mulco.steps.text.content` of every record (cached; the features are computed
        without it, block by block, so a large corpus never holds all of them)."""
        from .text import content

        return self.cached("content", lambda: [content(r) for r in self.records])

    def content_of(self, i: int) -> str:
        from .text import content

        return self._cache["content"][i] if "content" in self._cache else content(self.records[i])

    def keep_anchors(self, hashes: np.ndarray) -> None:
        """Keep only these anchors in the features computed from now on (see :attr:`anchor_filter`);
        called again, the union is kept."""
        h = np.asarray(hashes, dtype=np.uint64)
        if self.anchor_filter is not None:
            h = np.concatenate((self.anchor_filter, h))
        self.anchor_filter = np.unique(h)

    def prefetch(self) -> None:
        """Start computing :meth:`features` (default settings) in a background thread."""
        import threading

        key = self._features_key({})
        if key in self._cache or key in self._pending:
            return
        box: dict = {}

        def work():
            try:
                box["value"] = self._make_features({})
            except BaseException as e:  # noqa: BLE001 - re-raised where the value is used
                box["error"] = e

        th = threading.Thread(target=work, name="mulco-features", daemon=True)
        self._pending[key] = (th, box)
        th.start()

    def _features_key(self, overrides: dict):
        filt = None if self.anchor_filter is None else hashlib.blake2b(self.anchor_filter.tobytes()).hexdigest()
        return ("features", tuple(sorted(dict(self.feature_args, **overrides).items())), filt)

    def _make_features(self, overrides: dict):
        """:func:`mulco.steps.text.features` of the content of all records, computed block by
        block (the same arrays as one call, without holding every content text nor, with
        :attr:`anchor_filter`, every anchor)."""
        from .text import SEP, Features, code_fields, content, features

        args = dict(self.feature_args, **overrides)
        filt = self.anchor_filter
        recs = self.records
        if not recs:
            return features([], threads=self.threads, **args)
        parts = []
        for a in range(0, len(recs), FEATURE_BLOCK):
            block = recs[a:a + FEATURE_BLOCK]
            live = np.ones(len(block), dtype=bool) if self.early_alive is None else self.early_alive[a:a + FEATURE_BLOCK]
            f = features([content(r) if ok else SEP * 2 for r, ok in zip(block, live.tolist())], threads=self.threads,
                         fields=[code_fields(r) for r in block],
                         anchor_filter=filt, **args)
            ah, at = f.anchors
            off = np.int32(a)
            parts.append({"ah": ah, "at": at + off, "wh": f.word_ngrams[0], "wt": f.word_ngrams[1] + off,
                          "keys": f.exact_keys, "sig": f.signatures})
            del f
        cols = {k: _concat_pop(parts, k) for k in ("ah", "at", "wh", "wt", "keys", "sig")}
        return Features((cols["ah"], cols["at"]), (cols["wh"], cols["wt"]), cols["keys"], cols["sig"])

    def features(self, **overrides):
        """:class:`mulco.steps.text.Features` of the content of every record (computed once for
        the same settings; ``overrides`` of :attr:`feature_args` give another set)."""
        key = self._features_key(overrides)
        if key in self._pending:
            th, box = self._pending.pop(key)
            th.join()
            if "error" in box:
                raise box["error"]
            self._cache[key] = box["value"]
        return self.cached(key, lambda: self._make_features(overrides))


#: records per block of :meth:`Corpus._make_features`
FEATURE_BLOCK = 1 << 17


def _concat_pop(parts: list[dict], key: str):
    """Concatenate ``part[key]`` of every part, dropping each from its part once copied (so the
    result and the parts are never both whole in memory)."""
    if parts[0][key] is None:
        return None
    first = parts[0][key]
    out = np.empty((sum(len(p[key]) for p in parts),) + first.shape[1:], dtype=first.dtype)
    i = 0
    for p in parts:
        x = p.pop(key)
        out[i:i + len(x)] = x
        i += len(x)
    return out


@dataclass
class RecordStep:
    """A step applied to one record at a time: ``fn(record) -> None | reason | Flag``."""

    name: str
    fn: Callable[[dict], Optional[str]]

    def run(self, corpus: Corpus) -> Outcome:
        out = Outcome()
        fn, recs = self.fn, corpus.records
        for i in np.flatnonzero(corpus.alive).tolist():
            reason = fn(recs[i])
            if reason:
                if isinstance(reason, Flag):
                    out.flags.append((i, str(reason)))
                else:
                    out.drops.append((i, reason, None))
        return out


def reason_key(reason: str) -> str:
    """Group reasons for counting: the part before the first ':' (details stay in the quarantine)."""
    return reason.split(":", 1)[0].strip()


@dataclass
class StepResult:
    name: str
    records_in: int
    dropped: int
    flagged: int
    by_reason: dict
    by_source: dict
    flagged_by_reason: dict
    by_leaf: dict  # (task, subtask, lang, plang) -> dropped
    stats: dict
    seconds: float  # for benches; never written to the report (builds are byte-identical)


@dataclass
class Dropped:
    step: str
    reason: str
    matched: Optional[str]


def run_steps(corpus: Corpus, steps: Iterable, log: Callable[[str], None] | None = None) -> tuple[list[StepResult], dict[int, Dropped]]:
    """Run ``steps`` in order; a record dropped by a step is not seen by the next ones."""
    dropped: dict[int, Dropped] = {}
    steps = list(steps)
    n_early = 0
    while n_early < len(steps) and getattr(steps[n_early], "early", False):
        n_early += 1
    # the leading "early" steps (e.g. zh_twins: a record's own fields decide) run before any work
    # is started on the corpus, so that work skips what they drop
    results = [_run_one(corpus, step, dropped, log) for step in steps[:n_early]]
    if n_early:
        corpus.early_alive = corpus.alive.copy()
    for step in steps[n_early:]:  # e.g. start work in another process (before any thread exists: fork)
        prepare = getattr(step, "prepare", None)
        if prepare:
            prepare(corpus)
    if any(not isinstance(s, RecordStep) for s in steps[n_early:]):
        corpus.prefetch()  # shingles and signatures are computed while the record steps run
    results += [_run_one(corpus, step, dropped, log) for step in steps[n_early:]]
    return results, dropped


def _run_one(corpus: Corpus, step, dropped: dict[int, Dropped], log: Callable[[str], None] | None) -> StepResult:
    """Run one step on what is alive, mark its drops (into ``dropped``) and count them."""
    t0 = time.perf_counter()
    n_in = int(corpus.alive.sum())
    out = step.run(corpus)
    by_reason, by_source, by_leaf = collections.Counter(), collections.Counter(), collections.Counter()
    for i, reason, matched in out.drops:
        if not corpus.alive[i]:
            continue  # a step must not drop twice; keep the first
        corpus.alive[i] = False
        dropped[i] = Dropped(step.name, reason, matched)
        r = corpus.records[i]
        by_reason[reason_key(reason)] += 1
        by_source[corpus.sources[i]] += 1
        by_leaf[(r.get("task"), r.get("subtask"), r.get("lang"), r.get("plang"))] += 1
    flagged = collections.Counter(reason_key(reason) for _, reason in out.flags)
    res = StepResult(step.name, n_in, sum(by_reason.values()), len(out.flags), dict(sorted(by_reason.items())),
                     dict(sorted(by_source.items())), dict(sorted(flagged.items())), dict(by_leaf), out.stats,
                     time.perf_counter() - t0)
    if out.flags:
        examples = collections.defaultdict(list)
        for i, reason in out.flags:
            k = reason_key(reason)
            if len(examples[k]) < 5:
                examples[k].append(corpus.records[i].get("id"))
        res.stats = dict(res.stats, flag_examples=dict(sorted(examples.items())))
    if log:
        log(f"{step.name}: {res.dropped} dropped, {res.flagged} flagged of {n_in} ({res.seconds:.2f} s)")
    return res
