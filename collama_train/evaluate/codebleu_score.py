"""CodeBLEU (Ren et al. 2020; CodeXGLUE code-to-code evaluator) through the ``codebleu`` package
(k4black/codebleu 0.7.0, a packaging of CodeXGLUE's CodeBLEU): 0.25 x (n-gram BLEU + keyword-weighted
n-gram BLEU + AST subtree match + data-flow match), corpus level, white-space tokens, x 100.

``codebleu`` 0.7.0 declares ``tree-sitter<0.23`` but works with the project's tree-sitter 0.26
grammars (checked: its README example gives 0.5538 here too), so it is an *optional* extra
installed without its pins: ``pip install --no-deps codebleu==0.7.0``. Without it, or for a
language it has no grammar for (MulCo: ``sql``, and records without a plang), the cell has no
``codebleu`` and the results say so.
"""
from __future__ import annotations

import logging
from functools import lru_cache
from typing import Sequence

#: MulCo plang -> codebleu language name
LANGS = {"c": "c", "cpp": "cpp", "csharp": "c_sharp", "go": "go", "java": "java", "javascript": "javascript",
         "php": "php", "python": "python", "ruby": "ruby"}
INSTALL = "pip install --no-deps codebleu==0.7.0"


@lru_cache(maxsize=None)
def available() -> bool:
    try:
        from codebleu import calc_codebleu  # noqa: F401
    except Exception:  # noqa: BLE001 - missing or broken: the metric is left out, and said so
        return False
    return True


def supported(plang: str | None) -> bool:
    return plang in LANGS and available()


def codebleu(predictions: Sequence[str], references: Sequence[str], plang: str) -> float:
    """Corpus CodeBLEU x 100 for code in MulCo ``plang`` (see :func:`supported`)."""
    from codebleu import calc_codebleu

    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    if not predictions:
        return 0.0
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # "no reference data-flows ..." is printed per call otherwise
    try:
        res = calc_codebleu(list(references), list(predictions), lang=LANGS[plang])
    finally:
        logging.disable(previous)
    return 100.0 * float(res["codebleu"])
