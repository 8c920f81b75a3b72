"""CodeXGLUE's evaluator rules, written again from their definitions for the parity tests (and
``bench/bench_parity.py``), independently of ``collama_train.evaluate``: nothing here imports it.

Each function names the evaluator script whose rule it follows; the numbers carry over, the code
does not (no line of the official scripts is copied).

- code-to-code (refinement, translation) and text-to-code ``evaluator.py`` + ``bleu.py``:
  one prediction per line; BLEU is tensorflow/nmt ``compute_bleu`` (max order 4, smooth) over
  ``line.strip().split()``, printed ``round(100 * bleu, 2)``; refinement/translation EM is
  ``ref.strip() == pred.strip()`` on the lines, text-to-code EM ``pred.split() == gt.split()``.
- code completion (line level) ``evaluator.py``: ``fuzz.ratio(pred, gt)`` (fuzzywuzzy with
  python-Levenshtein: ``int(round(100 * (lensum - indel) / lensum))``; equal strings 100, one empty 0)
  and ``pred.split() == gt.split()``.
- BigCloneBench ``evaluator.py``: sklearn ``precision_score``/``recall_score``/``f1_score`` (binary,
  positive label 1); Devign ``evaluator.py``: accuracy; ClozeTest ``evaluator.py``: accuracy of
  ``pred == answer``.
"""
from __future__ import annotations

import math
from collections import Counter

#: the labels an evaluator can read in raw text (the MulCo templates' answers)
LABELS = {"Yes": 1, "No": 0, "是": 1, "否": 0}


def one_line(text: str) -> str:
    """A prediction as the evaluators read it: one line of the predictions file, stripped."""
    return text.replace("\r\n", "\n").replace("\n", " ").strip()


def _grams(tokens, n):
    c = Counter()
    for k in range(1, n + 1):
        for i in range(len(tokens) - k + 1):
            c[tuple(tokens[i:i + k])] += 1
    return c


def nmt_bleu(predictions, references, max_order=4, smooth=True):
    """tensorflow/nmt compute_bleu over white-space tokens, x 100 (unrounded)."""
    matches = [0] * max_order
    possible = [0] * max_order
    ref_len = hyp_len = 0
    for p, r in zip(predictions, references):
        hyp, ref = one_line(p).split(), one_line(r).split()
        ref_len += len(ref)
        hyp_len += len(hyp)
        common = _grams(hyp, max_order) & _grams(ref, max_order)
        for g, c in common.items():
            matches[len(g) - 1] += c
        for k in range(max_order):
            if len(hyp) - k > 0:
                possible[k] += len(hyp) - k
    precisions = [((m + 1.0) / (p + 1.0)) if smooth else (m / p if p else 0.0) for m, p in zip(matches, possible)]
    geo = math.exp(sum(math.log(x) for x in precisions) / max_order) if min(precisions) > 0 else 0.0
    ratio = hyp_len / ref_len
    bp = 1.0 if ratio > 1.0 else math.exp(1 - 1.0 / ratio)
    return 100 * geo * bp


def em_line(predictions, references):
    """Refinement / translation accuracy x 100."""
    return 100 * sum(one_line(p) == one_line(r) for p, r in zip(predictions, references)) / len(references)


def em_tokens(predictions, references):
    """Text-to-code and line-completion EM x 100."""
    return 100 * sum(p.split() == r.split() for p, r in zip(predictions, references)) / len(references)


def _lcs(a: str, b: str) -> int:
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0]
        for j, cb in enumerate(b):
            cur.append(prev[j] + 1 if ca == cb else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def fuzz_ratio(a: str, b: str) -> int:
    """fuzzywuzzy.fuzz.ratio with python-Levenshtein (indel distance = lensum - 2 * LCS)."""
    if a == b:
        return 100
    if not a or not b:
        return 0
    lensum = len(a) + len(b)
    return int(round(100 * ((2 * _lcs(a, b)) / lensum)))


def edit_sim(predictions, references):
    """Line completion's Edit sim: the prediction line stripped, the ground truth as it is."""
    return sum(fuzz_ratio(p.strip(), r) for p, r in zip(predictions, references)) / len(references)


def binary(pred_labels, gold_labels):
    """sklearn binary precision/recall/F1 (positive 1) and accuracy, x 100."""
    tp = sum(p == 1 and g == 1 for p, g in zip(pred_labels, gold_labels))
    fp = sum(p == 1 and g == 0 for p, g in zip(pred_labels, gold_labels))
    fn = sum(p == 0 and g == 1 for p, g in zip(pred_labels, gold_labels))
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    acc = sum(p == g for p, g in zip(pred_labels, gold_labels)) / len(gold_labels)
    return {"accuracy": 100 * acc, "precision": 100 * prec, "recall": 100 * rec, "f1": 100 * f1}


def raw_labels(answers, gold_labels):
    """What the evaluators get from raw text: the label when the answer is one, else a wrong one."""
    return [LABELS.get(a.strip(), 1 - g) for a, g in zip(answers, gold_labels)]


def cloze_accuracy(words, gold_words):
    return 100 * sum(w == g for w, g in zip(words, gold_words)) / len(gold_words)


# code-to-text evaluator/bleu.py (per-sentence smoothed BLEU-4 after NIST normalization, averaged)

_PUNCT_SPLITS = (
    (r"([\{-\~\[-\` -\&\(-\+\:-\@\/])", r" \1 "),
    (r"([^0-9])([\.,])", r"\1 \2 "),
    (r"([\.,])([^0-9])", r" \1 \2"),
    (r"([0-9])(-)", r"\1 \2 "),
)


def _nist(text):
    import re
    import xml.sax.saxutils

    text = text.replace("<skipped>", "")
    text = re.sub(r"-\n", "", text).replace("\n", " ")
    text = xml.sax.saxutils.unescape(text, {"&quot;": '"'})
    text = (" " + text + " ").lower()
    for pattern, repl in _PUNCT_SPLITS:
        text = re.sub(pattern, repl, text)
    return text.split()


def _sentence_bleu(ref, hyp, n=4):
    import sys

    tiny = sys.float_info.min
    r, h = _nist(ref), _nist(hyp)
    rc, hc = _grams(r, n), _grams(h, n)
    log_sum = 0.0
    for k in range(1, n + 1):
        correct = sum(min(c, rc.get(g, 0)) for g, c in hc.items() if len(g) == k)
        guess = max(len(h) - k + 1, 0)
        add = 0 if k == 1 else 1
        log_sum += math.log(correct + add + tiny) - math.log(guess + add + tiny)
    return math.exp(log_sum / n + min(0.0, 1 - (len(r) + 1) / (len(h) + 1)))


def smoothed_bleu(predictions, references):
    """The code-to-text figure: mean over items of the sentence BLEU of the lowercased, split texts, x 100."""
    import re

    def split(s):
        return " ".join(re.findall(r"[\w]+|[^\s\w]", s.strip().lower()))

    return 100 * sum(_sentence_bleu(split(r), split(p)) for p, r in zip(predictions, references)) / len(references)
