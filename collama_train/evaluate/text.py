"""Exact match and edit similarity (CodeXGLUE code-completion line level and cloze test).

- :func:`exact_match`: CodeXGLUE compares white-space token lists (``pred.split() == gt.split()``),
  so spacing differences do not count; the mean x 100.
- :func:`edit_similarity`: CodeXGLUE line completion's ``fuzz.ratio(pred, gt)`` (``rapidfuzz``:
  the normalized Indel similarity, 0-100), averaged.
"""
from __future__ import annotations

from typing import Sequence


def _check(predictions: Sequence[str], references: Sequence[str]) -> None:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")


def exact_match(predictions: Sequence[str], references: Sequence[str]) -> float:
    _check(predictions, references)
    if not predictions:
        return 0.0
    return 100.0 * sum(p.split() == r.split() for p, r in zip(predictions, references)) / len(predictions)


def edit_similarity(predictions: Sequence[str], references: Sequence[str]) -> float:
    from rapidfuzz import fuzz

    _check(predictions, references)
    if not predictions:
        return 0.0
    return sum(fuzz.ratio(p, r) for p, r in zip(predictions, references)) / len(predictions)
