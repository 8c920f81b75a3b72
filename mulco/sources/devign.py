"""Devign defect detection, as prepared by CodeXGLUE (Defect-detection).

URL: https://github.com/microsoft/CodeXGLUE/tree/main/Code-Code/Defect-detection
License: C-UDA (CodeXGLUE data agreement); the C functions come from FFmpeg and QEMU
(Zhou et al., Devign, NeurIPS 2019).

Raw files under ``codexglue/Defect-detection/dataset/``:

* ``function.json``: ONE JSON array of ``{"project", "commit_id", "target": 0|1, "func"}``;
  it is not in the CodeXGLUE repository and must be downloaded (Google Drive link in the
  Defect-detection README);
* ``train.txt``, ``valid.txt``, ``test.txt``: one integer per line, an index into that array.

One unit is one ``function.json`` item. Each makes two ``code_search/defect_detection``
records (plang ``c``), English and Chinese; the output is Yes/No (是/否) from ``target``
(1 = vulnerable). The split comes from the txt files (an index listed in several: test wins,
then validation); an item no txt file lists gets no split (the build hashes one). An index in
a txt file that is not in the array (or not an integer) is quarantined with that file and line.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from .. import templates
from ..record import Record
from ..taxonomy import LANGS
from ..textio import fence
from .base import (CODEXGLUE_CITATION, BadRow, MissingSourceFile, Rejected, Row, SourceSpec, excerpt, glob_files,
    iter_json_array, need_str, norm_split, rel, templated_record)

DIR = "codexglue/Defect-detection/dataset"
FUNCTIONS = f"{DIR}/function.json"
INDEX_FILES = ("train.txt", "valid.txt", "test.txt")
PLANG = "c"
#: When an index is listed in several split files, the first of these wins.
_PRIORITY = ("test", "validation", "train")

SPEC = SourceSpec(
    name="devign",
    title="Devign (CodeXGLUE defect detection)",
    url="https://github.com/microsoft/CodeXGLUE/tree/main/Code-Code/Defect-detection",
    license="C-UDA-1.0",
    license_url="https://github.com/microsoft/Computational-Use-of-Data-Agreement",
    patterns=(FUNCTIONS, *(f"{DIR}/{f}" for f in INDEX_FILES)),
    expected=(f"{FUNCTIONS} (a JSON array of {{project, commit_id, target, func}}, downloaded from the Google "
              "Drive link in the CodeXGLUE Defect-detection README; it is not in the git repository) and "
              f"optionally {DIR}/{{train,valid,test}}.txt (one array index per line)"),
    citation=(
        "@inproceedings{zhou2019devign,\n  title = {Devign: Effective Vulnerability Identification by Learning "
        "Comprehensive Program Semantics via Graph Neural Networks},\n  author = {Zhou, Yaqin and Liu, Shangqing "
        "and Siow, Jingkai and Du, Xiaoning and Liu, Yang},\n  booktitle = {Advances in Neural Information "
        "Processing Systems},\n  pages = {10197--10207},\n  year = {2019}\n}\n"
        + CODEXGLUE_CITATION
    ),
    produces=(("code_search", "defect_detection"),),
    unit="array item",
)


def find(raw_dir: Path) -> list[Path]:
    """function.json plus any split files; split files without function.json is an error."""
    files = glob_files(raw_dir, SPEC.patterns)
    if files and not any(p.name == "function.json" for p in files):
        raise MissingSourceFile(
            SPEC.name, raw_dir / FUNCTIONS,
            "function.json: the Devign functions, a JSON array of {project, commit_id, target, func}; download it "
            "from the Google Drive link in the CodeXGLUE Code-Code/Defect-detection README (only the split "
            "index files train/valid/test.txt are in the repository)",
        )
    return files


def read(raw_dir: Path, files: list[Path]) -> Iterator[Row | Rejected]:
    """The items of function.json with their split; bad index lines are rejected units."""
    index_files = [p for p in files if p.name in INDEX_FILES]
    listed: dict[int, list[tuple[str, str, int]]] = {}  # index -> [(split, file, line)]
    bad_lines: list[Rejected] = []
    for path in index_files:
        name, split = rel(raw_dir, path), norm_split(path.stem)
        for lineno, text in enumerate(path.read_text(encoding="utf-8-sig", errors="replace").splitlines(), 1):
            if not text.strip():
                continue
            try:
                listed.setdefault(int(text), []).append((split, name, lineno))
            except ValueError:
                bad_lines.append(Rejected(name, lineno, "bad index line: not an integer", excerpt=excerpt(text)))
    for path in files:
        if path.name != "function.json":
            continue
        units = list(iter_json_array(path, rel(raw_dir, path)))
        size = 1 + max((u.line for u in units if isinstance(u.line, int)), default=-1)
        unreadable = any(isinstance(u, Rejected) and not isinstance(u.line, int) for u in units)
        for u in units:
            if isinstance(u, Row):
                u.split = pick_split(s for s, _, _ in listed.get(u.line, ()))
            yield u
        for index, where in sorted(listed.items()) if not unreadable else ():
            if not 0 <= index < size:
                for _, name, lineno in where:
                    yield Rejected(name, lineno, f"unknown index: {index} is not in function.json "
                                   f"({size} items)", excerpt=str(index))
    yield from bad_lines


def pick_split(splits) -> str | None:
    """The split of an item listed in these split files (test > validation > train)."""
    found = set(splits)
    return next((s for s in _PRIORITY if s in found), None)


def parse_target(data: dict) -> bool:
    """``target`` 0/1 -> False/True, else BadRow."""
    if not isinstance(data, dict) or "target" not in data:
        raise BadRow("missing field 'target'", "target")
    target = data["target"]
    if isinstance(target, bool) or target not in (0, 1):
        raise BadRow(f"target {target!r} is not 0 or 1", "target")
    return target == 1



def to_records(row: Row) -> list[Record]:
    func = need_str(row.data, "func")
    vulnerable = parse_target(row.data)
    return [templated_record(SPEC, row.source_id, lang, task="code_search", subtask="defect_detection", plang=PLANG,
                             input=fence(func, PLANG), output=templates.label("defect_detection", vulnerable, lang))
            for lang in LANGS]
