"""One explicit, sorted registry: (task, subtask) -> how an answer is cleaned up and scored.

Every MulCo (task, subtask) and the two execution benchmarks have an entry; the prompt is always
the record formatted by the training template (:mod:`collama_train.prompts`), so the registry holds
only what differs per task: the clean-up applied to prediction and reference, and the metrics.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Callable, Sequence

from . import bleu, classify, codebleu_score, text
from .postprocess import (cloze_word, first_line, one_sentence, parse_candidates, parse_yes_no, strict_candidates,
                          strict_cloze, strict_yes_no, strip_fences)


class UnknownTaskError(ValueError):
    """A (task, subtask) pair the registry does not know."""


@dataclass(frozen=True)
class TaskSpec:
    task: str
    subtask: str | None
    #: metric names in table order, with where each comes from (docs and results.md)
    metrics: tuple[str, ...]
    #: (predictions, references, lang, plang of the code) -> {metric: value}; None for execution benchmarks
    score: Callable[[Sequence[str], Sequence[str], str, str | None], dict] | None
    execution: bool = False

    @property
    def name(self) -> str:
        return f"{self.task}.{self.subtask}" if self.subtask else self.task


def _summary(preds, refs, lang, plang=None):
    p, r = [one_sentence(x) for x in preds], [one_sentence(x) for x in refs]
    if lang == "zh":
        return {"char_bleu": bleu.zh_bleu(p, r)}
    return {"smoothed_bleu4": bleu.smoothed_bleu4(p, r)}


def _code_gen(preds, refs, lang, plang=None):
    """Text to code (CONCODE): CodeXGLUE's EM compares white-space token lists."""
    p, r = [strip_fences(x) for x in preds], [strip_fences(x) for x in refs]
    out = {"bleu": bleu.corpus_bleu(p, r), "exact_match": text.exact_match_tokens(p, r)}
    if codebleu_score.supported(plang):
        out["codebleu"] = codebleu_score.codebleu(p, r, plang)
    return out


def _code_to_code(preds, refs, lang, plang=None):
    """Refinement, translation: CodeXGLUE's EM compares the stripped one-line forms; ``exact_match_ws``
    (ours, not CodeXGLUE's) ignores white space (token lists)."""
    p, r = [strip_fences(x) for x in preds], [strip_fences(x) for x in refs]
    out = {"bleu": bleu.corpus_bleu(p, r), "exact_match": text.exact_match_line(p, r),
           "exact_match_ws": text.exact_match_tokens(p, r)}
    if codebleu_score.supported(plang):
        out["codebleu"] = codebleu_score.codebleu(p, r, plang)
    return out


def _line(preds, refs, lang, plang=None):
    p, r = [first_line(x) for x in preds], [first_line(x) for x in refs]
    return {"exact_match": text.exact_match_tokens(p, r), "edit_sim": text.edit_similarity(p, r)}


def _cloze(preds, refs, lang, plang=None):
    """``exact_match``: the flexible word equals the masked word; ``exact_match_strict``: the stripped
    answer is the masked word; ``unparsed``: answers the flexible filter could not read."""
    gold = [cloze_word(x) for x in refs]
    flexible = [cloze_word(x) for x in preds]
    n = len(refs)
    return {"exact_match": 100.0 * sum(p is not None and p == g for p, g in zip(flexible, gold)) / n if n else 0.0,
            "exact_match_strict": 100.0 * sum(strict_cloze(p) == strict_cloze(g) for p, g in zip(preds, refs)) / n
            if n else 0.0,
            "unparsed": sum(p is None for p in flexible)}


def _with_strict(flexible: dict, strict: dict) -> dict:
    out = dict(flexible)
    out.update({f"{k}_strict": v for k, v in strict.items() if k != "unparsed"})
    return out


def _yes_no_for(subtask):
    def score(preds, refs, lang, plang=None):
        gold = [parse_yes_no(x) for x in refs]
        return _with_strict(classify.binary_scores([parse_yes_no(x, subtask) for x in preds], gold),
                            classify.binary_scores([strict_yes_no(x) for x in preds], gold))
    return score


def _choice(preds, refs, lang, plang=None):
    gold = [parse_candidates(x) for x in refs]
    return _with_strict(classify.choice_scores([parse_candidates(x) for x in preds], gold),
                        classify.choice_scores([strict_candidates(x) for x in preds], gold))


#: reference answers that a metric must be able to read (checked when a file is read)
REFERENCE_PARSERS = {"clone_detection": parse_yes_no, "defect_detection": parse_yes_no, "query_to_code": parse_candidates}

_BINARY = ("accuracy", "precision", "recall", "f1", "accuracy_strict", "precision_strict", "recall_strict", "f1_strict",
           "unparsed")
_CODE_TO_CODE = ("bleu", "exact_match", "exact_match_ws", "codebleu")
_SPECS = (
    TaskSpec("code_generation", None, ("bleu", "exact_match", "codebleu"), _code_gen),
    TaskSpec("code_search", "clone_detection", _BINARY, _yes_no_for("clone_detection")),
    TaskSpec("code_search", "cloze_test", ("exact_match", "exact_match_strict", "unparsed"), _cloze),
    TaskSpec("code_search", "code_completion", ("exact_match", "edit_sim"), _line),
    TaskSpec("code_search", "code_repair", _CODE_TO_CODE, _code_to_code),
    TaskSpec("code_search", "code_translation", _CODE_TO_CODE, _code_to_code),
    TaskSpec("code_search", "defect_detection", _BINARY, _yes_no_for("defect_detection")),
    TaskSpec("code_search", "query_to_code", ("accuracy", "hit", "accuracy_strict", "hit_strict", "unparsed"), _choice),
    TaskSpec("code_summarization", None, ("smoothed_bleu4", "char_bleu"), _summary),
    TaskSpec("humaneval", None, ("pass@1", "pass@10", "pass@100"), None, execution=True),
    TaskSpec("mbpp", None, ("pass@1", "pass@10", "pass@100"), None, execution=True),
)
REGISTRY: dict[tuple[str, str | None], TaskSpec] = {(s.task, s.subtask): s for s in _SPECS}


def names() -> list[str]:
    return sorted(s.name for s in _SPECS)


def get(task: str, subtask: str | None) -> TaskSpec:
    spec = REGISTRY.get((task, subtask or None))
    if spec is None:
        name = f"{task}.{subtask}" if subtask else str(task)
        close = difflib.get_close_matches(name, names(), n=3) or names()
        raise UnknownTaskError(f"unknown task {name!r}; known: {', '.join(close)}")
    return spec
