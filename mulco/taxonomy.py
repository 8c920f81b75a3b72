"""Tasks, subtasks, languages, programming languages and the config-name grammar.

Config names: ``all`` | ``<lang>`` | ``<task>[.<subtask>][.<lang>][.<plang>]``.
Every name that selects at least one built record is a config of the built dataset
(:func:`config_names`); :func:`parse` checks a name against the grammar and the
constants below, and :func:`suggest` lists close valid names for an unknown one.
The enums here and in ``schemas/record.schema.json`` must agree (a test checks it).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable, Mapping

TASKS: tuple[str, ...] = ("code_generation", "code_summarization", "code_search")
SUBTASKS: Mapping[str, tuple[str, ...]] = {
    "code_generation": (),
    "code_summarization": (),
    "code_search": (
        "clone_detection",
        "defect_detection",
        "cloze_test",
        "code_completion",
        "code_repair",
        "code_translation",
        "query_to_code",
    ),
}
ALL_SUBTASKS: tuple[str, ...] = SUBTASKS["code_search"]
LANGS: tuple[str, ...] = ("en", "zh")
PLANGS: tuple[str, ...] = ("go", "java", "javascript", "php", "python", "ruby", "c", "cpp", "csharp", "sql")

#: How a programming language is written in instructions.
PLANG_NAMES: Mapping[str, str] = {
    "go": "Go", "java": "Java", "javascript": "JavaScript", "php": "PHP", "python": "Python",
    "ruby": "Ruby", "c": "C", "cpp": "C++", "csharp": "C#", "sql": "SQL",
}
DEFAULT_CONFIG = "all"


class UnknownConfigError(ValueError):
    """A config name that is not valid (or selects nothing); the message lists close names."""


@dataclass(frozen=True, order=True)
class Selector:
    """What a config name selects; ``None`` means "any"."""

    task: str | None = None
    subtask: str | None = None
    lang: str | None = None
    plang: str | None = None

    def matches(self, task: str, subtask: str | None, lang: str, plang: str | None) -> bool:
        return (
            (self.task is None or self.task == task)
            and (self.subtask is None or self.subtask == subtask)
            and (self.lang is None or self.lang == lang)
            and (self.plang is None or self.plang == plang)
        )

    @property
    def name(self) -> str:
        return format_name(self)


def format_name(sel: Selector) -> str:
    if sel.task is None:
        if sel.subtask or sel.plang:
            raise ValueError(f"a selector with subtask/plang needs a task: {sel}")
        return sel.lang or DEFAULT_CONFIG
    return ".".join(p for p in (sel.task, sel.subtask, sel.lang, sel.plang) if p)


def parse(name: str) -> Selector:
    """Parse a config name; raise :class:`UnknownConfigError` (with close names) if invalid."""
    if name == DEFAULT_CONFIG:
        return Selector()
    if name in LANGS:
        return Selector(lang=name)
    parts = name.split(".")
    task, rest = parts[0], parts[1:]
    if task in TASKS and len(rest) <= 3:
        sel = {"task": task}
        slots = [("subtask", SUBTASKS[task]), ("lang", LANGS), ("plang", PLANGS)]
        i = 0
        for part in rest:
            while i < len(slots) and part not in slots[i][1]:
                i += 1
            if i == len(slots):
                break
            sel[slots[i][0]] = part
            i += 1
        else:
            return Selector(**sel)
    raise UnknownConfigError(_unknown_message(name, all_names()))


def all_names() -> list[str]:
    """Every name the grammar allows (whether or not a build has records for it)."""
    names = [DEFAULT_CONFIG, *LANGS]
    for task in TASKS:
        for sub in (None, *SUBTASKS[task]):
            for lang in (None, *LANGS):
                for plang in (None, *PLANGS):
                    names.append(format_name(Selector(task, sub, lang, plang)))
    return names


def selectors_for(task: str, subtask: str | None, lang: str, plang: str | None) -> list[Selector]:
    """All selectors (configs) that contain a record with these keys."""
    out = [Selector(), Selector(lang=lang)]
    for sub in {None, subtask}:
        for lg in (None, lang):
            for pl in {None, plang}:
                out.append(Selector(task, sub, lg, pl))
    return sorted(set(out), key=format_name)


def config_names(leaves: Iterable[tuple[str, str | None, str, str | None]]) -> list[str]:
    """Config names that select at least one of the given (task, subtask, lang, plang) leaves,
    sorted with ``all`` first, then languages, then the rest alphabetically."""
    names = {format_name(s) for leaf in leaves for s in selectors_for(*leaf)}
    head = [n for n in (DEFAULT_CONFIG, *LANGS) if n in names]
    return head + sorted(names - set(head))


def suggest(name: str, valid: Iterable[str], n: int = 6) -> list[str]:
    valid = list(valid)
    close = difflib.get_close_matches(name, valid, n=n, cutoff=0.6)
    if not close:  # fall back to names sharing the first component
        head = name.split(".")[0]
        close = [v for v in valid if v.split(".")[0] == head][:n]
    return close


def _unknown_message(name: str, valid: list[str]) -> str:
    close = suggest(name, valid)
    hint = f" Close valid names: {', '.join(close)}." if close else ""
    return (
        f"Unknown MulCo config {name!r}. Names are 'all', a language ({', '.join(LANGS)}) or "
        f"<task>[.<subtask>][.<lang>][.<plang>] with task in {', '.join(TASKS)}.{hint}"
    )


def check_available(name: str, available: Iterable[str]) -> Selector:
    """Parse ``name`` and check that the built dataset has it; error lists close built names."""
    available = list(available)
    sel = parse(name)
    if name not in available:
        raise UnknownConfigError(
            f"Config {name!r} is valid but selects no record in this build."
            + (f" Close names that exist: {', '.join(suggest(name, available))}." if available else "")
        )
    return sel
