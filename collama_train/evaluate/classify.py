"""Clone and defect detection (yes/no answers) and query-to-code (chosen candidates).

Binary: accuracy, precision, recall and F1 of the positive class ("Yes"/"是" = clone / defective),
as CodeXGLUE's clone (BigCloneBench: P/R/F1) and defect (Devign: accuracy) evaluators report them,
from the answer a filter read (:mod:`postprocess`). An unread answer (``None``) is **wrong for
every metric**: it counts as the label opposite to the gold one, so a missed positive is a false
negative and an unread answer on a negative item is a false positive (it costs precision, as a
wrong "Yes" would). Their number is reported as ``unparsed``.
"""
from __future__ import annotations

from typing import Sequence


def binary_scores(predicted: Sequence[bool | None], gold: Sequence[bool]) -> dict:
    """Accuracy/precision/recall/F1 (x 100) and ``unparsed`` (count) for read answers."""
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predictions but {len(gold)} references")
    # an unread answer is the wrong label: not g
    as_read = [(not g) if p is None else p for p, g in zip(predicted, gold)]
    tp = sum(p and g for p, g in zip(as_read, gold))
    fp = sum(p and not g for p, g in zip(as_read, gold))
    tn = sum(not p and not g for p, g in zip(as_read, gold))
    fn = sum(not p and g for p, g in zip(as_read, gold))
    n = len(gold)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "accuracy": 100.0 * (tp + tn) / n if n else 0.0,
        "precision": 100.0 * precision,
        "recall": 100.0 * recall,
        "f1": 100.0 * f1,
        "unparsed": sum(p is None for p in predicted),
    }


def choice_scores(predicted: Sequence[tuple[int, ...] | None], gold: Sequence[tuple[int, ...]]) -> dict:
    """Query to code: ``accuracy`` = the chosen candidate set equals the labelled one (x 100);
    ``hit`` = the first candidate *named* is a labelled answer (x 100; "3, 1" against {3} is a
    hit; where no candidate answers, "none" is the hit); ``unparsed`` count (wrong for both)."""
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predictions but {len(gold)} references")
    n = len(gold)
    acc = sum(p is not None and set(p) == set(g) for p, g in zip(predicted, gold))
    hit = sum(p is not None and _first_is_right(p, g) for p, g in zip(predicted, gold))
    return {"accuracy": 100.0 * acc / n if n else 0.0, "hit": 100.0 * hit / n if n else 0.0,
            "unparsed": sum(p is None for p in predicted)}


def _first_is_right(predicted: tuple[int, ...], gold: tuple[int, ...]) -> bool:
    if not gold or not predicted:
        return not gold and not predicted
    return predicted[0] in gold
