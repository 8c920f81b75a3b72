"""CodeXGLUE code refinement: buggy Java methods and their fixed versions (Tufano et al.).

Raw files (https://github.com/microsoft/CodeXGLUE/tree/main/Code-Code/code-refinement):
``codexglue/code-refinement/data/{small,medium}/{train,valid,test}.buggy-fixed.{buggy,fixed}``,
one abstracted Java method per line (identifiers renamed ``TYPE_n``/``METHOD_n``/``VAR_n``,
tokens space-separated); line i of ``.buggy`` is fixed by line i of ``.fixed``. A unit is one
aligned line pair; a line with no counterpart in the other file is quarantined as misaligned.

Records per pair, in English and in Chinese (the instruction only; both sides are code):
``code_search/code_repair``, plang java, input = the buggy method, output = the fixed one.
A pair whose two sides are equal, or with an empty side, is quarantined. The file's split is
kept. Data license C-UDA-1.0. Citation: Tufano et al. 2019; Lu et al. 2021 (CodeXGLUE).
"""
from __future__ import annotations

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


def to_records(row: Row) -> list[Record]:
    buggy, fixed = need_str(row.data, "buggy"), need_str(row.data, "fixed")
    if buggy.split() == fixed.split():
        raise BadRow("no change: the buggy and fixed methods are the same", "fixed")
    return [templated_record(SPEC, row.source_id, lang, task="code_search", subtask="code_repair", plang=PLANG,
                             input=buggy, output=fixed) for lang in LANGS]
