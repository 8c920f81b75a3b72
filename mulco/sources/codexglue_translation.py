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

import itertools
from pathlib import Path
from typing import Iterator

from ..record import Record
from ..taxonomy import LANGS
from .base import (CODEXGLUE_CITATION, BadRow, MissingSourceFile, Rejected, Row, SourceSpec, excerpt,
    glob_files, need_str, norm_split, rel, templated_record)

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


def pairs(raw_dir: Path, files: list[Path], left_suffix: str, right_suffix: str, source: str,
          expected: str) -> list[tuple[Path, Path]]:
    """(left, right) file pairs; :class:`MissingSourceFile` when a file lacks its counterpart."""
    names = {p.name for p in files}
    out = []
    for path in files:
        for mine, other in ((left_suffix, right_suffix), (right_suffix, left_suffix)):
            if path.name.endswith(mine):
                twin = path.with_name(path.name[: -len(mine)] + other)
                if twin.name not in names:
                    raise MissingSourceFile(source, rel(raw_dir, twin), expected)
                if mine == left_suffix:
                    out.append((path, twin))
    return out


def _decode(raw: bytes, name: str, lineno: int) -> str | Rejected:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return Rejected(name, lineno, f"invalid UTF-8: byte {e.start} of the line",
                        excerpt=excerpt(raw.decode("utf-8", "replace")))
    return text.lstrip("\ufeff") if lineno == 1 else text


def read_aligned(raw_dir: Path, left: Path, right: Path, keys: tuple[str, str],
                 split: str | None) -> Iterator[Row | Rejected]:
    """One Row per aligned line pair of two parallel files (``Row.file`` = the left file,
    ``data`` = {keys[0]: left line, keys[1]: right line}, both stripped); a line with no
    counterpart, or an undecodable line, is Rejected; blank pairs and blank extra lines are skipped."""
    lname, rname = rel(raw_dir, left), rel(raw_dir, right)
    with open(left, "rb") as lf, open(right, "rb") as rf:
        for lineno, (lraw, rraw) in enumerate(itertools.zip_longest(lf, rf), 1):
            if lineno == 1:  # a BOM is not content: a BOM-only line is blank
                lraw, rraw = ((r[3:] or None) if r is not None and r.startswith(b"\xef\xbb\xbf") else r
                              for r in (lraw, rraw))
                if lraw is None and rraw is None:
                    continue
            if lraw is None or rraw is None:
                have, name, other = (lraw, lname, rname) if rraw is None else (rraw, rname, lname)
                if have.strip():
                    yield Rejected(name, lineno, f"misaligned: no counterpart line in {other}",
                                   excerpt=excerpt(have.decode("utf-8", "replace").strip()))
                continue
            if not lraw.strip() and not rraw.strip():
                continue
            ltext, rtext = _decode(lraw, lname, lineno), _decode(rraw, rname, lineno)
            bad = next((t for t in (ltext, rtext) if isinstance(t, Rejected)), None)
            if bad is not None:
                yield bad
                continue
            yield Row(lname, lineno, {keys[0]: ltext.strip(), keys[1]: rtext.strip()}, split)


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
