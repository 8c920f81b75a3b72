"""The features of the whole corpus (shingles, word n-grams, exact keys, MinHash signatures),
computed block by block from :meth:`mulco.steps.pipeline.Corpus.content_blocks`.

What stays in memory is what the steps look up per record: the exact keys (8 bytes), the LSH
band hashes (8 bytes a band) and whether a record has a shingle. The signatures (512 bytes a
record at 128 slots) go to a :class:`mulco.steps.minhash.SignatureFile` in ``corpus.spill_dir``,
from which near dedup and leakage read the rows of their candidate pairs. Anchors and word
n-grams are kept only where a step said it looks them up (:attr:`Corpus.anchor_filter`,
:func:`keep_word_ngrams`).
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import numpy as np

#: the attribute of a corpus holding its :class:`WordFilter` (set by :func:`keep_word_ngrams`)
WORD_FILTER = "word_filter"


@dataclass
class WordFilter:
    """The word n-grams a step looks up: those whose hash is in ``exact`` (sorted uint64), and,
    for the records not in ``only_exact``, also those whose top 32 bits are in ``prefixes``
    (sorted uint32: a superset of a large reference set at 4 bytes a hash). Keeping a superset of
    what is looked up gives the same lookups."""

    exact: np.ndarray
    prefixes: np.ndarray
    only_exact: np.ndarray  # bool per record of the corpus

    def for_block(self, idx: np.ndarray):
        """The ``word_filter`` of :func:`mulco.steps.text.features` for the records ``idx`` (its
        texts are numbered within the block)."""
        only = self.only_exact[idx]

        def keep(h: np.ndarray, t: np.ndarray) -> np.ndarray:
            ok = in_sorted(h, self.exact)
            if len(self.prefixes):
                ok |= ~only[t] & in_sorted((h >> np.uint64(32)).astype(np.uint32), self.prefixes)
            return ok
        return keep


def in_sorted(x: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Which values of ``x`` are in the sorted array ``sorted_set``."""
    if not len(sorted_set) or not len(x):
        return np.zeros(len(x), dtype=bool)
    j = np.minimum(np.searchsorted(sorted_set, x), len(sorted_set) - 1)
    return sorted_set[j] == x


def keep_word_ngrams(corpus, flt: WordFilter | None) -> None:
    """Keep only the word n-grams ``flt`` marks in the features computed from now on (None: all)."""
    setattr(corpus, WORD_FILTER, flt)


def corpus_features(corpus, overrides: dict):
    """:func:`mulco.steps.text.features` of the content of all records, computed block by
    block: the same arrays as one call, without holding every content text, every signature
    (they go to a file), nor, with :attr:`anchor_filter` and :func:`keep_word_ngrams`, every
    anchor and word n-gram. With ``lsh_bands``/``lsh_rows`` among the feature settings the band
    hashes of the signatures are computed on the way (:attr:`Features.band_hashes`)."""
    from . import minhash
    from .text import SEP, Features, features

    args = dict(corpus.feature_args, **overrides)
    lsh = (int(args.pop("lsh_bands", 0) or 0), int(args.pop("lsh_rows", 0) or 0))
    lsh = lsh if lsh[0] and lsh[1] else None
    filt = corpus.anchor_filter
    words = getattr(corpus, WORD_FILTER, None)
    if not len(corpus):
        f = features([], threads=corpus.threads, **args)
        return _with_lsh(f, lsh, None if f.signatures is None else np.zeros(0, dtype=bool))
    sig_file = None
    if args.get("num_perm"):
        fd, path = tempfile.mkstemp(prefix="signatures-", suffix=".u32", dir=corpus.spill_dir)
        os.close(fd)
        sig_file = minhash.SignatureFile(path, args["num_perm"])
    n = len(corpus)
    keys = np.zeros(n, dtype=np.uint64)  # per record arrays are filled in place (never two copies)
    usable = np.zeros(n, dtype=bool) if sig_file is not None else None
    bh = np.zeros((n, lsh[0]), dtype=np.uint64) if lsh and sig_file is not None else None
    parts = []  # anchors and word n-grams, of unknown length: one part per block
    early = corpus.early_alive
    for idx, texts, fields in corpus.content_blocks():
        if early is not None:
            live = early[idx]
            texts = [t if ok else SEP * 2 for t, ok in zip(texts, live.tolist())]
        f = features(texts, threads=corpus.threads, fields=fields, anchor_filter=filt,
                     word_filter=None if words is None else words.for_block(idx), **args)
        del texts, fields
        at = slice(int(idx[0]), int(idx[0]) + len(idx))  # a block is a run of records
        off = np.int32(idx[0])
        parts.append({"ah": f.anchors[0], "at": f.anchors[1] + off, "wh": f.word_ngrams[0], "wt": f.word_ngrams[1] + off})
        keys[at] = f.exact_keys
        sig = f.signatures
        del f
        if sig is not None:
            usable[at] = (sig != minhash.EMPTY).any(axis=1)
            if bh is not None:
                bh[at] = minhash.band_hashes(sig, *lsh)
            sig_file.append(sig)
            del sig
    cols = {k: _concat_pop(parts, k) for k in ("ah", "at", "wh", "wt")}
    out = Features((cols["ah"], cols["at"]), (cols["wh"], cols["wt"]), keys, sig_file, usable=usable)
    if bh is not None:
        out.lsh, out.band_hashes = lsh, bh
    return out


def _with_lsh(f, lsh, usable):
    f.usable = usable
    if lsh and f.signatures is not None:
        from . import minhash

        f.lsh, f.band_hashes = lsh, minhash.band_hashes(f.signatures, *lsh)
    return f


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
