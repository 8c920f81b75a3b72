"""The features of the whole corpus (shingles, word n-grams, exact keys, MinHash signatures),
computed block by block from :meth:`mulco.steps.pipeline.Corpus.content_blocks`."""
from __future__ import annotations

import numpy as np


def corpus_features(corpus, overrides: dict):
    """:func:`mulco.steps.text.features` of the content of all records, computed block by
    block (the same arrays as one call, without holding every content text nor, with
    :attr:`anchor_filter`, every anchor)."""
    from .text import SEP, Features, features

    args = dict(corpus.feature_args, **overrides)
    filt = corpus.anchor_filter
    if not len(corpus):
        return features([], threads=corpus.threads, **args)
    parts = []
    early = corpus.early_alive
    for idx, texts, fields in corpus.content_blocks():
        if early is not None:
            live = early[idx]
            texts = [t if ok else SEP * 2 for t, ok in zip(texts, live.tolist())]
        f = features(texts, threads=corpus.threads, fields=fields, anchor_filter=filt, **args)
        ah, at = f.anchors
        off = np.int32(idx[0])
        parts.append({"ah": ah, "at": at + off, "wh": f.word_ngrams[0], "wt": f.word_ngrams[1] + off,
                      "keys": f.exact_keys, "sig": f.signatures})
        del f
    cols = {k: _concat_pop(parts, k) for k in ("ah", "at", "wh", "wt", "keys", "sig")}
    return Features((cols["ah"], cols["at"]), (cols["wh"], cols["wt"]), cols["keys"], cols["sig"])




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


