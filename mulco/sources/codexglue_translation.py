"""CodeXGLUE code-to-code translation: the same method in Java and in C#.

Raw files (https://github.com/microsoft/CodeXGLUE/tree/main/Code-Code/code-to-code-trans):
``codexglue/code-to-code-trans/data/{train,valid,test}.java-cs.txt.{java,cs}``, one method per
line; line i of the ``.java`` file is line i of the ``.cs`` file in the other language (methods
from Lucene, POI, JGit and Antlr and their C# ports). A unit is one aligned line pair; a line
with no counterpart in the other file is quarantined as misaligned, blank pairs are skipped.

Records per pair, in English and in Chinese (the instruction only; both sides are code):
``code_search/code_translation`` Java -> C# and C# -> Java. The ``source_id`` of a record names
the file of its input side (``...txt.java:<line>`` for Java -> C#, ``...txt.cs:<line>`` for
C# -> Java), so it differs per direction. The file's split is kept. Data license C-UDA-1.0.
Citation: Lu et al. 2021 (CodeXGLUE).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..record import Record
from ..taxonomy import LANGS
from .base import (CODEXGLUE_CITATION, BadRow, Rejected, Row, SourceSpec, glob_files, need_str, norm_split, pairs,
    read_aligned, templated_record)

SPEC = SourceSpec(
    name="codexglue_translation",
    title="CodeXGLUE code-to-code translation (Java <-> C#)",
    url="https://github.com/microsoft/CodeXGLUE/tree/main/Code-Code/code-to-code-trans",
    license="C-UDA-1.0",
    license_url="https://spdx.org/licenses/C-UDA-1.0.html",
    patterns=("codexglue/code-to-code-trans/data/*.java-cs.txt.java", "codexglue/code-to-code-trans/data/*.java-cs.txt.cs"),
    expected="codexglue/code-to-code-trans/data/{train,valid,test}.java-cs.txt.{java,cs}: line-aligned "
    "Java and C# methods, one per line",
    citation=CODEXGLUE_CITATION,
    produces=(("code_search", "code_translation"),),
    unit="line pair",
)

#: (file suffix, plang, data key) of the two sides.
SIDES = ((".java", "java"), (".cs", "csharp"))


def find(raw_dir: Path) -> list[Path]:
    files = glob_files(raw_dir, SPEC.patterns)
    pairs(raw_dir, files, SIDES[0][0], SIDES[1][0], SPEC.name, SPEC.expected)  # both halves present
    return files


def read(raw_dir: Path, files: list[Path]) -> Iterator[Row | Rejected]:
    for java, cs in pairs(raw_dir, files, SIDES[0][0], SIDES[1][0], SPEC.name, SPEC.expected):
        split = norm_split(java.name.split(".")[0])
        yield from read_aligned(raw_dir, java, cs, (SIDES[0][1], SIDES[1][1]), split)


def _records(source_id: str, plang: str, target: str, code: str, translation: str) -> list[Record]:
    made = []
    made += [templated_record(SPEC, source_id, lang, task="code_search", subtask="code_translation", plang=plang,
                              target_plang=target, input=code, output=translation) for lang in LANGS]
    return made


def to_records(row: Row) -> list[Record]:
    (jsuf, java_key), (csuf, cs_key) = SIDES
    java, cs = need_str(row.data, java_key), need_str(row.data, cs_key)
    if not row.file.endswith(jsuf):
        raise BadRow(f"bad row file: {row.file!r} is not a {jsuf} file")
    cs_file = row.file[: -len(jsuf)] + csuf
    return (_records(f"{row.file}:{row.line}", java_key, cs_key, java, cs)
            + _records(f"{cs_file}:{row.line}", cs_key, java_key, cs, java))
