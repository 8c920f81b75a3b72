"""Instruction templates and answer labels, kept as data in ``templates/<lang>.yaml``.

A template is chosen deterministically from the record id, so rebuilds are identical.
Placeholders: ``{plang}``, ``{target_plang}`` (display names), ``{n}`` (number of candidates).
"""
from __future__ import annotations

import functools
from importlib import resources

import yaml

from .taxonomy import KINDS, LANGS, PLANG_NAMES

#: Keys of instructions for a kind of answer within a task: an input that stops mid-line (the
#: answer finishes it), a summary of one sentence, a repair over abstracted identifiers.
VARIANT_KEYS = ("code_completion_line", "code_summarization_sentence", "code_repair_abstracted")
#: Keys that must have templates: tasks without subtasks, every subtask, and the variants.
TEMPLATE_KEYS = (*(k.subtask or k.task for k in KINDS), *VARIANT_KEYS)
MIN_TEMPLATES = 8


@functools.lru_cache(maxsize=None)
def load(lang: str) -> dict:
    if lang not in LANGS:
        raise ValueError(f"no templates for language {lang!r}")
    text = resources.files("mulco").joinpath("templates", f"{lang}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def instruction(key: str, lang: str, rid: str, **fmt: str | None) -> str:
    """The template for ``key`` picked by the record id ``rid``, formatted."""
    options = load(lang)["instructions"][key]
    template = options[int(rid, 16) % len(options)]
    values = {k: (PLANG_NAMES.get(v, v) if k in ("plang", "target_plang") and v else v) for k, v in fmt.items()}
    return template.format(**values)


def note(key: str, lang: str) -> str:
    """A sentence appended to some instructions (``notes`` in the YAML), e.g. what tokenised code
    looks like; a converter adds it with a space (EN) or directly (ZH)."""
    return load(lang)["notes"][key]


def label(key: str, value: bool | int | str, lang: str) -> str:
    """The answer word for a label (e.g. clone_detection True -> 'Yes' / '是')."""
    labels = load(lang)["labels"][key]
    if isinstance(value, bool) or isinstance(value, int):
        value = "true" if value else "false"
    return labels[value]
