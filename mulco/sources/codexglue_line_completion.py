"""CodeXGLUE line-level code completion (py150 and javaCorpus): the code so far -> the next line.

Raw files (https://github.com/microsoft/CodeXGLUE/tree/main/Code-Code/CodeCompletion-line):
``codexglue/CodeCompletion-line/dataset/{py150,javaCorpus}/**/*.json``, JSON Lines of
``{"input": str, "gt": str}``: ``input`` is the preceding code, space-tokenized, starting with
``<s>``; py150 marks line breaks with ``<EOL>`` (javaCorpus has none); literals are normalised
to placeholders (``<STR_LIT>``, ``<NUM_LIT:0>``, ...); ``gt`` is the rest of the line to write.
The file name gives the split (train.json, dev.json -> validation, test.json); the folder the
language (py150 -> python, javaCorpus -> java). A unit is one line.

Records per line, in English and in Chinese (the instruction only; both sides are code):
``code_search/code_completion``, output = ``gt``. When the input ends in the middle of a line (py150:
it does not end with ``<EOL>``; javaCorpus: its last token is not ``;``, ``{``, ``}`` or an
annotation), ``gt`` is the rest of that line and the instruction says "complete the current
line" (template key ``code_completion_line``); otherwise it asks for the next line. The input drops the leading ``<s>``, turns
py150's ``<EOL>`` into line breaks and keeps the placeholders as they are. Inputs run to tens of
kilobytes, so only the tail of the context is kept: the last 30 lines for py150 (the current,
possibly empty, line included), and for javaCorpus, which has no line breaks, the last 1500
characters, starting at a token boundary. The answer has the same tokenised form as the
context, so the instruction says what that form is (template note ``tokenised_python`` /
``tokenised_java``: tokens separated by spaces, ``<STR_LIT>``/``<NUM_LIT>`` placeholders, and for
py150 no indentation, for javaCorpus no line breaks; issue 23). Data license C-UDA-1.0. Citation: Lu et al. 2021
(CodeXGLUE); Raychev et al. 2016 (py150); Allamanis and Sutton 2013 (javaCorpus).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from .. import templates
from ..record import Record
from ..taxonomy import LANGS
from .base import (CODEXGLUE_CITATION, BadRow, JsonLines, Rejected, Row, SourceSpec, glob_files, need_str,
    norm_split, templated_record)

SPEC = SourceSpec(
    name="codexglue_line_completion",
    title="CodeXGLUE line-level code completion (py150, javaCorpus)",
    url="https://github.com/microsoft/CodeXGLUE/tree/main/Code-Code/CodeCompletion-line",
    license="C-UDA-1.0",
    license_url="https://spdx.org/licenses/C-UDA-1.0.html",
    patterns=("codexglue/CodeCompletion-line/dataset/py150/**/*.json",
              "codexglue/CodeCompletion-line/dataset/javaCorpus/**/*.json"),
    expected="codexglue/CodeCompletion-line/dataset/{py150,javaCorpus}/.../{train,dev,test}.json: "
    'JSON Lines of {"input", "gt"}',
    citation=(
        CODEXGLUE_CITATION + "\n"
        "@inproceedings{raychev2016probabilistic,\n  title = {Probabilistic Model for Code with Decision Trees},\n"
        "  author = {Raychev, Veselin and Bielik, Pavol and Vechev, Martin},\n  booktitle = {OOPSLA},\n"
        "  year = {2016}\n}\n"
        "@inproceedings{allamanis2013mining,\n  title = {Mining Source Code Repositories at Massive Scale using "
        "Language Modeling},\n  author = {Allamanis, Miltiadis and Sutton, Charles},\n  booktitle = {MSR},\n"
        "  year = {2013}\n}"
    ),
    produces=(("code_search", "code_completion"),),
    unit="line",
)

CORPORA = {"py150": "python", "javaCorpus": "java"}
PY_TAIL_LINES = 30
JAVA_TAIL_CHARS = 1500
_EOL = re.compile(r" ?<EOL> ?")


def find(raw_dir: Path) -> list[Path]:
    return glob_files(raw_dir, SPEC.patterns)


def read(raw_dir: Path, files: list[Path]) -> Iterator[Row | Rejected]:
    for path in files:
        yield from JsonLines(raw_dir, path, norm_split(path.stem))


def corpus_plang(file: str) -> str:
    """The language of a file from its corpus folder (``.../dataset/<corpus>/...``)."""
    parts = file.split("/")
    corpus = parts[parts.index("dataset") + 1] if "dataset" in parts else ""
    if corpus not in CORPORA:
        raise BadRow(f"unknown corpus: folder {corpus!r} (expected {' or '.join(CORPORA)})")
    return CORPORA[corpus]


def tail_lines(text: str, n: int = PY_TAIL_LINES) -> str:
    return "\n".join(text.split("\n")[-n:])


def tail_chars(text: str, n: int = JAVA_TAIL_CHARS) -> str:
    """The last ``n`` characters at most, starting at a token (space) boundary."""
    if len(text) <= n:
        return text
    cut = text[-n:]
    space = cut.find(" ")
    return cut[space + 1:] if space >= 0 else cut


def context(raw: str, plang: str) -> str:
    """The code before the line to complete, as shown in the record (see the module docstring)."""
    text = raw.strip()
    if text.startswith("<s>"):
        text = text[len("<s>"):].lstrip()
    if plang == "python":
        return tail_lines(_EOL.sub("\n", text)).lstrip(" ")
    return tail_chars(text)


def mid_line(raw: str, plang: str) -> bool:
    """Does the context stop in the middle of a line (so the answer finishes that line)?"""
    text = raw.rstrip()
    if plang == "python":
        return not text.endswith("<EOL>")
    last = text.split()[-1] if text.split() else ""
    return not (last in (";", "{", "}") or last.startswith("@") or last == "<s>")


def to_records(row: Row) -> list[Record]:
    plang = corpus_plang(row.file)
    raw = need_str(row.data, "input")
    gt = need_str(row.data, "gt").strip()
    inp = context(raw, plang)
    if not inp.strip():
        raise BadRow("empty context: no code before the line to complete", "input")
    key = "code_completion_line" if mid_line(raw, plang) else "code_completion"
    return [templated_record(SPEC, row.source_id, lang, task="code_search", subtask="code_completion", plang=plang,
                             input=inp, output=gt, key=key, suffix=_note(plang, lang)) for lang in LANGS]


def _note(plang: str, lang: str) -> str:
    """What the tokenised code looks like, appended to the instruction (a space before it in EN)."""
    return ("" if lang == "zh" else " ") + templates.note(f"tokenised_{plang}", lang)
