"""CodeXGLUE cloze test (ClozeTesting-maxmin and ClozeTesting-all): guess the masked code word.

Raw files (https://github.com/microsoft/CodeXGLUE/tree/main/Code-Code/ClozeTesting-maxmin, and
``ClozeTesting-all``): ``codexglue/ClozeTesting-{maxmin,all}/data/cloze-{maxmin,all}/<lang>/clozeTest.json``,
a JSON array of ``{idx, nl_tokens, pl_tokens}`` in which exactly one ``pl_tokens`` item is
``<mask>``, and the answers ``codexglue/ClozeTesting-{maxmin,all}/evaluator/answers/<lang>/answers.txt``
(lines ``idx<CODESPLIT>answer``). The CodeXGLUE repository ships no real answers, so an item is
quarantined (``no answer``) when its answers file is missing or lacks its idx. A unit is one
array item; ``<lang>`` is go, java, javascript, php, python or ruby.

Records per item, in English and in Chinese (the instruction and labels; the docstring stays as
written): ``code_search/cloze_test``, input = the docstring (joined ``nl_tokens``) then the code
(``pl_tokens`` joined with spaces, none around newline tokens) with its ``<mask>``, output = the
answer word. For maxmin the instruction says the answer is "max" or "min". The benchmark is a
test set, so every record is in the test split. Data license C-UDA-1.0.
Citation: Feng et al. 2020 (CodeBERT); Lu et al. 2021 (CodeXGLUE).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from ..record import Record
from ..taxonomy import LANGS
from .base import (CODEXGLUE_CITATION, BadRow, Rejected, Row, SourceSpec, glob_files, iter_json_array,
    need_str, rel, templated_record)

SPEC = SourceSpec(
    name="codexglue_cloze",
    title="CodeXGLUE cloze test (maxmin, all)",
    url="https://github.com/microsoft/CodeXGLUE/tree/main/Code-Code/ClozeTesting-maxmin",
    license="C-UDA-1.0",
    license_url="https://spdx.org/licenses/C-UDA-1.0.html",
    patterns=("codexglue/ClozeTesting-*/data/cloze-*/*/clozeTest.json",
              "codexglue/ClozeTesting-*/evaluator/answers/*/answers.txt"),
    expected="codexglue/ClozeTesting-{maxmin,all}/data/cloze-{maxmin,all}/<lang>/clozeTest.json (JSON array of "
    "{idx, nl_tokens, pl_tokens}) with codexglue/ClozeTesting-{maxmin,all}/evaluator/answers/<lang>/answers.txt",
    citation=(
        "@inproceedings{feng2020codebert,\n  title = {CodeBERT: A Pre-Trained Model for Programming and Natural "
        "Languages},\n  author = {Feng, Zhangyin and Guo, Daya and Tang, Duyu and Duan, Nan and Feng, Xiaocheng "
        "and others},\n  booktitle = {Findings of EMNLP},\n  year = {2020}\n}\n"
        + CODEXGLUE_CITATION
    ),
    produces=(("code_search", "cloze_test"),),
    unit="array item",
)

PLANGS = ("go", "java", "javascript", "php", "python", "ruby")
MASK = "<mask>"
CODESPLIT = "<CODESPLIT>"
SPLIT = "test"
LABELS = {"en": ("Docstring:", "Code:"), "zh": ("文档说明：", "代码：")}
MAXMIN_HINT = {"en": ' The answer is either "max" or "min".', "zh": "答案是 “max” 或 “min” 之一。"}


def find(raw_dir: Path) -> list[Path]:
    return glob_files(raw_dir, SPEC.patterns)


def missing_files(raw_dir: Path, files: list[Path]) -> list[Path]:
    """Required files the found ``files`` lack: the answers.txt of each clozeTest.json (without it every
    item is quarantined). ``mulco sources`` calls this source partly present then; ``--strict`` fails."""
    return [a for a in (answers_path(raw_dir, p) for p in files if p.name == "clozeTest.json") if not a.is_file()]


def answers_path(raw_dir: Path, cloze_file: Path) -> Path:
    """``.../ClozeTesting-<kind>/data/cloze-<kind>/<lang>/clozeTest.json`` -> its answers.txt."""
    lang_dir = cloze_file.parent
    return lang_dir.parent.parent.parent / "evaluator" / "answers" / lang_dir.name / "answers.txt"


def parse_answers(text: str) -> dict[str, str]:
    """``idx<CODESPLIT>answer`` lines -> {idx: answer}; other lines are ignored."""
    out = {}
    for line in text.splitlines():
        if CODESPLIT in line:
            idx, answer = line.split(CODESPLIT, 1)
            out[idx.strip()] = answer.strip()
    return out


def read(raw_dir: Path, files: list[Path]) -> Iterator[Row | Rejected]:
    for path in files:
        if path.name != "clozeTest.json":
            continue
        name, apath = rel(raw_dir, path), answers_path(raw_dir, path)
        answers = parse_answers(apath.read_text(encoding="utf-8-sig", errors="replace")) if apath.is_file() else None
        for unit in iter_json_array(path, name):
            if isinstance(unit, Rejected):
                yield unit
                continue
            item = unit.data
            idx = item.get("idx") if isinstance(item, dict) else None
            if answers is None:
                yield Rejected(name, unit.line, f"no answer: {rel(raw_dir, apath)} not found")
            elif isinstance(idx, str) and idx not in answers:
                yield Rejected(name, unit.line, f"no answer: idx {idx!r} not in {rel(raw_dir, apath)}")
            else:
                yield Row(name, unit.line, {"item": item, "answer": answers.get(idx) if isinstance(idx, str) else None},
                          SPLIT)


def _tokens(item: dict, key: str) -> list[str]:
    toks = item.get(key)
    if not isinstance(toks, list) or not all(isinstance(t, str) for t in toks):
        raise BadRow(f"field {key!r} is not a list of strings", key)
    return toks


def join_code(tokens: list[str]) -> str:
    """Code tokens joined with spaces, newline tokens kept as line breaks without spaces around."""
    text, line_start = "", True
    for tok in tokens:
        if "\n" in tok and not tok.strip():
            text, line_start = text + tok, True
        else:
            text, line_start = text + ("" if line_start else " ") + tok, False
    return text.strip()


def join_text(tokens: list[str]) -> str:
    """Docstring tokens as text (no space before closing punctuation nor after opening brackets)."""
    text = re.sub(r" ([.,;:!?)\]])", r"\1", " ".join(" ".join(tokens).split()))
    return re.sub(r"([(\[]) ", r"\1", text)


def to_records(row: Row) -> list[Record]:
    item = row.data.get("item") if isinstance(row.data, dict) else None
    if not isinstance(item, dict):
        raise BadRow(f"expected a JSON object, got {type(item).__name__}")
    need_str(item, "idx")
    nl, pl = _tokens(item, "nl_tokens"), _tokens(item, "pl_tokens")
    if pl.count(MASK) != 1:
        raise BadRow(f"mask count: {pl.count(MASK)} {MASK} tokens in pl_tokens (expected exactly one)", "pl_tokens")
    answer = need_str(row.data, "answer").strip()
    parts = row.file.split("/")
    plang, maxmin = parts[-2], "cloze-maxmin" in parts
    if plang not in PLANGS:
        raise BadRow(f"unknown language: folder {plang!r} (expected one of {', '.join(PLANGS)})")
    if maxmin and answer not in ("max", "min"):
        raise BadRow(f"bad answer: {answer!r} is not max or min", "answer")
    doc, code = join_text(nl), join_code(pl)
    made = []
    for lang in LANGS:
        doc_label, code_label = LABELS[lang]
        inp = f"{doc_label} {doc}\n\n{code_label}\n{code}" if doc else code
        made.append(templated_record(SPEC, row.source_id, lang, task="code_search", subtask="cloze_test", plang=plang,
                                     input=inp, output=answer, suffix=MAXMIN_HINT[lang] if maxmin else ""))
    return made
