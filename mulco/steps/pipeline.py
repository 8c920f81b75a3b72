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

Memory stays flat as the corpus grows (docs/scale.md): the records stay on disk in a
:class:`mulco.store.RecordStore` and are read batch by batch (consecutive record steps share one
pass); per record the corpus keeps only small arrays (alive, split, source and leaf codes, the
preference rank, the step that dropped it), and steps that drop many records name what they
matched by record number (:meth:`Outcome.drop_bulk`), the ids being read only when the
quarantine is written.
"""
from __future__ import annotations

import collections
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np

SPLIT_RANK = {"test": 0, "validation": 1, "train": 2}  # the order a duplicate cluster keeps


class Flag(str):
    """A reason that flags a record without dropping it."""


@dataclass
class Bulk:
    """Drops that share one reason naming another record: record ``idx[k]`` is dropped with
    ``reason.format(id=ID)`` and ``matched`` ID, ID being the id of record ``matched[k]`` (no string
    per drop is made before the quarantine is written); where ``matched[k]`` is :data:`NO_MATCH`,
    with ``reason`` as it is and no ``matched``."""

    idx: np.ndarray
    reason: str
    matched: np.ndarray


@dataclass
class Outcome:
    drops: list[tuple[int, str, Optional[str]]] = field(default_factory=list)  # (index, reason, matched)
    flags: list[tuple[int, str]] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    bulk: list[Bulk] = field(default_factory=list)  # drops in bulk (dedup): see Bulk

    def drop_bulk(self, idx, reason: str, matched) -> None:
        """Drop the records ``idx``, each as a duplicate of record ``matched[k]`` (see :class:`Bulk`)."""
        idx = np.asarray(idx, dtype=np.int64)
        if len(idx):
            self.bulk.append(Bulk(idx, reason, np.asarray(matched, dtype=np.int64)))

    def drop_many(self, idx, reason: str) -> None:
        """Drop the records ``idx`` with one ``reason`` that names no record."""
        idx = np.asarray(idx, dtype=np.int64)
        if len(idx):
            self.bulk.append(Bulk(idx, reason, np.full(len(idx), NO_MATCH, dtype=np.int64)))


#: :attr:`Bulk.matched` of a drop that names no record (its reason is used as it is)
NO_MATCH = -1


class Labels(Sequence):
    """A label per record (its split, its source) as small integer codes and the names they stand
    for: ``labels[i]`` is a name; ``labels[i] = name`` recodes. No Python object per record."""

    def __init__(self, codes: np.ndarray, names: list[str], on_set: Callable[[int, str], None] | None = None):
        self.codes, self.names, self._on_set = codes, list(names), on_set

    @classmethod
    def of(cls, values: Iterable[str], n: int, first: Sequence[str] = (), on_set=None) -> "Labels":
        names: dict = {v: k for k, v in enumerate(first)}
        codes = np.fromiter((names.setdefault(v, len(names)) for v in values), dtype=np.int16, count=n)
        return cls(codes, list(names), on_set)

    def code(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            self.names.append(name)
            return len(self.names) - 1

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self.names[c] for c in self.codes[i].tolist()]
        return self.names[self.codes[i]]

    def __setitem__(self, i, name: str) -> None:
        self.codes[i] = self.code(name)
        if self._on_set is not None:
            self._on_set(i, name)

    def __iter__(self):
        names = self.names
        return (names[c] for c in self.codes.tolist())

    def array(self) -> np.ndarray:
        """The names as a numpy array of strings (one per record)."""
        return np.array(self.names, dtype=object)[self.codes] if len(self.codes) else np.zeros(0, dtype=object)

    def mask(self, names: Iterable[str]) -> np.ndarray:
        """Records whose label is one of ``names``."""
        want = [k for k, v in enumerate(self.names) if v in set(names)]
        return np.isin(self.codes, want)


SPLITS = ("test", "validation", "train")
LEAF_FIELDS = ("task", "subtask", "lang", "plang")


class Corpus:
    """The records of the quality steps and what the steps share about them.

    The records live in a :class:`mulco.store.RecordStore` (on disk in a build; ``Corpus(list, ...)``
    makes one in memory). Per record only arrays stay in memory: alive, split, source, leaf. Read the
    records sequentially (:meth:`iter_records`, :meth:`column`, :meth:`content_blocks`);
    ``corpus.records[i]`` works but decodes the record's batch."""

    def __init__(self, records, splits: Sequence[str] | None = None, sources: Sequence[str] | None = None,
                 threads: int = 2, feature_args: dict | None = None, spill_dir: Path | None = None):
        from ..store import RecordStore

        if isinstance(records, RecordStore):
            self.store = records
        else:
            records = list(records)
            self.store = RecordStore.from_records(records, list(splits))
        n = len(self.store)
        if splits is None:  # read batch by batch: no list of every split
            splits = (v for _, rb in self.store.iter_batches(["split"]) for v in rb.column(0).to_pylist())
        self.split_rank = np.empty(n, dtype=np.int8)
        self.splits = Labels.of(splits, n, SPLITS, on_set=self._split_set)
        ranks = np.array([SPLIT_RANK.get(s, 2) for s in self.splits.names], dtype=np.int8)
        self.split_rank[:] = ranks[self.splits.codes] if n else 0
        if sources is None:
            raise ValueError("Corpus needs the source of every record")
        self.sources = sources if isinstance(sources, Labels) else Labels.of(sources, n)
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
        #: the word n-grams :meth:`features` keeps (a :class:`mulco.steps.featurize.WordFilter`, set
        #: by a step's ``prepare`` with :func:`mulco.steps.featurize.keep_word_ngrams`); None keeps all
        self.word_filter = None
        self._spill_dir = spill_dir
        self._own_spill: Optional[str] = None
        self._cache: dict = {}
        self._pending: dict = {}
        leaves: dict = {}
        codes = np.empty(n, dtype=np.int32)
        for start, rb in self.store.iter_batches(LEAF_FIELDS):
            cols = [rb.column(k).to_pylist() for k in range(len(LEAF_FIELDS))]
            codes[start:start + rb.num_rows] = [leaves.setdefault(k, len(leaves)) for k in zip(*cols)]
        #: per record the index of its (task, subtask, lang, plang) in :attr:`leaf_names`
        self.leaf_codes = codes
        self.leaf_names: list[tuple] = list(leaves)

    def _split_set(self, i, name: str) -> None:
        self.split_rank[i] = SPLIT_RANK.get(name, 2)

    @property
    def records(self):
        """The records (a :class:`mulco.store.RecordStore`: ``records[i]`` decodes a batch; prefer
        :meth:`iter_records`)."""
        return self.store

    @property
    def spill_dir(self) -> Path:
        """A folder for the steps' large arrays on disk (the build's staging folder, or a temporary
        folder removed with the corpus)."""
        if self._spill_dir is None:
            import tempfile
            import weakref

            self._own_spill = tempfile.mkdtemp(prefix="mulco-spill-")
            self._spill_dir = Path(self._own_spill)
            import shutil

            weakref.finalize(self, shutil.rmtree, self._own_spill, True)
        self._spill_dir.mkdir(parents=True, exist_ok=True)
        return self._spill_dir

    def iter_records(self, indices: np.ndarray | None = None, columns: Sequence[str] | None = None):
        """(i, record) for the sorted ``indices`` (default: the alive records), read batch by batch;
        only ``columns`` when given."""
        idx = np.flatnonzero(self.alive) if indices is None else np.asarray(indices, dtype=np.int64)
        return self.store.iter_records(idx, columns)

    def column(self, name: str, indices: np.ndarray | None = None) -> list:
        """One field of every record (or of the sorted ``indices``), read column by column."""
        return self.store.column(name, indices)

    def leaf_of(self, i: int) -> tuple:
        """(task, subtask, lang, plang) of record ``i``."""
        return self.leaf_names[self.leaf_codes[i]]

    def content_blocks(self, mask: np.ndarray | None = None, block: int | None = None):
        """(indices, content texts, code fields) of the records in ``mask`` (default: all), in order,
        ``block`` records at a time (default :data:`FEATURE_BLOCK`)."""
        from .text import code_fields, content

        block = block or FEATURE_BLOCK
        idx_all = np.arange(len(self)) if mask is None else np.flatnonzero(mask)
        cols = ("instruction", "input", "output", "lang", "task", "subtask")
        for a in range(0, len(idx_all), block):
            idx = idx_all[a:a + block]
            texts, fields = [], []
            for _, r in self.store.iter_records(idx, cols):
                texts.append(content(r))
                fields.append(code_fields(r))
            yield idx, texts, fields

    def __len__(self) -> int:
        return len(self.store)

    def cached(self, key, make: Callable[[], Any]):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def ids(self) -> list[str]:
        """Every record's id (a list of strings: prefer :meth:`column` of the indices needed)."""
        return [str(v) for v in self.column("id")]

    def preference(self) -> np.ndarray:
        """rank[i]: position of record i when records are ordered test < validation < train, then id."""
        def make():
            import pyarrow as pa
            import pyarrow.compute as pc

            n = len(self)
            if not n:
                return np.zeros(0, dtype=np.int64)
            ids = pc.fill_null(self.store.arrow_column("id"), "None")
            order = pc.sort_indices(pa.table({"r": self.split_rank, "id": ids}),
                                    sort_keys=[("r", "ascending"), ("id", "ascending")]).to_numpy()
            rank = np.empty(n, dtype=np.int64)
            rank[order] = np.arange(n)
            return rank
        return self.cached("preference", make)

    def content(self) -> list[str]:
        """The :func:`mulco.steps.text.content` of every record (a list of every text: prefer
        :meth:`content_blocks`)."""
        return self.cached("content", lambda: [t for _, texts, _ in self.content_blocks() for t in texts])

    def content_of(self, i: int) -> str:
        from .text import content

        return self._cache["content"][i] if "content" in self._cache else content(self.store[i])

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
        return ("features", tuple(sorted(dict(self.feature_args, **overrides).items())), filt, id(self.word_filter))

    def _make_features(self, overrides: dict):
        """:func:`mulco.steps.text.features` of the content of all records, block by block
        (:func:`mulco.steps.featurize.corpus_features`)."""
        from .featurize import corpus_features

        return corpus_features(self, overrides)

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


#: records per block of :meth:`Corpus.content_blocks` (and of the features): the texts, tokens and
#: signatures of one block are the feature pass's working set (131k records a block made it ~0.4 GB)
FEATURE_BLOCK = 1 << 14


@dataclass
class RecordStep:
    """A step applied to one record at a time: ``fn(record) -> None | reason | Flag``."""

    name: str
    fn: Callable[[dict], Optional[str]]

    def run(self, corpus: Corpus) -> Outcome:
        return run_record_steps(corpus, [self])[0]


def run_record_steps(corpus: Corpus, steps: Sequence[RecordStep], on_done=None) -> list[Outcome]:
    """Run record steps in one pass over the alive records (each record read once): a record a step
    drops is not seen by the later ones, as if they ran one after another. ``on_done(k, outcome)`` is
    called for step ``k`` once the pass is over, in order."""
    outs = [Outcome() for _ in steps]
    fns = [s.fn for s in steps]
    spent = [0.0] * len(steps)
    clock = time.perf_counter
    for i, r in corpus.iter_records():
        for k, fn in enumerate(fns):
            t = clock()
            reason = fn(r)
            spent[k] += clock() - t
            if reason:
                if isinstance(reason, Flag):
                    outs[k].flags.append((i, str(reason)))
                else:
                    outs[k].drops.append((i, reason, None))
                    break
    for k, o in enumerate(outs):
        o.stats["_seconds"] = spent[k]
    return outs


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


class Drops:
    """Which step dropped each record, and why: ``i in drops``, ``drops[i]`` (a :class:`Dropped`),
    ``sorted(drops)``. Kept as an array of step numbers and, per step, its drops (in bulk where the
    step gave them so), so a large corpus holds no object per dropped record."""

    def __init__(self, corpus: Corpus):
        self.corpus = corpus
        self.step = np.full(len(corpus), -1, dtype=np.int16)
        self.names: list[str] = []
        self._single: list[dict[int, tuple[str, Optional[str]]]] = []
        self._bulk: list[list[Bulk]] = []
        self._table = None

    def add(self, name: str, single: dict, bulk: list[Bulk]) -> None:
        k = len(self.names)
        self.names.append(name)
        self._single.append(single)
        self._bulk.append(bulk)
        self._table = None
        for i in single:
            self.step[i] = k
        for b in bulk:
            self.step[b.idx] = k

    def __contains__(self, i) -> bool:
        return 0 <= i < len(self.step) and self.step[i] >= 0

    def __len__(self) -> int:
        return int((self.step >= 0).sum())

    def __iter__(self):
        return iter(np.flatnonzero(self.step >= 0).tolist())

    def items(self):
        return self.in_order()

    def values(self):
        return (d for _, d in self.in_order())

    def keys(self):
        return list(self)

    def __getitem__(self, i: int) -> Dropped:
        if i not in self:
            raise KeyError(i)
        return next(self.in_order(np.array([i], dtype=np.int64)))[1]

    def _bulk_table(self):
        """Every bulk drop as arrays sorted by record: (idx, step, bulk number, matched record)."""
        if self._table is None:
            parts = [(b.idx, np.full(len(b.idx), k, np.int32), np.full(len(b.idx), n, np.int32), b.matched)
                     for k, bulks in enumerate(self._bulk) for n, b in enumerate(bulks)]
            if parts:
                cols = [np.concatenate([p[c] for p in parts]) for c in range(4)]
                o = np.argsort(cols[0], kind="stable")
                self._table = tuple(c[o] for c in cols)
            else:
                z = np.zeros(0, dtype=np.int64)
                self._table = (z, z, z, z)
        return self._table

    def in_order(self, indices: np.ndarray | None = None):
        """(i, :class:`Dropped`) of every dropped record (or of the sorted ``indices``), in index order;
        the ids the bulk reasons name are read once, column by column."""
        idx = np.flatnonzero(self.step >= 0) if indices is None else np.asarray(indices, dtype=np.int64)
        bi, bs, bn, bm = self._bulk_table()
        pos = np.minimum(np.searchsorted(bi, idx), max(len(bi) - 1, 0))
        found = (bi[pos] == idx) & (bs[pos] == self.step[idx]) if len(bi) else np.zeros(len(idx), dtype=bool)
        need = np.unique(bm[pos[found]]) if found.any() else np.zeros(0, dtype=np.int64)
        need = need[need != NO_MATCH]
        ids = dict(zip(need.tolist(), self.corpus.column("id", need))) if len(need) else {}
        for i, p, f in zip(idx.tolist(), pos.tolist(), found.tolist()):
            k = int(self.step[i])
            if not f:
                reason, matched = self._single[k][i]
                yield i, Dropped(self.names[k], reason, matched)
            elif bm[p] == NO_MATCH:
                yield i, Dropped(self.names[k], self._bulk[k][int(bn[p])].reason, None)
            else:
                rid = ids[int(bm[p])]
                yield i, Dropped(self.names[k], self._bulk[k][int(bn[p])].reason.format(id=rid), rid)


def run_steps(corpus: Corpus, steps: Iterable, log: Callable[[str], None] | None = None) -> tuple[list[StepResult], Drops]:
    """Run ``steps`` in order; a record dropped by a step is not seen by the next ones. Consecutive
    record steps run in one pass over the records."""
    dropped = Drops(corpus)
    steps = list(steps)
    n_early = 0
    while n_early < len(steps) and getattr(steps[n_early], "early", False):
        n_early += 1
    # the leading "early" steps (e.g. zh_twins: a record's own fields decide) run before any work
    # is started on the corpus, so that work skips what they drop
    results = _run_all(corpus, steps[:n_early], dropped, log)
    if n_early:
        corpus.early_alive = corpus.alive.copy()
    for step in steps[n_early:]:  # e.g. start work in another process (before any thread exists: fork)
        prepare = getattr(step, "prepare", None)
        if prepare:
            prepare(corpus)
    if any(not isinstance(s, RecordStep) for s in steps[n_early:]):
        corpus.prefetch()  # shingles and signatures are computed while the record steps run
    results += _run_all(corpus, steps[n_early:], dropped, log)
    return results, dropped


def _run_all(corpus: Corpus, steps: list, dropped: Drops, log) -> list:
    """Run ``steps`` in order, each run of consecutive record steps in one pass."""
    results = []
    k = 0
    while k < len(steps):
        if not isinstance(steps[k], RecordStep):
            results.append(_run_one(corpus, steps[k], dropped, log))
            k += 1
            continue
        j = k
        while j < len(steps) and isinstance(steps[j], RecordStep):
            j += 1
        group = steps[k:j]
        n_in = int(corpus.alive.sum())
        outs = run_record_steps(corpus, group)
        for step, out in zip(group, outs):
            seconds = out.stats.pop("_seconds", 0.0)
            res = _account(corpus, step, out, dropped, n_in, seconds, log)
            n_in -= res.dropped
            results.append(res)
        k = j
    return results


def _run_one(corpus: Corpus, step, dropped: Drops, log: Callable[[str], None] | None) -> StepResult:
    """Run one step on what is alive, mark its drops (into ``dropped``) and count them."""
    t0 = time.perf_counter()
    n_in = int(corpus.alive.sum())
    out = step.run(corpus)
    return _account(corpus, step, out, dropped, n_in, time.perf_counter() - t0, log)


def _take_drops(corpus: Corpus, out: Outcome) -> tuple[dict, list[Bulk]]:
    """Mark the drops of ``out`` (not alive any more) and return them compactly: the drops naming a
    matched item of their own (record -> (reason, matched)) and bulks (the step's, and one per reason
    of its other drops, so no object per dropped record is kept). A record is dropped once: the
    first drop counts."""
    single: dict[int, tuple[str, Optional[str]]] = {}
    plain: dict[str, list[int]] = {}  # reason -> records: drops with a reason and nothing matched
    for i, reason, matched in out.drops:
        if not corpus.alive[i]:
            continue
        corpus.alive[i] = False
        if matched is None:
            plain.setdefault(reason, []).append(i)
        else:
            single[i] = (reason, matched)
    out.drops = []
    bulks = []
    for b in out.bulk:
        ok = corpus.alive[b.idx]
        if not ok.all():
            b = Bulk(b.idx[ok], b.reason, b.matched[ok])
        corpus.alive[b.idx] = False
        bulks.append(b)
    for reason, rows in plain.items():
        bulks.append(Bulk(np.array(rows, dtype=np.int64), reason, np.full(len(rows), NO_MATCH, dtype=np.int64)))
    return single, bulks


def _account(corpus: Corpus, step, out: Outcome, dropped: Drops, n_in: int, seconds: float, log) -> StepResult:
    by_reason, by_source, by_leaf = collections.Counter(), collections.Counter(), collections.Counter()
    single, keep_bulk = _take_drops(corpus, out)
    for b in keep_bulk:
        by_reason[reason_key(b.reason)] += len(b.idx)
    for reason, _ in single.values():
        by_reason[reason_key(reason)] += 1
    idx = np.fromiter(single, dtype=np.int64, count=len(single))
    every = np.concatenate([idx] + [b.idx for b in keep_bulk]) if keep_bulk else idx
    for code, c in zip(*np.unique(corpus.sources.codes[every], return_counts=True)):
        by_source[corpus.sources.names[code]] += int(c)
    for code, c in zip(*np.unique(corpus.leaf_codes[every], return_counts=True)):
        by_leaf[corpus.leaf_names[code]] += int(c)
    dropped.add(step.name, single, keep_bulk)
    flagged = collections.Counter(reason_key(reason) for _, reason in out.flags)
    res = StepResult(step.name, n_in, sum(by_reason.values()), len(out.flags), dict(sorted(by_reason.items())),
                     dict(sorted(by_source.items())), dict(sorted(flagged.items())), dict(by_leaf), out.stats, seconds)
    if out.flags:
        examples = collections.defaultdict(list)
        want = []
        for i, reason in out.flags:
            k = reason_key(reason)
            if len(examples[k]) < 5:
                examples[k].append(i)
                want.append(i)
        ids = dict(zip(sorted(set(want)), corpus.column("id", np.array(sorted(set(want)), dtype=np.int64))))
        examples = {k: [ids[i] for i in v] for k, v in examples.items()}
        res.stats = dict(res.stats, flag_examples=dict(sorted(examples.items())))
    if log:
        log(f"{step.name}: {res.dropped} dropped, {res.flagged} flagged of {n_in} ({res.seconds:.2f} s)")
    return res
