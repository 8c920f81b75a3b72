"""Exact match and edit similarity, by the rules of the CodeXGLUE evaluator each task comes from.

- :func:`exact_match_tokens`: white-space token lists equal (``pred.split() == gt.split()``):
  CodeXGLUE code completion (line level) and text-to-code (CONCODE); spacing and line breaks do
  not count.
- :func:`exact_match_line`: CodeXGLUE code-to-code (refinement, translation): one line per item,
  ``ref.strip() == pred.strip()``; a multi-line answer is one line with its line breaks turned into
  spaces (:func:`postprocess.official_line`), so indentation and reflowing *do* count.
- :func:`edit_similarity`: CodeXGLUE line completion's ``fuzzywuzzy.fuzz.ratio(pred, gt)``, which
  rounds each item's ratio to an integer (``int(round(100 * ratio))``, Python's round half to even)
  before the mean; the ratio is python-Levenshtein's ``(lensum - indel distance) / lensum``
  (computed with ``rapidfuzz``; two empty strings are equal: 100, one empty: 0).
"""
from __future__ import annotations

from typing import Sequence

from .postprocess import official_line


def _check(predictions: Sequence[str], references: Sequence[str]) -> None:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")


def _mean100(hits: Sequence[bool]) -> float:
    return 100.0 * sum(hits) / len(hits) if hits else 0.0


def exact_match_tokens(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Percentage of items whose white-space token lists are equal."""
    _check(predictions, references)
    return _mean100([p.split() == r.split() for p, r in zip(predictions, references)])


#: the line-completion / text-to-code rule keeps its old name
exact_match = exact_match_tokens


def exact_match_line(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Percentage of items whose one-line forms (line breaks -> spaces, stripped) are equal."""
    _check(predictions, references)
    return _mean100([official_line(p) == official_line(r) for p, r in zip(predictions, references)])


def fuzz_ratio(a: str, b: str) -> int:
    """``fuzzywuzzy.fuzz.ratio`` with python-Levenshtein: an integer 0-100."""
    from rapidfuzz.distance import Indel

    if a == b:
        return 100
    if not a or not b:
        return 0
    lensum = len(a) + len(b)
    return int(round(100 * ((lensum - Indel.distance(a, b)) / lensum)))


def edit_similarity(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Mean of the items' integer fuzzy ratios (CodeXGLUE line completion's ``Edit sim``)."""
    _check(predictions, references)
    if not predictions:
        return 0.0
    return sum(fuzz_ratio(p, r) for p, r in zip(predictions, references)) / len(predictions)
