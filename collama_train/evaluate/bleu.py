"""BLEU the way CodeXGLUE's evaluators compute it, plus a character-level BLEU for Chinese.

- :func:`smoothed_bleu4`: CodeXGLUE code-to-text (``Code-Text/code-to-text/evaluator/bleu.py``,
  itself from the NIST ``mteval-v11a.pl`` port used by Deep Code Search): per sentence, the text is
  lowercased and split into word runs and single punctuation marks (``splitPuncts``), normalized
  again NIST-style, and scored with add-one smoothing on the 2-, 3- and 4-gram precisions and the
  brevity penalty ``min(0, 1 - (r+1)/(c+1))`` (``r`` = shortest reference length); the score is the
  mean of the sentence scores x 100. Re-implemented here (same steps, same order).
- :func:`corpus_bleu`: CodeXGLUE code-to-code (translation, refinement, text-to-code ``_bleu``):
  tensorflow/nmt ``compute_bleu`` over white-space tokens, corpus level, ``smooth=True``
  (Lin & Och 2004: (m+1)/(n+1) for every order), x 100.
- :func:`zh_bleu`: ``sacrebleu`` corpus BLEU with ``tokenize="zh"`` (each CJK character is a token),
  since a Chinese sentence is not white-space separated.
"""
from __future__ import annotations

import math
import re
import sys
import xml.sax.saxutils
from collections import Counter
from typing import Sequence

_TINY = sys.float_info.min

# NIST normalization (mteval-v11a): language-independent, then the "western" punctuation split.
_NORM1 = [(re.compile(r"<skipped>"), ""), (re.compile(r"-\n"), ""), (re.compile(r"\n"), " ")]
_NORM2 = [
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),  # punctuation (no apostrophe)
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),  # period/comma unless after a digit
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),  # period/comma unless before a digit
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),  # dash after a digit
]
_WORDS_PUNCT = re.compile(r"[\w]+|[^\s\w]")


def split_puncts(text: str) -> str:
    """CodeXGLUE ``splitPuncts``: word runs and single punctuation marks, joined by spaces."""
    return " ".join(_WORDS_PUNCT.findall(text))


def nist_tokens(text: str) -> list[str]:
    """CodeXGLUE ``normalize`` (NIST tokenization, lowercased)."""
    for pat, rep in _NORM1:
        text = pat.sub(rep, text)
    text = xml.sax.saxutils.unescape(text, {"&quot;": '"'})
    text = f" {text} ".lower()
    for pat, rep in _NORM2:
        text = pat.sub(rep, text)
    return text.split()


def _ngrams(tokens: Sequence[str], n: int = 4) -> Counter:
    out: Counter = Counter()
    for k in range(1, n + 1):
        for i in range(len(tokens) - k + 1):
            out[tuple(tokens[i:i + k])] += 1
    return out


def sentence_smoothed_bleu(references: Sequence[str], hypothesis: str, n: int = 4) -> float:
    """One sentence's smoothed BLEU in [0, 1] (CodeXGLUE ``bleu(refs, candidate)[0]``), on texts
    that already went through :func:`split_puncts` of the lowercased string."""
    ref_tokens = [nist_tokens(r) for r in references]
    max_counts: Counter = Counter()
    for toks in ref_tokens:
        for gram, c in _ngrams(toks, n).items():
            if c > max_counts[gram]:
                max_counts[gram] = c
    hyp = nist_tokens(hypothesis)
    reflen = min(len(t) for t in ref_tokens)  # eff_ref_len = "shortest"
    log_bleu = 0.0
    hyp_counts = _ngrams(hyp, n)
    for k in range(1, n + 1):
        guess = max(len(hyp) - k + 1, 0)
        correct = sum(min(max_counts.get(g, 0), c) for g, c in hyp_counts.items() if len(g) == k)
        add = 1 if k > 1 else 0
        log_bleu += math.log(correct + add + _TINY) - math.log(guess + add + _TINY)
    log_bleu /= n
    log_bleu += min(0.0, 1 - (reflen + 1) / (len(hyp) + 1))
    return math.exp(log_bleu)


def smoothed_bleu4(predictions: Sequence[str], references: Sequence[str]) -> float:
    """CodeXGLUE code-to-text BLEU-4: the mean smoothed sentence BLEU x 100 (one reference each)."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    if not predictions:
        return 0.0
    total = 0.0
    for pred, ref in zip(predictions, references):
        total += sentence_smoothed_bleu([split_puncts(ref.strip().lower())], split_puncts(pred.strip().lower()))
    return total * 100.0 / len(predictions)


def corpus_bleu(predictions: Sequence[str], references: Sequence[str], max_order: int = 4,
                smooth: bool = True) -> float:
    """CodeXGLUE code-to-code ``_bleu``: corpus BLEU over white-space tokens x 100."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    matches = [0] * max_order
    possible = [0] * max_order
    ref_len = hyp_len = 0
    for pred, ref in zip(predictions, references):
        hyp, rtoks = pred.split(), ref.split()
        ref_len += len(rtoks)
        hyp_len += len(hyp)
        overlap = _ngrams(hyp, max_order) & _ngrams(rtoks, max_order)
        for gram, c in overlap.items():
            matches[len(gram) - 1] += c
        for k in range(1, max_order + 1):
            if len(hyp) - k + 1 > 0:
                possible[k - 1] += len(hyp) - k + 1
    if smooth:
        precisions = [(m + 1.0) / (p + 1.0) for m, p in zip(matches, possible)]
    else:
        precisions = [m / p if p else 0.0 for m, p in zip(matches, possible)]
    if min(precisions) <= 0 or ref_len == 0:
        return 0.0
    geo = math.exp(sum(math.log(p) for p in precisions) / max_order)
    ratio = hyp_len / ref_len
    bp = 1.0 if ratio > 1.0 else (math.exp(1 - 1.0 / ratio) if ratio > 0 else 0.0)
    return 100.0 * geo * bp


def zh_bleu(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Character-level corpus BLEU for Chinese: ``sacrebleu`` with ``tokenize="zh"`` (0-100)."""
    import sacrebleu

    if not predictions:
        return 0.0
    return float(sacrebleu.corpus_bleu(list(predictions), [list(references)], tokenize="zh").score)
