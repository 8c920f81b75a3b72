"""Does the code of a record parse? tree-sitter grammars from PyPI, one per MulCo plang.

Which field holds code, and what a parse failure does, depends on the task
(:data:`CHECKS`; ``--parse-drop`` changes which tasks drop):

==================  ===============  ==========================================================
task / subtask      field(s)         on failure
==================  ===============  ==========================================================
code_summarization  input            drop: the code to summarise is a whole function
code_translation    input, output    drop: both sides are whole methods
code_generation     output           flag: answers mix prose, fragments and code fences
code_repair         output           flag: the abstracted (``VAR_1``) fixes of CodeXGLUE do not
                                     always parse; the input is buggy on purpose (not checked)
defect_detection    input            flag: vulnerable C with macros
clone_detection     (not checked)    the input holds two functions
cloze_test          (not checked)    the code has a ``<mask>``
code_completion     (not checked)    the input is a prefix, the output one line
query_to_code       (not checked)    numbered candidates of Stack Overflow snippets
==================  ===============  ==========================================================

Code inside Markdown fences is checked block by block (blocks tagged with another language are
skipped); a bare method (Java, C#, JavaScript) is parsed inside a class, Go without a package
clause gets one, PHP without ``<?php`` uses the PHP-only grammar. A record without plang is not
checked; nor is one whose plang's grammar is not installed, and the build says so (a warning in
the summary and the report; an error under ``--strict``).
"""
from __future__ import annotations

import copy
import functools
import re
import textwrap
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..taxonomy import PLANG_TABLE
from .pipeline import Corpus, Flag, Outcome
from .spec import Section, Settings, StepSpec, reasons, result_named, stats_of

CHECKS: dict[str, tuple[str, ...]] = {
    "code_summarization": ("input",),
    "code_translation": ("input", "output"),
    "code_generation": ("output",),
    "code_repair": ("output",),
    "defect_detection": ("input",),
}
DEFAULT_DROP = ["code_summarization", "code_translation"]

#: plang -> (module, function returning the language), from the taxonomy's table
GRAMMARS = {p.name: p.grammar for p in PLANG_TABLE}
_FENCE = re.compile(r"```[ \t]*([^\s`]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)
_TOP_DECL = re.compile(r"^\s*(?:package|import|using|namespace)\b")


@dataclass
class ParseConfig:
    """Settings of the parse check."""

    parse_check: bool = field(default=True, metadata={"help": "Check that code parses (tree-sitter grammars)."})
    parse_drop: list[str] = field(default_factory=lambda: list(DEFAULT_DROP), metadata={
        "choices": tuple(CHECKS), "help": "Tasks/subtasks whose records are dropped when their code does not parse; the others "
                f"are only flagged (checked: {', '.join(CHECKS)})."})

    def parse_settings(self) -> dict:
        return {"parse_check": self.parse_check, "parse_drop": sorted(self.parse_drop),
                "checked": {k: list(v) for k, v in CHECKS.items()}}


@functools.lru_cache(maxsize=None)
def parser(plang: str, variant: str = ""):
    """A tree-sitter parser for ``plang`` (None when no grammar is installed)."""
    import importlib

    try:
        import tree_sitter as ts

        mod_name, fn = GRAMMARS[plang]
        if plang == "php" and variant == "only":
            fn = "language_php_only"
        mod = importlib.import_module(mod_name)
        return ts.Parser(ts.Language(getattr(mod, fn)()))
    except (ImportError, KeyError, AttributeError, ValueError):
        return None


def available() -> dict[str, bool]:
    return {p: parser(p) is not None for p in GRAMMARS}


def missing_grammars() -> dict[str, str]:
    """plang -> the grammar module that cannot be loaded (its records are not parse-checked)."""
    return {p: GRAMMARS[p][0] for p, ok in available().items() if not ok}


def _missing_text(missing: dict[str, str]) -> str:
    return (f"no tree-sitter grammar for {', '.join(sorted(missing))} ({', '.join(sorted(set(missing.values())))} "
            "not installed), so its code is not parse-checked: pip install 'mulco[build]'")


def _has_error(p, code: str) -> bool:
    return p.parse(code.encode("utf-8", "surrogatepass")).root_node.has_error


def _prepare(plang: str, code: str) -> list[tuple[str, str]]:
    """(variant, text) attempts for a snippet, most likely first."""
    if plang in ("java", "csharp"):
        if _TOP_DECL.match(code):
            return [("", code)]
        return [("", "class _MulCo {\n" + code + "\n}"), ("", code)]
    if plang == "javascript":
        return [("", code), ("", "class _MulCo {\n" + code + "\n}")]
    if plang == "go":
        return [("", code)] if re.match(r"\s*package\b", code) else [("", "package p\n" + code)]
    if plang == "php":
        return [("", code)] if "<?php" in code or "<?=" in code else [("only", code)]
    if plang == "python":
        return [("", code), ("", textwrap.dedent(code))]
    return [("", code)]


@functools.lru_cache(maxsize=1 << 15)
def parses(plang: str, code: str) -> bool | None:
    """True/False when a grammar for ``plang`` is installed, None otherwise."""
    if parser(plang) is None:
        return None
    for variant, text in _prepare(plang, code):
        p = parser(plang, variant) or parser(plang)
        if not _has_error(p, text):
            return True
    return False


_PREAMBLE_LINE = re.compile(r"\s*(?:#\s*include\b|using\s+[\w.:]+\s*;|using\s+namespace\b|import\s+[\w.*\"]+|package\s+\w+)")


def _fragment(plang: str, code: str) -> str | None:
    """``code`` as statements inside a function, for a language whose grammar wants statements
    there (Go, Java, C#, C, C++); its ``#include``/``using``/``import`` lines stay outside."""
    lines = code.split("\n")
    k = 0
    while k < len(lines) and (not lines[k].strip() or _PREAMBLE_LINE.match(lines[k])):
        k += 1
    head, body = "\n".join(lines[:k]), "\n".join(lines[k:])
    if plang == "go":
        return f"{head if 'package' in head else 'package p' + chr(10) + head}\nfunc _() {{\n{body}\n}}"
    if plang in ("java", "csharp"):
        return f"{head}\nclass _MulCo {{\nvoid _m() {{\n{body}\n}}\n}}"
    if plang in ("c", "cpp"):
        return f"{head}\nvoid _m(void) {{\n{body}\n}}"
    return None


_TRAILING_SPACE = re.compile(r"[ \t]+$", re.M)


def parses_somewhere(code: str) -> bool | None:
    """Does ``code`` parse in any language with a grammar installed, as a whole or (Go, Java, C#,
    C, C++) as statements of a function, as written or without white space at the ends of its
    lines (tree-sitter-cpp rejects ``#include <x> `` with a trailing space)? None when no grammar
    is installed."""
    found = None
    texts = dict.fromkeys((code, _TRAILING_SPACE.sub("", code)))
    for plang in GRAMMARS:
        if parser(plang) is None:
            continue
        found = False
        for text in texts:
            frag = _fragment(plang, text)
            if parses(plang, text) or (frag is not None and not _has_error(parser(plang), frag)):
                return True
    return found


#: languages whose grammar misses common dialects (MySQL's quoted aliases, DATE_SUB): a code-only
#: answer labelled so that parses nowhere is flagged, not dropped
_DIALECTS = ("sql",)


def code_blocks(text: str, plang: str) -> list[str]:
    """The code of a field: its fenced blocks in ``plang`` (or untagged), else the whole field."""
    if "```" not in text:
        return [text]
    from ..taxonomy import plang_from_alias

    out = []
    for tag, body in _FENCE.findall(text):
        pl = plang_from_alias(tag) if tag else plang
        if pl == plang and body.strip():
            out.append(body)
    return out


def check_record(record: dict, drop_tasks: frozenset) -> str | None:
    key = record.get("subtask") or record.get("task")
    fields = CHECKS.get(key)
    plang = record.get("plang")
    if not fields or not plang:
        return None
    for name in fields:
        text = record.get(name)
        if not isinstance(text, str):
            continue
        pl = record.get("target_plang") if (name == "output" and key == "code_translation") else plang
        if not pl:
            continue
        for block in code_blocks(text, pl):
            ok = parses(pl, block)
            if ok is False:
                if (key == "code_generation" and "```" not in text and pl not in _DIALECTS
                        and parses_somewhere(text) is False):
                    return f"code-only answer parses in no language ({key})"
                reason = f"{pl} {name} does not parse ({key})"
                return reason if key in drop_tasks else Flag(reason)
    return None


#: the fields :func:`check_record` reads (all a worker reads of a record)
COLUMNS = ("task", "subtask", "plang", "target_plang", "input", "output")
_JOB: tuple | None = None  # (store, drop tasks, indices to check) for a forked worker



def checked(corpus: Corpus, alive) -> np.ndarray:
    """The sorted indices of the records in ``alive`` that :func:`check_record` may fault: their
    (task or subtask) is in :data:`CHECKS` and they have a plang (from the corpus's leaf codes: no
    record read)."""
    want = np.array([bool(leaf[3]) and (leaf[1] or leaf[0]) in CHECKS for leaf in corpus.leaf_names], dtype=bool)
    return np.flatnonzero(np.asarray(alive, dtype=bool) & want[corpus.leaf_codes])


def _check_all() -> tuple[np.ndarray, np.ndarray, list[tuple[str, bool]]]:
    """Check the records of :data:`_JOB`, read from its store in index order (only :data:`COLUMNS`):
    the indices of the faulty ones, a code per fault and the (reason, is a flag) each code stands
    for (all a forked worker sends back). The store is a copy with its own lock: its files are
    reopened in a forked worker, and a lock a thread of the parent held at the fork is not the copy's."""
    store, drop, indices = _JOB
    store = copy.copy(store)
    hits, codes = [], []
    kinds: dict[tuple[str, bool], int] = {}
    for i, r in store.iter_records(indices, COLUMNS):
        reason = check_record(r, drop)
        if reason:
            hits.append(i)
            codes.append(kinds.setdefault((str(reason), isinstance(reason, Flag)), len(kinds)))
    return np.array(hits, dtype=np.int64), np.array(codes, dtype=np.int32), list(kinds)


@dataclass
class ParseCheck:
    """The parse check as a corpus step. :meth:`prepare` starts it in a forked process (where
    fork exists and the corpus has ``fork_min`` records), so it runs on the second core while the
    main process computes the shingles and signatures the later steps need. The worker reads the
    records it checks from the corpus's store itself and sends back only its faults (indices and
    reason codes); what it gets from the parent at the fork is the store's file names and the
    indices to check."""

    cfg: ParseConfig
    name: str = "parse"
    fork_min: int = 2000

    def prepare(self, corpus: Corpus) -> None:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        if "fork" not in mp.get_all_start_methods() or len(corpus) < max(1, self.fork_min):
            return
        global _JOB
        alive = corpus.alive if corpus.early_alive is None else corpus.early_alive
        _JOB = (corpus.store, frozenset(self.cfg.parse_drop), checked(corpus, alive))
        self._pool = ProcessPoolExecutor(1, mp_context=mp.get_context("fork"))
        self._future = self._pool.submit(_check_all)
        _JOB = None  # the child has its copy

    def run(self, corpus: Corpus) -> Outcome:
        out = Outcome()
        drop = frozenset(self.cfg.parse_drop)
        missing = missing_grammars()
        if missing and getattr(self.cfg, "strict", False):
            raise ValueError(f"--strict: {_missing_text(missing)}")
        future = getattr(self, "_future", None)
        results = None
        if future is not None:
            try:
                results = future.result()
            except Exception:  # noqa: BLE001 - a broken worker: check here instead
                results = None
            finally:
                self._pool.shutdown()
                self._future = None
        if results is None:
            global _JOB
            _JOB = (corpus.store, drop, checked(corpus, corpus.alive))
            try:
                results = _check_all()
            finally:
                _JOB = None
        hits, codes, kinds = results
        live = corpus.alive[hits]
        for i, code in zip(hits[live].tolist(), codes[live].tolist()):
            reason, is_flag = kinds[code]
            if is_flag:
                out.flags.append((i, reason))
            else:
                out.drops.append((i, reason, None))
        av = available()
        out.stats.update(grammars={k: ("tree-sitter" if v else "missing") for k, v in sorted(av.items())},
                         policy={k: ("drop" if k in drop else "flag") for k in CHECKS})
        if missing:
            out.stats["warnings"] = [f"NOT parse-checked: {_missing_text(missing)}"]
        return out


def _section(results: list) -> dict:
    st = result_named(results, ParseCheck.name)
    return stats_of(st, dropped=st.dropped, flagged=st.flagged, flagged_by_reason=st.flagged_by_reason) if st else {}


def _markdown(report) -> list[str]:
    pr = report.get("parse", {})
    if not pr:
        return []
    return ["## Parse check", "",
            "Policy per task: " + ", ".join(f"{k}: {v}" for k, v in pr.get("policy", {}).items()) + ".",
            f"Dropped {pr.get('dropped', 0):,}, flagged {pr.get('flagged', 0):,}"
            + (f" ({reasons(pr.get('flagged_by_reason', {}))})" if pr.get("flagged_by_reason") else "") + ".", ""]


def _card(report: Mapping) -> list[str]:
    pr = report.get("parse")
    if not pr:
        return []
    drop = sorted(k for k, v in pr.get("policy", {}).items() if v == "drop")
    flag = sorted(k for k, v in pr.get("policy", {}).items() if v == "flag")
    return [f"Parse check: code that does not parse is dropped ({', '.join(drop) or 'no task'}) or only "
            f"counted ({', '.join(flag) or 'no task'}); {pr.get('dropped', 0):,} dropped, "
            f"{pr.get('flagged', 0):,} counted."]


#: the parse check's entry of mulco.steps.registry.STEPS
STEP = StepSpec(ParseCheck.name, lambda cfg, inputs: ParseCheck(cfg), ParseConfig, enabled=lambda cfg: cfg.parse_check,
                settings=Settings("parse", ParseConfig.parse_settings),
                section=Section("parse", _section, markdown=((40, _markdown),), place=40, card=((40, _card),)))
