"""Dedup and split grouping judged on what a model learns: the answer (input + output).

Exact and near dedup compare :func:`mulco.steps.text.content`, which keeps a free-form
instruction (CodeGPT-CN, CodeAlpaca: the instruction *is* the question). Two prompts worded
differently with the same answer are then different records, although a model trained on them
learns the same answer twice, and the two may sit on both sides of a split (the audit of
issue 11 found 116 CodeGPT-CN train/validation records with the input + output of a test record,
and 20 "read a file" prompts with one answer).

This step (``answer_dedup``, after ``near_dedup``) looks at the records whose instruction is
free-form (not one of MulCo's templates: for those, content already is the answer plus the
input) and whose answer is code (:data:`CODE_ANSWER`: any length, issue 20 found six C# prompts
in train with the two-line answer of a test record) or has at least ``answer_min_words`` words
(a short label-like answer such as ``True`` or ``O(n)`` answers many different questions and
says nothing about them):

* the **answer** of a record is its input and output (the instruction left out), tokenised and
  shingled as near dedup does (variables of code abstracted);
* records of one ``lang`` / ``task`` / ``subtask`` (any ``plang``: a wrong label must not hide a
  duplicate) whose answers are equal (same tokens) or near duplicates (MinHash LSH, the
  ``dedup_threshold``) form an **answer group**;
* **policy for several prompts with one answer**: a group keeps its ``prompts_per_answer``
  (default **1**) most preferred records (test, then validation, then train, then the smallest
  id) and drops the others with the kept record's id as ``matched``. One answer is learned once:
  twenty wordings of "read a file" that got one generic answer teach that answer twenty times
  and do not teach the model to tell the twenty questions apart;
* **group-aware split**: the records a group keeps all go to the split of its first record, so
  an answer is never on both sides of a split. A record whose split came from a hash (sources
  without their own split: :data:`HASH_SPLIT_SOURCES`) is moved; one whose split is its
  source's own (a CodeXGLUE file) cannot move and is dropped instead.

Cross-split answer matches are therefore 0 by construction; the stats give how many groups
spanned several splits before the step (``cross_split_groups``).
"""
from __future__ import annotations

import collections
import re
from dataclasses import dataclass

import numpy as np

from . import minhash
from .dedup import SETTINGS, DedupConfig
from .pipeline import Corpus, Outcome
from .spec import Section, StepSpec, ran_stats, row
from .text import SEP, U64, Tokens, code_fields, features, mix, ngrams, separator_hash, strip_template

#: sources whose split is a stable hash of the raw row (they have no split of their own), so a
#: record of theirs may move to the split of its answer group
HASH_SPLIT_SOURCES = ("codealpaca", "codegpt_cn", "codepro")
#: (task, subtask) whose answer is code (generation, repair, translation) or picks code (query to
#: code): equal answers form a group whatever their length (``answer_min_words`` is for the others)
CODE_ANSWER = frozenset({("code_generation", None), ("code_search", "code_repair"),
                         ("code_search", "code_translation"), ("code_search", "query_to_code")})
_WORD = re.compile(r"\w+")


def free_form(record: dict) -> bool:
    """The instruction is not one of MulCo's templates (it is the question itself)."""
    instr = record.get("instruction") or ""
    lang = record.get("lang")
    return lang in ("en", "zh") and strip_template(instr, lang) == instr


def answer_text(record: dict) -> str:
    """What is learned: the input and the output, in the layout of a content text with an empty
    instruction (so the code-field bits of :func:`mulco.steps.text.code_fields` apply)."""
    return f"{SEP}{record.get('input') or ''}{SEP}{record.get('output') or ''}"


def code_answer(record: dict) -> bool:
    """The record's answer is code (or picks code): its subtask is one of :data:`CODE_ANSWER`."""
    return (record.get("task"), record.get("subtask")) in CODE_ANSWER


def judged(record: dict, min_words: int) -> bool:
    """Whether the step judges ``record``: a free-form instruction, and an answer that is code
    (any length: ``int num = 123;`` is as specific as a function) or has ``min_words`` words (a
    short label-like answer such as ``True`` fits many questions)."""
    if not free_form(record):
        return False
    return code_answer(record) or _long(record, min_words)


def _long(record: dict, min_words: int) -> bool:
    return len(_WORD.findall(f"{record.get('input') or ''} {record.get('output') or ''}")) >= min_words


#: the fields the step reads of a record
_COLUMNS = ("instruction", "input", "output", "lang", "task", "subtask")
#: judged answers featurised at a time (at most this many, or about _BLOCK_CHARS characters): their
#: tokens and shingles are the step's working set (the tokeniser's arrays take ~30 bytes a
#: character: ~35 MB a block); per record it keeps hashes only
_BLOCK = 1 << 15
_BLOCK_CHARS = 1 << 20


@dataclass
class _Judged:
    """What the step keeps per judged record (in index order): no text, no token."""

    idx: np.ndarray  # int64: the record
    short: np.ndarray  # bool: a code answer of fewer than answer_min_words words
    keys: np.ndarray  # uint64: exact key of the answer
    usable: np.ndarray  # bool: the answer has shingles
    bands: np.ndarray  # (n, bands) uint64: LSH band hashes of its signature
    written_bands: np.ndarray  # (n, bands) uint64: band hashes of its windows as written
    written_sizes: np.ndarray  # int64: how many distinct windows as written


def _answer_features(texts: list[str], fields: list[int], cfg, threads: int) -> dict:
    """Features of a block of :func:`answer_text` texts: exact keys, signatures, and the sets of
    :func:`written` windows (from the same tokens, without the field separators)."""
    f = features(texts, shingle_n=cfg.dedup_ngram, num_perm=cfg.dedup_num_perm, seed=cfg.dedup_seed, threads=threads,
                 fields=fields, word_n=0, anchor_filter=np.zeros(0, dtype=np.uint64), keep=True)
    return {"keys": f.exact_keys, "sig": f.signatures, "windows": _window_sets(_without_separators(f.tokens), cfg.dedup_ngram)}


def _block_hashes(texts: list[str], fields: list[int], cfg, threads: int) -> tuple:
    """Per answer of a block: exact key, usable, band hashes, band hashes and size of its windows as written."""
    fb = _answer_features(texts, fields, cfg, threads)
    sig = fb["sig"]
    h, t, starts = fb["windows"]
    sizes = np.diff(starts)
    wsig = minhash.signatures(h, t, len(texts), num_perm=cfg.dedup_num_perm, seed=cfg.dedup_seed)
    return (fb["keys"], ~(sig == minhash.EMPTY).all(axis=1), minhash.band_hashes(sig, *cfg.lsh_params()),
            minhash.band_hashes(wsig, *_written_lsh(cfg)), sizes)


def _answer_blocks(corpus: Corpus, indices, columns, block: int, keep=None):
    """(records, answer texts, code fields) of the records ``indices`` (None: the alive ones) that
    ``keep`` accepts, read in index order, ``block`` answers or :data:`_BLOCK_CHARS` characters at a time."""
    rows, texts, fields, chars = [], [], [], 0
    for i, r in corpus.iter_records(indices, columns):
        if keep is not None and not keep(r):
            continue
        rows.append((i, r))
        texts.append(answer_text(r))
        fields.append(code_fields(r))
        chars += len(texts[-1])
        if len(texts) >= block or chars >= _BLOCK_CHARS:
            yield rows, texts, fields
            rows, texts, fields, chars = [], [], [], 0
    if texts:
        yield rows, texts, fields


def _judge(corpus: Corpus, cfg, block: int = _BLOCK) -> _Judged:
    """Read the alive records in index order (only :data:`_COLUMNS`) and hash the answers of the
    judged ones block by block (per block its arrays: nothing per record outlives its block)."""
    parts = []
    for rows, texts, fields in _answer_blocks(corpus, None, _COLUMNS, block,
                                              keep=lambda r: judged(r, cfg.answer_min_words)):
        parts.append((np.array([i for i, _ in rows], dtype=np.int64),
                      np.array([code_answer(r) and not _long(r, cfg.answer_min_words) for _, r in rows], dtype=bool),
                      *_block_hashes(texts, fields, cfg, corpus.threads)))
    if not parts:
        z = np.zeros(0, dtype=np.uint64)
        return _Judged(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool), z, np.zeros(0, dtype=bool),
                       np.zeros((0, cfg.lsh_params()[0]), dtype=np.uint64),
                       np.zeros((0, _written_lsh(cfg)[0]), dtype=np.uint64), np.zeros(0, dtype=np.int64))
    return _Judged(*(_concat_pop(parts, k) for k in range(7)))


def _concat_pop(parts: list, k: int) -> np.ndarray:
    """Concatenate item ``k`` of every part, letting go of each part's item once copied (the result
    and the parts are never both whole in memory)."""
    out = np.concatenate([p[k] for p in parts])
    for j, p in enumerate(parts):
        parts[j] = p[:k] + (None,) + p[k + 1:]
    return out


def _refetch(corpus: Corpus, rec_idx: np.ndarray, cfg, block: int = _BLOCK) -> tuple:
    """Signatures and window sets (as written) of the answers of the records ``rec_idx`` (sorted),
    computed again from their texts: those of the candidate pairs, the only ones compared."""
    sigs, hs, sizes = [], [], []
    for _, texts, fields in _answer_blocks(corpus, rec_idx, ("input", "output", "task", "subtask"), block):
        fb = _answer_features(texts, fields, cfg, corpus.threads)
        sigs.append(fb["sig"])
        h, _, starts = fb["windows"]
        hs.append(h)
        sizes.append(np.diff(starts))
    if not sigs:
        return np.zeros((0, cfg.dedup_num_perm), dtype=np.uint32), np.zeros(0, dtype=np.uint64), np.zeros(1, dtype=np.int64)
    size = np.concatenate(sizes)
    return np.concatenate(sigs), np.concatenate(hs), np.concatenate(([0], np.cumsum(size)))


@dataclass
class AnswerDedup:
    cfg: object  # DedupConfig
    name: str = "answer_dedup"
    block: int = _BLOCK  # judged answers featurised at a time (the result does not depend on it)

    def run(self, corpus: Corpus) -> Outcome:
        """Judged records are read once in index order and hashed block by block (:func:`_judge`);
        the LSH runs on band hashes with the nodes in preference order; the answers of the
        candidate pairs alone are read again to compare them (:func:`_refetch`). Drops are in bulk,
        naming the kept record of their group."""
        out = Outcome()
        cfg = self.cfg
        keep_n = int(cfg.prompts_per_answer)
        j = _judge(corpus, cfg, self.block)
        out.stats.update(records_judged=int(len(j.idx)), short_code_answers=int(j.short.sum()), prompts_per_answer=keep_n,
                         min_words=cfg.answer_min_words, threshold=cfg.dedup_threshold)
        if len(j.idx) < 2:
            out.stats.update(groups=0, cross_split_groups=0, moved=0)
            return out
        perm = np.argsort(corpus.preference()[j.idx], kind="stable")  # node k is judged record perm[k]
        nodes = j.idx[perm]
        n = len(nodes)
        group = _groups(corpus, nodes)
        eu, ev = _exact_edges(j.keys[perm], group)
        # near: MinHash LSH over the answers (variables abstracted), then the pairs whose answers as
        # written are near duplicates by their exact Jaccard similarity (short answers, where a few
        # shingles make the estimate coarse); the band hashes stay in index order, indexed in place
        # (at=perm: one band of the nodes copied at a time)
        bands, rows = cfg.lsh_params()
        u, v = minhash.candidate_edges(None, group, bands, rows, j.usable[perm], bh=j.bands, at=perm)
        sizes = j.written_sizes[perm]
        wu, wv = _written_candidates(j.written_bands, sizes, group, cfg, at=perm)
        del j
        need = np.unique(np.concatenate((u, v, wu, wv)))
        row = np.full(n, -1, dtype=np.int64)
        by_index = np.argsort(nodes[need])
        row[need[by_index]] = np.arange(len(need))  # rows of _refetch: the records in index order
        sig, h, starts = _refetch(corpus, nodes[need[by_index]], cfg, self.block)
        ok = minhash.similarity(sig, row[u], row[v]) >= cfg.dedup_threshold
        del sig
        inter = _intersections(h, starts, row[wu], row[wv])
        keep = inter >= cfg.dedup_threshold * (sizes[wu] + sizes[wv] - inter)
        xu, xv = wu[keep], wv[keep]
        del h, starts
        lab = minhash.components(n, np.concatenate((eu, u[ok], xu)), np.concatenate((ev, v[ok], xv)))
        moved, cross, grouped, dropped = self._groups_of(corpus, nodes, lab, keep_n, out)
        if moved:
            corpus._cache.pop("preference", None)
        heads, counts = np.unique(lab[grouped], return_counts=True)  # a group's label is its first node
        sizes_hist = collections.Counter(counts.tolist())
        out.stats.update(
            groups=int(len(heads)), records_in_groups=int(len(grouped)),
            size_histogram={str(k): c for k, c in sorted(sizes_hist.items())}, cross_split_groups=cross, moved=moved,
            exact_pairs=int(len(eu)), near_pairs=int(ok.sum()), near_pairs_as_written=int(len(xu)),
            largest=_largest(corpus, nodes[heads], counts),
            by_config=_by_config(corpus, nodes, nodes[grouped], dropped))
        return out

    def _groups_of(self, corpus: Corpus, nodes: np.ndarray, lab: np.ndarray, keep_n: int, out: Outcome) -> tuple:
        """Apply the policy to the groups (components of two nodes or more): each keeps its ``keep_n``
        first nodes, in the split of its first; the others are dropped naming the first. Returns
        (records moved, groups across splits, the grouped nodes, the dropped records)."""
        in_group = np.bincount(lab, minlength=len(lab))[lab] >= 2
        gn = np.flatnonzero(in_group)
        gn = gn[np.argsort(lab[gn], kind="stable")]  # group by group, each in preference order
        head = lab[gn]
        pos = np.arange(len(gn))
        first = np.ones(len(gn), dtype=bool)
        first[1:] = head[1:] != head[:-1]
        rank = pos - np.maximum.accumulate(np.where(first, pos, 0)) if len(gn) else pos
        rec, head_rec = nodes[gn], nodes[head]
        splits = corpus.splits
        target = splits.codes[head_rec]
        elsewhere = splits.codes[rec] != target
        cross = int(len(np.unique(head[elsewhere])))
        beyond = rank >= keep_n
        out.drop_bulk(rec[beyond], "answer duplicate: same answer as {id}", head_rec[beyond])
        hashed = np.isin(corpus.sources.codes[rec],
                         [k for k, s in enumerate(corpus.sources.names) if s in HASH_SPLIT_SOURCES])
        move = ~beyond & elsewhere & hashed
        stuck = ~beyond & elsewhere & ~hashed
        for code in np.unique(target[stuck]).tolist():
            m = stuck & (target == code)
            name = splits.names[code].replace("{", "{{").replace("}", "}}")
            out.drop_bulk(rec[m], f"answer duplicate: same answer as {{id}}, in split {name}", head_rec[m])
        for code in np.unique(target[move]).tolist():
            splits[rec[move & (target == code)]] = splits.names[code]  # split_rank follows (Labels.on_set)
        dropped = np.sort(rec[beyond | stuck])
        return int(move.sum()), cross, gn, dropped


def _groups(corpus: Corpus, nodes: np.ndarray) -> np.ndarray:
    """Per node the number of its (lang, task, subtask) among those of all nodes, sorted (any plang:
    a wrong label must not hide a duplicate)."""
    val = {c: (leaf[2] or "", leaf[0] or "", leaf[1] or "") for c, leaf in enumerate(corpus.leaf_names)}
    codes = corpus.leaf_codes[nodes]
    present = np.unique(codes).tolist()
    uniq = {v: k for k, v in enumerate(sorted({val[c] for c in present}))}
    lut = np.zeros(max(1, len(corpus.leaf_names)), dtype=np.int64)
    for c in present:
        lut[c] = uniq[val[c]]
    return lut[codes]


def _largest(corpus: Corpus, head_rec: np.ndarray, counts: np.ndarray, top: int = 10) -> list[dict]:
    """The ``top`` largest groups (then the smallest id of their kept record): ids are read only for
    the groups at least as large as the ``top``-th."""
    if not len(counts):
        return []
    least = np.sort(counts)[::-1][min(top, len(counts)) - 1]
    cand = np.flatnonzero(counts >= least)
    cand = cand[np.argsort(head_rec[cand])]
    ids = corpus.column("id", head_rec[cand])
    best = sorted(zip((-counts[cand]).tolist(), ids, head_rec[cand].tolist()))[:top]
    out = []
    for s, kid, i in best:
        task, subtask, lang, plang = corpus.leaf_of(i)
        out.append({"kept": kid, "size": -s, "source": corpus.sources[i], "task": subtask or task, "lang": lang,
                    "plang": plang})
    return out


def _by_config(corpus: Corpus, nodes: np.ndarray, grouped: np.ndarray, dropped: np.ndarray) -> dict:
    """Per config (task or subtask, lang, plang) of the judged records: how many were judged, how
    many shared their answer (equal or near) with another one before the step, how many it dropped."""
    names = [".".join(p for p in (subtask or task, lang, plang or "-") if p)
             for task, subtask, lang, plang in corpus.leaf_names]

    def count(idx):
        c = collections.Counter()
        for code, k in zip(*np.unique(corpus.leaf_codes[idx], return_counts=True)):
            c[names[code]] += int(k)
        return c

    judged_n, in_groups, drops = count(nodes), count(grouped), count(dropped)
    return {k: {"judged": n, "in_groups": in_groups[k], "dropped": drops[k]} for k, n in sorted(judged_n.items())}


def _exact_edges(exact_keys: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every node joined to the first (most preferred) node with its exact key in its group."""
    key = mix(exact_keys ^ (group.astype(np.uint64) * U64(0x9E3779B97F4A7C15)))
    order = np.argsort(key, kind="stable")
    ks = key[order]
    start = np.concatenate(([True], ks[1:] != ks[:-1]))
    first = order[np.maximum.accumulate(np.where(start, np.arange(len(ks)), 0))]
    return first[~start], order[~start]


#: candidates for the exact check come from an LSH tuned for this share of the threshold
_WRITTEN_CANDIDATES = 0.75


def _written_lsh(cfg) -> tuple[int, int]:
    """(bands, rows) of the LSH over the windows as written (tuned for a lower threshold, so few near
    pairs are missed)."""
    return minhash.optimal_bands(cfg.dedup_threshold * _WRITTEN_CANDIDATES, cfg.dedup_num_perm)


def written(record: dict) -> str:
    """The answer as written: the input, a line break, the output (the tokens of
    :func:`answer_text` without its field separators)."""
    return f"{record.get('input') or ''}\n{record.get('output') or ''}"


def _without_separators(tok: Tokens) -> Tokens:
    """The tokens of :func:`answer_text` texts without the separator tokens: those of :func:`written`."""
    keep = tok.hash != U64(separator_hash())
    return Tokens(tok.hash[keep], tok.text[keep], tok.word[keep], tok.n_texts)


def _window_sets(tok: Tokens, n_gram: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each text's set of ``n_gram``-token windows (no variable abstracted; a text shorter than that:
    one window): (hashes, texts, starts), each text's hashes sorted and without repeats, texts in
    order, text ``k``'s at ``starts[k]:starts[k + 1]``."""
    h, t = ngrams(tok, n_gram, short=True)
    order = np.lexsort((h, t))
    h, t = h[order], t[order].astype(np.int64)
    once = np.concatenate(([True], (h[1:] != h[:-1]) | (t[1:] != t[:-1]))) if len(h) else np.zeros(0, dtype=bool)
    h, t = h[once], t[once]
    return h, t, np.searchsorted(t, np.arange(tok.n_texts + 1))


def _written_candidates(bh: np.ndarray, sizes: np.ndarray, group: np.ndarray, cfg,
                        at: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs for the exact check: nodes sharing a band of their window signatures (band hashes
    ``bh``, of node ``k`` at row ``at[k]`` when given) whose set sizes allow a Jaccard similarity of
    ``dedup_threshold``."""
    bands, rows = _written_lsh(cfg)
    u, v = minhash.candidate_edges(None, group, bands, rows, sizes > 0, bh=bh, at=at)
    lo, hi = np.minimum(sizes[u], sizes[v]), np.maximum(sizes[u], sizes[v])
    maybe = lo >= cfg.dedup_threshold * hi  # |A ∩ B| / |A ∪ B| <= min(|A|, |B|) / max(|A|, |B|)
    return u[maybe], v[maybe]


def _written_edges(tok: Tokens, group: np.ndarray, cfg) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of answers (tokens of :func:`written`) whose ``dedup_ngram``-token windows (no variable
    abstracted; a text shorter than that: one window) have an exact Jaccard similarity of at least
    ``dedup_threshold``; candidates from a MinHash LSH of those windows tuned for a lower threshold,
    so few near pairs are missed. (All in memory: the step computes the same pairs from band hashes
    kept per record and the windows of the candidates alone.)"""
    n = tok.n_texts
    h, t, starts = _window_sets(tok, cfg.dedup_ngram)
    sizes = np.diff(starts)
    sig = minhash.signatures(h, t, n, num_perm=cfg.dedup_num_perm, seed=cfg.dedup_seed)
    u, v = _written_candidates(minhash.band_hashes(sig, *_written_lsh(cfg)), sizes, group, cfg)
    inter = _intersections(h, starts, u, v)
    keep = inter >= cfg.dedup_threshold * (sizes[u] + sizes[v] - inter)
    return u[keep], v[keep]


#: set elements compared at a time by :func:`_intersections` (its working set: ~60 bytes each)
_PAIR_ELEMENTS = 1 << 18


def _intersections(h: np.ndarray, starts: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """|set u ∩ set v| for each pair, the sets being ``h[starts[i]:starts[i + 1]]`` (each without
    repeats), for batches of pairs holding about :data:`_PAIR_ELEMENTS` elements (a pair of large
    sets is a batch of its own)."""
    if not len(u):
        return np.zeros(0, dtype=np.int64)
    total = np.cumsum(starts[u + 1] - starts[u] + starts[v + 1] - starts[v])
    cuts = np.searchsorted(total, np.arange(_PAIR_ELEMENTS, int(total[-1]), _PAIR_ELEMENTS), side="right")
    bounds = np.unique(np.concatenate(([0], cuts, [len(u)])))
    return np.concatenate([_pair_intersections(h, starts, u[a:b], v[a:b], a)
                           for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist())])


def _pair_intersections(h: np.ndarray, starts: np.ndarray, u: np.ndarray, v: np.ndarray, first: int) -> np.ndarray:
    """:func:`_intersections` of one batch, pairs ``first``, ``first + 1``, ...: the elements of both
    sets of a pair, tagged with the pair, counted twice."""
    lengths = np.concatenate((starts[u + 1] - starts[u], starts[v + 1] - starts[v]))
    firsts = np.concatenate((starts[u], starts[v]))
    pair = np.concatenate((np.arange(len(u)), np.arange(len(v)))) + first
    pos = np.repeat(firsts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
    tag = np.repeat(pair, lengths)
    key = mix(h[pos] ^ mix(tag.astype(np.uint64) + U64(1)))
    order = np.argsort(key, kind="stable")
    ks = key[order]
    return np.bincount(tag[order][np.flatnonzero(ks[1:] == ks[:-1])] - first, minlength=len(u))


def _section(results: list) -> dict | None:
    return ran_stats(results, AnswerDedup.name)


def _markdown(report) -> list[str]:
    ad = report.get("answer_dedup")
    if not ad:
        return []
    return ["## Answer groups", "",
            f"Records judged by their answer (input + output; free-form instructions, code answers of any length, "
            f"other answers of ≥ {ad.get('min_words')} words): {ad.get('records_judged', 0):,} (code answers under "
            f"{ad.get('min_words')} words among them: {ad.get('short_code_answers', 0):,}); groups of equal or near-duplicate answers: "
            f"{ad.get('groups', 0):,} holding {ad.get('records_in_groups', 0):,} records, of which "
            f"{ad.get('cross_split_groups', 0):,} spanned several splits. Kept per answer: "
            f"{ad.get('prompts_per_answer')} (all in one split; {ad.get('moved', 0):,} moved); dropped "
            f"{ad.get('dropped', 0):,}. Cross-split answer matches after the step: 0.", ""] + _config_rows(ad)


def _config_rows(ad) -> list[str]:
    rows = [(k, c) for k, c in (ad.get("by_config") or {}).items() if c.get("in_groups")]
    if not rows:
        return []
    out = ["| config | judged | sharing an answer (equal or near) before | dropped | sharing after |",
           "|---|---:|---:|---:|---:|"]
    keep = ad.get("prompts_per_answer", 1)
    for k, c in rows:
        before = c["in_groups"]
        out.append(row([k, c["judged"], f"{before:,} ({100 * before / max(c['judged'], 1):.1f}%)", c["dropped"],
                        "0" if keep == 1 else f"≤ {before - c['dropped']:,} (in one split per answer)"]))
    return out + [""]


#: answer dedup's entry of mulco.steps.registry.STEPS (its settings are dedup's)
STEP = StepSpec(AnswerDedup.name, lambda cfg, inputs: AnswerDedup(cfg), DedupConfig, enabled=lambda cfg: cfg.dedup_answers,
                settings=SETTINGS, section=Section("answer_dedup", _section, markdown=((60, _markdown),), place=50))
