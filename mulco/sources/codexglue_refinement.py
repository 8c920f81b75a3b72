"""CodeXGLUE code refinement: buggy Java methods and their fixed versions (Tufano et al.).

Raw files (https://github.com/microsoft/CodeXGLUE/tree/main/Code-Code/code-refinement):
``codexglue/code-refinement/data/{small,medium}/{train,valid,test}.buggy-fixed.{buggy,fixed}``,
one abstracted Java method per line (identifiers renamed ``TYPE_n``/``METHOD_n``/``VAR_n``,
tokens space-separated); line i of ``.buggy`` is fixed by line i of ``.fixed``. A unit is one
aligned line pair; a line with no counterpart in the other file is quarantined as misaligned.

Records per pair, in English and in Chinese (the instruction only; both sides are code):
``code_search/code_repair``, plang java, input = the buggy method, output = the fixed one.
The instruction says that the answer is the developer's actual fix (the commit's change, which
the input does not always let one infer), and over abstracted code (:data:`ABSTRACT_NAME` in
either side: nearly all pairs) that identifiers are abstracted (template key
``code_repair_abstracted``). A pair whose two sides are equal, that differ only by redundant
parentheses around one name or literal (:func:`noop_edit`: ``( VAR_1 ) != null`` for
``VAR_1 != null``, the abstraction's own formatting), or with an empty side, is quarantined.
A fix that only adds or removes print statements (:func:`print_only_edit`) is counted and can
be dropped by the ``print_only_fix`` step (``--drop-print-fixes``). The file's split is kept.
Data license C-UDA-1.0. Citation: Tufano et al. 2019; Lu et al. 2021 (CodeXGLUE).
"""
from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Iterator

from ..record import Record
from ..taxonomy import LANGS
from .base import (CODEXGLUE_CITATION, BadRow, Rejected, Row, SourceSpec, glob_files, need_str, norm_split, pairs,
    read_aligned, templated_record)

SPEC = SourceSpec(
    name="codexglue_refinement",
    title="CodeXGLUE code refinement (Java bug fixes)",
    url="https://github.com/microsoft/CodeXGLUE/tree/main/Code-Code/code-refinement",
    license="C-UDA-1.0",
    license_url="https://spdx.org/licenses/C-UDA-1.0.html",
    patterns=("codexglue/code-refinement/data/*/*.buggy-fixed.buggy", "codexglue/code-refinement/data/*/*.buggy-fixed.fixed"),
    expected="codexglue/code-refinement/data/{small,medium}/{train,valid,test}.buggy-fixed.{buggy,fixed}: "
    "line-aligned buggy and fixed Java methods, one per line",
    citation=(
        "@article{tufano2019empirical,\n  title = {An Empirical Study on Learning Bug-Fixing Patches in the Wild "
        "via Neural Machine Translation},\n  author = {Tufano, Michele and Watson, Cody and Bavota, Gabriele and "
        "Di Penta, Massimiliano and White, Martin and Poshyvanyk, Denys},\n  journal = {ACM Transactions on "
        "Software Engineering and Methodology},\n  volume = {28},\n  number = {4},\n  year = {2019}\n}\n"
        + CODEXGLUE_CITATION
    ),
    produces=(("code_search", "code_repair"),),
    unit="line pair",
)

BUGGY, FIXED = ".buggy", ".fixed"
PLANG = "java"


def find(raw_dir: Path) -> list[Path]:
    files = glob_files(raw_dir, SPEC.patterns)
    pairs(raw_dir, files, BUGGY, FIXED, SPEC.name, SPEC.expected)  # both halves present
    return files


def read(raw_dir: Path, files: list[Path]) -> Iterator[Row | Rejected]:
    for buggy, fixed in pairs(raw_dir, files, BUGGY, FIXED, SPEC.name, SPEC.expected):
        split = norm_split(buggy.name.split(".")[0])
        yield from read_aligned(raw_dir, buggy, fixed, ("buggy", "fixed"), split)


#: a name of CodeXGLUE's abstraction (Tufano et al.): VAR_1, METHOD_2, TYPE_3
ABSTRACT_NAME = re.compile(r"\b(?:VAR|METHOD|TYPE)_\d+\b")
#: ``( x )`` around one name, member chain or literal, not a call's or a cast's parentheses
_REDUNDANT_PARENS = re.compile(r"(?<![\w>\]]) \( ([\w.$]+|\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*') \)(?= [^\w(\"'])")
#: a statement that only prints (space-tokenised, as in the files)
_PRINT_STATEMENT = re.compile(r"(?:java\.lang\.)?System\.(?:out|err)\.print(?:ln|f)? \( .* \) ;|"
                              r"[\w.]+ \. printStackTrace \( \) ;|(?:android\.util\.)?Log \. [dewiv] \( .* \) ;")


def _unparenthesised(code: str) -> list[str]:
    text = f" {code} "
    while True:
        stripped = _REDUNDANT_PARENS.sub(r" \1", text)
        if stripped == text:
            return text.split()
        text = stripped


def noop_edit(buggy: str, fixed: str) -> bool:
    """The two methods differ only by redundant parentheses around one name or literal."""
    return buggy.split() != fixed.split() and _unparenthesised(buggy) == _unparenthesised(fixed)


def _statements(code: str) -> list[str]:
    """A space-tokenised method cut after each ``;``, ``{`` and ``}``."""
    out, cur = [], []
    for tok in code.split():
        cur.append(tok)
        if tok in (";", "{", "}"):
            out.append(" ".join(cur))
            cur = []
    return out + ([" ".join(cur)] if cur else [])


def print_only_edit(buggy: str, fixed: str) -> str | None:
    """"adds"/"removes" when the fix only adds or only removes print statements
    (``System.out.println``, ``printStackTrace``, ``Log.d``), else None."""
    a, b = _statements(buggy), _statements(fixed)
    removed, added = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op != "equal":
            removed += a[i1:i2]
            added += b[j1:j2]
    if bool(removed) == bool(added):
        return None
    changed = removed or added
    return ("removes" if removed else "adds") if all(_PRINT_STATEMENT.fullmatch(s) for s in changed) else None


def to_records(row: Row) -> list[Record]:
    buggy, fixed = need_str(row.data, "buggy"), need_str(row.data, "fixed")
    if buggy.split() == fixed.split():
        raise BadRow("no change: the buggy and fixed methods are the same", "fixed")
    if noop_edit(buggy, fixed):
        raise BadRow("no-op: the fix only adds or removes redundant parentheses", "fixed")
    key = "code_repair_abstracted" if ABSTRACT_NAME.search(buggy) or ABSTRACT_NAME.search(fixed) else "code_repair"
    return [templated_record(SPEC, row.source_id, lang, task="code_search", subtask="code_repair", plang=PLANG,
                             input=buggy, output=fixed, key=key) for lang in LANGS]
