"""BigCloneBench clone detection, as prepared by CodeXGLUE (Clone-detection-BigCloneBench).

URL: https://github.com/microsoft/CodeXGLUE/tree/main/Code-Code/Clone-detection-BigCloneBench
License: C-UDA (Computational Use of Data Agreement) for the CodeXGLUE data; the Java functions
come from IJaDataset 2.0 (BigCloneBench, Svajlenko et al. 2014).

Raw files under ``codexglue/Clone-detection-BigCloneBench/dataset/``:

* ``data.jsonl``: one ``{"idx": str, "func": str}`` per line (the Java functions);
* ``train.txt``, ``valid.txt``, ``test.txt``: one pair per line, ``idx1<TAB>idx2<TAB>label``
  (any whitespace is accepted), label 1 = the two functions are semantic clones.

One unit is one pair line. Each usable pair makes two ``code_search/clone_detection`` records
(plang ``java``), one English and one Chinese: the input shows both functions, labelled
"Code 1"/"Code 2" ("代码 1"/"代码 2"), the output is Yes/No (是/否). The split is the pair file's.
A malformed ``data.jsonl`` line is quarantined as its own unit; a pair naming an id that is
not in ``data.jsonl`` is quarantined too.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from .. import templates
from ..record import Record
from ..taxonomy import LANGS
from ..textio import BadLine, decode_line, fence, nonblank_lines, strip_bom
from .base import (CODEXGLUE_CITATION, BadRow, MissingSourceFile, Rejected, Row, SourceSpec, blank, excerpt,
    glob_files, norm_split, rel, templated_record, unicode_problem)

DIR = "codexglue/Clone-detection-BigCloneBench/dataset"
DATA = f"{DIR}/data.jsonl"
PAIR_FILES = ("train.txt", "valid.txt", "test.txt")
PLANG = "java"

SPEC = SourceSpec(
    name="bigclonebench",
    title="BigCloneBench (CodeXGLUE clone detection)",
    url="https://github.com/microsoft/CodeXGLUE/tree/main/Code-Code/Clone-detection-BigCloneBench",
    license="C-UDA-1.0",
    license_url="https://github.com/microsoft/Computational-Use-of-Data-Agreement",
    patterns=(DATA, *(f"{DIR}/{f}" for f in PAIR_FILES)),
    expected=(f"{DATA} (JSON lines {{idx, func}}) and {DIR}/{{train,valid,test}}.txt "
              "(lines 'idx1<TAB>idx2<TAB>label'), from the CodeXGLUE Clone-detection-BigCloneBench dataset"),
    citation=(
        "@inproceedings{svajlenko2014towards,\n  title = {Towards a Big Data Curated Benchmark of Inter-project "
        "Code Clones},\n  author = {Svajlenko, Jeffrey and Islam, Judith F. and Keivanloo, Iman and Roy, Chanchal K. "
        "and Mia, Mohammad Mamun},\n  booktitle = {2014 IEEE International Conference on Software Maintenance and "
        "Evolution},\n  pages = {476--480},\n  year = {2014}\n}\n"
        + CODEXGLUE_CITATION
    ),
    produces=(("code_search", "clone_detection"),),
    unit="pair line",
)


def find(raw_dir: Path) -> list[Path]:
    """data.jsonl plus the pair files; partly present (one without the other) is an error."""
    files = glob_files(raw_dir, SPEC.patterns)
    names = {p.name for p in files}
    if not files:
        return []
    if "data.jsonl" not in names:
        raise MissingSourceFile(SPEC.name, raw_dir / DATA, SPEC.expected)
    if not names & set(PAIR_FILES):
        raise MissingSourceFile(SPEC.name, raw_dir / DIR / "train.txt", SPEC.expected)
    return files


def read(raw_dir: Path, files: list[Path]) -> Iterator[Row | Rejected]:
    """Load data.jsonl into a dict (its bad lines are rejected units), then yield the pairs."""
    funcs: dict[str, str] = {}
    for path in files:
        if path.name == "data.jsonl":
            yield from _load_functions(path, rel(raw_dir, path), funcs)
    for path in files:
        if path.name in PAIR_FILES:
            yield from _read_pairs(path, rel(raw_dir, path), funcs)


def _load_functions(path: Path, name: str, funcs: dict[str, str]) -> Iterator[Rejected]:
    """Fill ``funcs`` (idx -> code); yield a Rejected for every line that cannot be used."""
    with open(path, "rb") as fh:
        for lineno, raw in nonblank_lines(fh):
            try:
                obj, _ = decode_line(raw)
            except BadLine as e:
                yield Rejected(name, lineno, e.reason, excerpt=excerpt(raw))
                continue
            problem = _function_problem(obj, funcs)
            if problem:
                yield Rejected(name, lineno, problem[0], problem[1], excerpt=excerpt(raw.decode("utf-8", "replace")))
                continue
            funcs[str(obj["idx"])] = obj["func"]


def _function_problem(obj: object, funcs: dict[str, str]) -> tuple[str, str | None] | None:
    """Why a data.jsonl object is unusable (reason, field), or None."""
    if not isinstance(obj, dict):
        return f"expected a JSON object, got {type(obj).__name__}", None
    idx, func = obj.get("idx"), obj.get("func")
    if not isinstance(idx, (str, int)) or isinstance(idx, bool) or not str(idx).strip():
        return "missing or invalid field 'idx'", "idx"
    if not isinstance(func, str):
        return "missing field 'func' or not a string", "func"
    if str(idx) in funcs:
        return f"duplicate id: {idx} appears twice in data.jsonl", "idx"
    problem = unicode_problem(obj)
    if problem:  # a '\ud800' escape: the text cannot be written as UTF-8
        return problem, None
    return None


def _read_pairs(path: Path, name: str, funcs: dict[str, str]) -> Iterator[Row | Rejected]:
    split = norm_split(path.stem)
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if lineno == 1:
                raw = strip_bom(raw)
            text = raw.decode("utf-8", "replace")
            parts = text.split()
            if not parts:
                continue  # blank lines are not units
            if len(parts) != 3:
                yield Rejected(name, lineno, f"malformed pair line: {len(parts)} fields, expected 'idx1 idx2 label'",
                               excerpt=excerpt(text.strip()))
                continue
            idx1, idx2, label = parts
            missing = [i for i in (idx1, idx2) if i not in funcs]
            if missing:
                yield Rejected(name, lineno, f"unknown id: {', '.join(missing)} not in data.jsonl", "idx",
                               excerpt=excerpt(text.strip()))
                continue
            data = {"idx1": idx1, "idx2": idx2, "label": label, "func1": funcs[idx1], "func2": funcs[idx2]}
            yield Row(name, lineno, data, split)


def parse_label(label: str) -> bool:
    """'0'/'1' -> False/True; anything else is a BadRow."""
    if label.strip() not in ("0", "1"):
        raise BadRow(f"label {label!r} is not 0 or 1", "label")
    return label.strip() == "1"



def pair_input(func1: str, func2: str, lang: str) -> str:
    """Both functions, labelled "Code 1:"/"Code 2:" (中文 "代码 1：")."""
    word = templates.load(lang)["labels"]["code"]
    colon = "：" if lang == "zh" else ":"
    return "\n\n".join(f"{word} {i}{colon}\n{fence(f, PLANG)}" for i, f in ((1, func1), (2, func2)))


def to_records(row: Row) -> list[Record]:
    data = row.data
    is_clone = parse_label(data["label"])
    for key in ("func1", "func2"):
        if blank(data[key]):
            idx = data["idx1" if key == "func1" else "idx2"]
            raise BadRow(f"empty function: id {idx} has an empty 'func' in data.jsonl", "func")
    return [templated_record(SPEC, row.source_id, lang, task="code_search", subtask="clone_detection", plang=PLANG,
                             input=pair_input(data["func1"], data["func2"], lang),
                             output=templates.label("clone_detection", is_clone, lang))
            for lang in LANGS]
