"""CodeBLEU (Ren et al. 2020; CodeXGLUE code-to-code evaluator ``calc_code_bleu.py``) with the parts of
the ``codebleu`` package (k4black/codebleu 0.7.0, a packaging of CodeXGLUE's CodeBLEU):
0.25 x (n-gram BLEU + keyword-weighted n-gram BLEU + AST subtree match + data-flow match), corpus
level, white-space tokens, x 100.

Where the package departs from CodeXGLUE's script, this module follows the script:

- The package adds ``theta * (dataflow or 1)``: a corpus data-flow score of 0 counts as 1, so a cell
  of empty predictions scores 25 and an exact copy of code without data flow 100. CodeXGLUE adds
  ``theta * dataflow`` (0 when no reference has data flow): 0 and 75. We combine the package's four
  parts with CodeXGLUE's formula.
- The data-flow graph merges parent-variable lists through ``list(set(...))``, whose order follows
  Python's string hashing: the data-flow part (and CodeXGLUE's own) moves with ``PYTHONHASHSEED``
  (about +-0.05 points on 300 items). While it runs, those ``set`` calls give an insertion-ordered
  set, so the number is the same in every process.

What stays different: CodeXGLUE's script parses with its 2020 tree-sitter grammars; the package
uses the project's current ones (tree-sitter 0.26). The AST-match part, and so CodeBLEU, differ by
what the grammars parse differently (docs/evaluation.md gives the size).

``codebleu`` 0.7.0 declares ``tree-sitter<0.23`` but works with the project's tree-sitter 0.26
grammars, so it is an *optional* extra installed without its pins: ``pip install --no-deps
codebleu==0.7.0``. Without it, or for a language it has no grammar for (MulCo: ``sql``, and records
without a plang), the cell has no ``codebleu`` and the results say so.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from functools import lru_cache
from typing import Sequence

#: MulCo plang -> codebleu language name
LANGS = {"c": "c", "cpp": "cpp", "csharp": "c_sharp", "go": "go", "java": "java", "javascript": "javascript",
         "php": "php", "python": "python", "ruby": "ruby"}
INSTALL = "pip install --no-deps codebleu==0.7.0"
#: CodeXGLUE's weights (alpha, beta, gamma, theta)
WEIGHTS = (0.25, 0.25, 0.25, 0.25)
_LOCK = threading.Lock()


@lru_cache(maxsize=None)
def available() -> bool:
    try:
        from codebleu import calc_codebleu  # noqa: F401
    except Exception:  # noqa: BLE001 - missing or broken: the metric is left out, and said so
        return False
    return True


def supported(plang: str | None) -> bool:
    return plang in LANGS and available()


class _OrderedSet(dict):
    """What ``set`` is inside the data-flow code while it runs: the same members, in insertion order."""

    def __init__(self, items=()):
        super().__init__((x, None) for x in items)

    def add(self, item) -> None:
        self[item] = None


@contextmanager
def _stable_sets():
    from codebleu import dataflow_match
    from codebleu.parser import DFG

    modules = (DFG, dataflow_match)
    with _LOCK:
        for m in modules:
            m.set = _OrderedSet
        try:
            yield
        finally:
            for m in modules:
                del m.set


def parts(predictions: Sequence[str], references: Sequence[str], plang: str) -> dict:
    """The package's four parts (each 0-1) for code in MulCo ``plang``, hash-seed independent."""
    from codebleu import calc_codebleu

    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # "no reference data-flows ..." is printed per call otherwise
    try:
        with _stable_sets():
            res = calc_codebleu(list(references), list(predictions), lang=LANGS[plang])
    finally:
        logging.disable(previous)
    return {k: float(res[k]) for k in ("ngram_match_score", "weighted_ngram_match_score", "syntax_match_score",
                                       "dataflow_match_score")}


def codebleu(predictions: Sequence[str], references: Sequence[str], plang: str) -> float:
    """Corpus CodeBLEU x 100 for code in MulCo ``plang`` (see :func:`supported`), CodeXGLUE's formula."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    if not predictions or not any(r.strip() for r in references):
        return 0.0
    p = parts(predictions, references, plang)
    a, b, g, t = WEIGHTS
    return 100.0 * (a * p["ngram_match_score"] + b * p["weighted_ngram_match_score"]
                    + g * p["syntax_match_score"] + t * p["dataflow_match_score"])
