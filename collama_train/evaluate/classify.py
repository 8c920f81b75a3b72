"""Clone and defect detection (yes/no answers) and query-to-code (chosen candidates).

Binary: accuracy, precision, recall and F1 of the positive class ("Yes"/"是" = clone / defective),
as CodeXGLUE's clone (BigCloneBench: P/R/F1) and defect (Devign: accuracy) evaluators report them,
from the *parsed* answer (:func:`postprocess.parse_yes_no`). An unparseable answer is wrong: it
never counts as a true positive or a true negative (for precision it is neither; for recall a
positive it missed is a false negative), and the number of such answers is reported.
"""
from __future__ import annotations

from typing import Sequence


def binary_scores(predicted: Sequence[bool | None], gold: Sequence[bool]) -> dict:
    """Accuracy/precision/recall/F1 (x 100) and ``unparsed`` (count) for parsed answers."""
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predictions but {len(gold)} references")
    tp = sum(p is True and g for p, g in zip(predicted, gold))
    fp = sum(p is True and not g for p, g in zip(predicted, gold))
    tn = sum(p is False and not g for p, g in zip(predicted, gold))
    fn = sum(p is not True and g for p, g in zip(predicted, gold))
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


def choice_scores(predicted: Sequence[frozenset | None], gold: Sequence[frozenset]) -> dict:
    """Query to code: ``accuracy`` = the chosen candidate set equals the labelled one (x 100);
    ``hit`` = the first chosen candidate is a labelled answer (x 100); ``unparsed`` count."""
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predictions but {len(gold)} references")
    n = len(gold)
    acc = sum(p is not None and p == g for p, g in zip(predicted, gold))
    hit = sum(p is not None and min(p) in g for p, g in zip(predicted, gold))
    return {"accuracy": 100.0 * acc / n if n else 0.0, "hit": 100.0 * hit / n if n else 0.0,
            "unparsed": sum(p is None for p in predicted)}
