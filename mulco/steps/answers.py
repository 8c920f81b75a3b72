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
from .pipeline import SPLIT_RANK, Corpus, Outcome
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


@dataclass
class AnswerDedup:
    cfg: object  # DedupConfig
    name: str = "answer_dedup"

    def run(self, corpus: Corpus) -> Outcome:
        out = Outcome()
        cfg = self.cfg
        keep_n = int(cfg.prompts_per_answer)
        alive = np.flatnonzero(corpus.alive)
        nodes = alive[np.argsort(corpus.preference()[alive], kind="stable")]  # preference order
        recs = corpus.records
        nodes = np.array([i for i in nodes.tolist() if judged(recs[i], cfg.answer_min_words)], dtype=np.int64)
        short = sum(code_answer(recs[i]) and not _long(recs[i], cfg.answer_min_words) for i in nodes.tolist())
        out.stats.update(records_judged=int(len(nodes)), short_code_answers=int(short), prompts_per_answer=keep_n,
                         min_words=cfg.answer_min_words, threshold=cfg.dedup_threshold)
        if len(nodes) < 2:
            out.stats.update(groups=0, cross_split_groups=0, moved=0)
            return out
        f = features([answer_text(recs[i]) for i in nodes.tolist()], shingle_n=cfg.dedup_ngram,
                     num_perm=cfg.dedup_num_perm, seed=cfg.dedup_seed,
                     threads=corpus.threads, fields=[code_fields(recs[i]) for i in nodes.tolist()],
                     word_n=0, anchor_filter=np.zeros(0, dtype=np.uint64), keep=True)  # keys, signatures, tokens
        vals = [(recs[i].get("lang") or "", recs[i].get("task") or "", recs[i].get("subtask") or "") for i in nodes.tolist()]
        uniq = {v: k for k, v in enumerate(sorted(set(vals)))}
        group = np.fromiter((uniq[v] for v in vals), dtype=np.int64, count=len(vals))
        eu, ev = _exact_edges(f.exact_keys, group)
        # near: MinHash LSH over the answers (variables abstracted), then the pairs whose answers as
        # written are near duplicates by their exact Jaccard similarity (short answers, where a few
        # shingles make the estimate coarse)
        bands, rows = cfg.lsh_params()
        usable = ~(f.signatures == minhash.EMPTY).all(axis=1)
        u, v = minhash.candidate_edges(f.signatures, group, bands, rows, usable)
        ok = minhash.similarity(f.signatures, u, v) >= cfg.dedup_threshold
        xu, xv = _written_edges(_without_separators(f.tokens), group, cfg)
        lab = minhash.components(len(nodes), np.concatenate((eu, u[ok], xu)), np.concatenate((ev, v[ok], xv)))
        members: dict[int, list[int]] = collections.defaultdict(list)
        for node in range(len(nodes)):  # nodes in preference order, so each list is too
            members[int(lab[node])].append(node)
        splits = corpus.splits
        moved = cross = 0
        sizes = collections.Counter()
        largest = []
        for mem in members.values():
            if len(mem) < 2:
                continue
            idx = [int(nodes[m]) for m in mem]
            sizes[len(mem)] += 1
            if len({splits[i] for i in idx}) > 1:
                cross += 1
            kept_id = recs[idx[0]]["id"]
            largest.append((-len(mem), kept_id, idx[0]))
            target = splits[idx[0]]
            for rank, i in enumerate(idx):
                if rank >= keep_n:
                    out.drops.append((i, f"answer duplicate: same answer as {kept_id}", kept_id))
                elif splits[i] != target:
                    if corpus.sources[i] in HASH_SPLIT_SOURCES:
                        splits[i] = target
                        corpus.split_rank[i] = SPLIT_RANK.get(target, 2)
                        moved += 1
                    else:
                        out.drops.append((i, f"answer duplicate: same answer as {kept_id}, in split {target}",
                                          kept_id))
        out.drops.sort()
        if moved:
            corpus._cache.pop("preference", None)
        largest.sort()
        out.stats.update(
            groups=int(sum(sizes.values())), records_in_groups=int(sum(k * n for k, n in sizes.items())),
            size_histogram={str(k): n for k, n in sorted(sizes.items())}, cross_split_groups=cross, moved=moved,
            exact_pairs=int(len(eu)), near_pairs=int(ok.sum()), near_pairs_as_written=int(len(xu)),
            largest=[{"kept": kid, "size": -s, "source": corpus.sources[i], "task": recs[i].get("subtask") or recs[i]["task"],
                      "lang": recs[i].get("lang"), "plang": recs[i].get("plang")} for s, kid, i in largest[:10]],
            by_config=_by_config(recs, nodes, members, out.drops))
        return out


def _by_config(recs: list, nodes: np.ndarray, members: dict, drops: list) -> dict:
    """Per config (task or subtask, lang, plang) of the judged records: how many were judged, how
    many shared their answer (equal or near) with another one before the step, how many it dropped."""
    def name(i):
        r = recs[i]
        return ".".join(p for p in (r.get("subtask") or r.get("task"), r.get("lang"), r.get("plang") or "-") if p)
    judged_n = collections.Counter(name(i) for i in nodes.tolist())
    grouped = collections.Counter(name(int(nodes[m])) for mem in members.values() if len(mem) > 1 for m in mem)
    dropped = collections.Counter(name(i) for i, _, _ in drops)
    return {k: {"judged": n, "in_groups": grouped[k], "dropped": dropped[k]} for k, n in sorted(judged_n.items())}


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


def written(record: dict) -> str:
    """The answer as written: the input, a line break, the output (the tokens of
    :func:`answer_text` without its field separators)."""
    return f"{record.get('input') or ''}\n{record.get('output') or ''}"


def _without_separators(tok: Tokens) -> Tokens:
    """The tokens of :func:`answer_text` texts without the separator tokens: those of :func:`written`."""
    keep = tok.hash != U64(separator_hash())
    return Tokens(tok.hash[keep], tok.text[keep], tok.word[keep], tok.n_texts)


def _written_edges(tok: Tokens, group: np.ndarray, cfg) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of answers (tokens of :func:`written`) whose ``dedup_ngram``-token windows (no variable
    abstracted; a text shorter than that: one window) have an exact Jaccard similarity of at least
    ``dedup_threshold``; candidates from a MinHash LSH of those windows tuned for a lower threshold,
    so few near pairs are missed."""
    n = tok.n_texts
    h, t = ngrams(tok, cfg.dedup_ngram, short=True)
    order = np.lexsort((h, t))
    h, t = h[order], t[order].astype(np.int64)
    once = np.concatenate(([True], (h[1:] != h[:-1]) | (t[1:] != t[:-1]))) if len(h) else np.zeros(0, dtype=bool)
    h, t = h[once], t[once]  # each text's set of windows, texts in order
    starts = np.searchsorted(t, np.arange(n + 1))
    sizes = np.diff(starts)
    sig = minhash.signatures(h, t, n, num_perm=cfg.dedup_num_perm, seed=cfg.dedup_seed)
    bands, rows = minhash.optimal_bands(cfg.dedup_threshold * _WRITTEN_CANDIDATES, cfg.dedup_num_perm)
    u, v = minhash.candidate_edges(sig, group, bands, rows, sizes > 0)
    lo, hi = np.minimum(sizes[u], sizes[v]), np.maximum(sizes[u], sizes[v])
    maybe = lo >= cfg.dedup_threshold * hi  # |A ∩ B| / |A ∪ B| <= min(|A|, |B|) / max(|A|, |B|)
    u, v = u[maybe], v[maybe]
    inter = _intersections(h, starts, u, v)
    keep = inter >= cfg.dedup_threshold * (sizes[u] + sizes[v] - inter)
    return u[keep], v[keep]


def _intersections(h: np.ndarray, starts: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """|set u ∩ set v| for each pair, the sets being ``h[starts[i]:starts[i + 1]]`` (each without
    repeats): the elements of both sets of a pair, tagged with the pair, counted twice."""
    if not len(u):
        return np.zeros(0, dtype=np.int64)
    lengths = np.concatenate((starts[u + 1] - starts[u], starts[v + 1] - starts[v]))
    firsts = np.concatenate((starts[u], starts[v]))
    pair = np.concatenate((np.arange(len(u)), np.arange(len(v))))
    pos = np.repeat(firsts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
    tag = np.repeat(pair, lengths)
    key = mix(h[pos] ^ mix(tag.astype(np.uint64) + U64(1)))
    order = np.argsort(key, kind="stable")
    ks = key[order]
    return np.bincount(tag[order][np.flatnonzero(ks[1:] == ks[:-1])], minlength=len(u))


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
