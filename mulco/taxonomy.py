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
from typing import Callable, Iterable, Mapping

@dataclass(frozen=True)
class Kind:
    """A task without subtasks, or a subtask of ``code_search``: what its records are. Add a
    subtask here (with its templates and a converter) and everything else derives from it."""

    task: str
    subtask: str | None
    #: What a record asks, in one line (the dataset card's task table).
    what: str
    #: The record fields that hold code (their identifiers are abstracted for near dedup).
    code_fields: tuple[str, ...]
    #: Whether the answer is a label or a short answer (near dedup also buckets by it).
    short_answer: bool
    #: The Hub's task category and task id (as the CodeXGLUE cards on the Hub tag them).
    hub_task: tuple[str, str | None]


KINDS: tuple[Kind, ...] = (
    Kind("code_generation", None, "write code from a natural-language description", ("output",), False,
         ("text-generation", None)),
    Kind("code_summarization", None, "describe in natural language what a piece of code does", ("input",), False,
         ("summarization", None)),
    Kind("code_search", "clone_detection", "are two code fragments semantically equivalent?", ("input",), True,
         ("text-classification", "semantic-similarity-classification")),
    Kind("code_search", "defect_detection", "does a function contain a defect (e.g. a vulnerability)?", ("input",), True,
         ("text-classification", "multi-class-classification")),
    Kind("code_search", "cloze_test", "fill in the masked token of a code fragment", ("input",), True,
         ("fill-mask", "slot-filling")),
    Kind("code_search", "code_completion", "complete the next line of code", ("input", "output"), True,
         ("text-generation", "language-modeling")),
    Kind("code_search", "code_repair", "fix a buggy method", ("input", "output"), False, ("text-generation", None)),
    Kind("code_search", "code_translation", "translate code from one programming language to another",
         ("input", "output"), False, ("translation", None)),
    Kind("code_search", "query_to_code", "which code fragment answers a natural-language question?", ("input",), False,
         ("text-retrieval", "document-retrieval")),
)
#: What each task is, in one line (the card's task table; a task with subtasks is described here only).
TASK_WHAT: Mapping[str, str] = {
    "code_generation": KINDS[0].what,
    "code_summarization": KINDS[1].what,
    "code_search": "judge, find or change code given code or a query (the subtasks below)",
}
TASKS: tuple[str, ...] = tuple(dict.fromkeys(k.task for k in KINDS))
SUBTASKS: Mapping[str, tuple[str, ...]] = {t: tuple(k.subtask for k in KINDS if k.task == t and k.subtask) for t in TASKS}
ALL_SUBTASKS: tuple[str, ...] = tuple(k.subtask for k in KINDS if k.subtask)
LANGS: tuple[str, ...] = ("en", "zh")
#: The splits of every config, in this order.
SPLITS: tuple[str, ...] = ("train", "validation", "test")


def kind(task: str, subtask: str | None = None) -> Kind:
    """The :class:`Kind` of a task (without subtasks) or of a subtask."""
    return _KIND[(task, subtask)]


@dataclass(frozen=True)
class PLang:
    """A programming language MulCo has. Add one here (and to the schema's enum, which a test
    checks) and the parse check, fence tags, aliases and instructions know it."""

    name: str
    #: How instructions and the card write it.
    display: str
    #: Other names for it in fence tags, file names and requests (lower-case).
    aliases: tuple[str, ...]
    #: Its tree-sitter grammar: (module, function returning the language).
    grammar: tuple[str, str]


PLANG_TABLE: tuple[PLang, ...] = (
    PLang("go", "Go", ("golang", "go语言"), ("tree_sitter_go", "language")),
    PLang("java", "Java", (), ("tree_sitter_java", "language")),
    PLang("javascript", "JavaScript", ("js", "node", "node.js", "nodejs"), ("tree_sitter_javascript", "language")),
    PLang("php", "PHP", (), ("tree_sitter_php", "language_php")),
    PLang("python", "Python", ("python3", "py", "python2"), ("tree_sitter_python", "language")),
    PLang("ruby", "Ruby", ("rb",), ("tree_sitter_ruby", "language")),
    PLang("c", "C", ("c语言",), ("tree_sitter_c", "language")),
    PLang("cpp", "C++", ("c++", "cc", "cxx"), ("tree_sitter_cpp", "language")),
    PLang("csharp", "C#", ("c#", "cs"), ("tree_sitter_c_sharp", "language")),
    PLang("sql", "SQL", ("mysql", "postgresql", "sqlite", "tsql", "plsql"), ("tree_sitter_sql", "language")),
)
PLANGS: tuple[str, ...] = tuple(p.name for p in PLANG_TABLE)
#: How a programming language is written in instructions.
PLANG_NAMES: Mapping[str, str] = {p.name: p.display for p in PLANG_TABLE}
#: How a programming language is named in fence tags, file names and requests (lower-cased) -> MulCo plang.
PLANG_ALIASES: Mapping[str, str] = {a: p.name for p in PLANG_TABLE for a in (p.name, *p.aliases)}
DEFAULT_CONFIG = "all"


_KIND: Mapping[tuple, Kind] = {(k.task, k.subtask): k for k in KINDS}


def plang_from_alias(name: str) -> str | None:
    """The MulCo plang a name, fence tag or alias stands for (None: not one MulCo has)."""
    return PLANG_ALIASES.get(name.strip().lower())


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


def check_available(name: str, available: Iterable[str], report: Mapping | None = None,
                    producers: Callable[[Selector], list[str]] | None = None) -> Selector:
    """Parse ``name`` and check that the built dataset has it. The error suggests only names the
    build has; for a valid name that selects nothing it says why when ``report`` (the build's
    ``build_report.json``) tells (a source absent, ZH records skipped for want of a translator,
    every record dropped by the quality steps); ``producers`` names the sources that make records
    for a selection (:func:`mulco.sources.producing`)."""
    available = list(available)
    try:
        sel = parse(name)
    except UnknownConfigError:
        close = suggest(name, available) if available else []
        raise UnknownConfigError(
            f"Unknown MulCo config {name!r}."
            + (f" Close names in this build: {', '.join(close)}." if close else "")
            + f" Names are 'all', a language ({', '.join(LANGS)}) or <task>[.<subtask>][.<lang>][.<plang>] with task in "
              f"{', '.join(TASKS)}; `mulco configs FOLDER` lists this build's {len(available)} names."
        ) from None
    if name not in available:
        why = why_empty(sel, report, producers) if report else None
        close = [n for n in suggest(name, available) if n != name]
        raise UnknownConfigError(
            f"Config {name!r} is valid but selects no record in this build"
            + (f": {why}." if why else ".")
            + (f" Close names that exist: {', '.join(close)}." if close else "")
        )
    return sel


def why_empty(sel: Selector, report: Mapping, producing: Callable[[Selector], list[str]] | None = None) -> str | None:
    """Why a valid config selects no record of a build, from its report (None: it does not say);
    ``producing(sel)``: the sources that make records for ``sel``."""
    srcs = report.get("sources") or {}
    reasons = []
    producers = producing(sel) if producing else []
    cf = (report.get("configs") or {}).get(format_name(sel))
    if cf and cf.get("records_in") and not cf.get("kept"):
        steps = ", ".join(f"{k} {v:,}" for k, v in (cf.get("dropped") or {}).items())
        reasons.append(f"all {cf['records_in']:,} of its records were dropped by the quality steps ({steps}; "
                       f"see build_report.md)")
    if sel.lang in (None, "zh"):
        skipped = {n: (srcs.get(n) or {}).get("records_skipped", {}).get("zh_needs_translator", 0) for n in producers}
        skipped = {n: k for n, k in skipped.items() if k}
        if skipped and sel.task in (None, "code_summarization", "code_generation") and sel.subtask is None:
            reasons.append(f"{sum(skipped.values()):,} ZH records of {', '.join(skipped)} were skipped: ZH summaries "
                           f"(and ZH docstring-to-code) are translations of English docstrings and need "
                           f"--translator-url at build time")
    missing = [n for n in producers if (srcs.get(n) or {}).get("status") != "built"]
    if missing:
        reasons.append(f"its source{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                       f"{'were' if len(missing) > 1 else 'was'} not in the raw folder or not selected with --sources "
                       f"(see docs/sources.md)")
    empty = [n for n in producers if (srcs.get(n) or {}).get("status") == "built" and not srcs[n].get("records_kept")]
    if empty:
        reasons.append(f"{', '.join(empty)} read rows but kept no record (see quarantine.jsonl)")
    if not reasons and sel.plang and producers:
        reasons.append(f"no source in this build has {PLANG_NAMES.get(sel.plang, sel.plang)} records for it")
    return "; ".join(reasons) or None
