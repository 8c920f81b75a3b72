"""CodePro / StaQC: Stack Overflow questions with candidate code blocks, manually labelled.

URL: https://github.com/hoogang/CodePro (``data_hnn/``), built on StaQC
(https://github.com/LittleYUYU/StackOverflow-Question-Code-Dataset).
License: CC-BY-4.0 for the StaQC annotation; the question titles and code blocks are Stack
Overflow content under CC BY-SA (2.5/3.0/4.0 by post date), which users must respect too.
The CodePro repository itself has no license file.

Raw files: ``codepro/data_hnn/{python,sql}_hnn_qid2index_blocks_labeled.txt``, ONE line each,
a Python literal (parsed with ``ast.literal_eval``, never ``eval``): a list of items
``[(qid, block_idx), [[text_before], [text_after]], [[code]], [title], n_blocks, label]``;
label 1 = the code block is a standalone answer to the question.

One unit is one list item; the items of a question (same qid) form one row. Each question makes
two ``code_search/query_to_code`` records (plang from the file name), English and Chinese: the
input is the question title and the numbered candidate code blocks, the output lists the
numbers of the candidates labelled 1 ("2" or "1, 3"), or the language's word for none ("none",
"无") when no candidate is labelled 1.

The candidates are shown in an order drawn per question (:func:`candidate_order`: sorted by a
hash of the row's source id and the block index, so the same on every build and in both
languages; the numbers of the answer follow the order). In the files the first block is the
accepted answer far more often than chance (issue 23: candidate 1 was correct in 80 % of the
questions where only some candidates are, chance 48 %), so the file order would teach "answer
1". A question whose candidates are all wrong is kept with the answer "none" (every template
allows it): dropping them taught that some candidate always answers. One with a single
candidate is quarantined: there is nothing to choose, so the item teaches nothing about matching
a query to code. Questions where every candidate is an answer (about half) are kept: the model
must still judge each block, and dropping them would teach that some candidate is always wrong.
The templates are worded for none, one or several answers and always several candidates. A file
that is not a valid literal is salvaged item by item.
"""
from __future__ import annotations

import ast
import hashlib
import re
from pathlib import Path
from typing import Any, Iterator

from .. import templates
from ..record import Record
from ..taxonomy import LANGS
from ..textio import decode_text, fence
from .base import (BadRow, Rejected, Row, SourceSpec, blank, excerpt, glob_files, rel, templated_record,
    unicode_problem)

PLANGS = {"python": "python", "sql": "sql"}
FILES = tuple(f"codepro/data_hnn/{p}_hnn_qid2index_blocks_labeled.txt" for p in PLANGS)
#: Where an item starts in the one-line literal: "[(qid, idx), [[" after "[" or ", ".
_ITEM_START = re.compile(r"(?:^\s*\[|, )(\[\(\s*-?\d+\s*,\s*-?\d+\s*\)\s*,\s*\[\[)")

SPEC = SourceSpec(
    name="codepro",
    title="CodePro (StaQC multi-code-answer annotations)",
    url="https://github.com/hoogang/CodePro",
    license="CC-BY-4.0",
    license_url="https://creativecommons.org/licenses/by/4.0/",
    patterns=FILES,
    expected=("codepro/data_hnn/python_hnn_qid2index_blocks_labeled.txt and/or sql_hnn_qid2index_blocks_labeled.txt "
              "from github.com/hoogang/CodePro (one line, a Python literal list of labelled candidates)"),
    citation=(
        "@inproceedings{yao2018staqc,\n  title = {StaQC: A Systematically Mined Question-Code Dataset from Stack "
        "Overflow},\n  author = {Yao, Ziyu and Weld, Daniel S. and Chen, Wei-Peng and Sun, Huan},\n"
        "  booktitle = {Proceedings of the 2018 World Wide Web Conference},\n  pages = {1693--1703},\n"
        "  year = {2018}\n}"
    ),
    produces=(("code_search", "query_to_code"),),
    unit="list item",
)


def find(raw_dir: Path) -> list[Path]:
    return glob_files(raw_dir, SPEC.patterns)


def plang_of(filename: str) -> str | None:
    """"python_hnn_qid2index_blocks_labeled.txt" -> "python"."""
    return PLANGS.get(filename.split("_", 1)[0].lower())


def read(raw_dir: Path, files: list[Path]) -> Iterator[Row | Rejected]:
    for path in files:
        name = rel(raw_dir, path)
        text, undecodable = decode_text(path.read_bytes())  # the bad bytes end up in their items only
        yield from group_items(name, parse_items(text, name), plang_of(path.name), undecodable)


def parse_items(text: str, name: str) -> Iterator[tuple[int, Any] | Rejected]:
    """(item index, item) for every item of the literal list; salvage a broken file."""
    try:
        items = ast.literal_eval(text.strip())
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        yield from _salvage(text, name)
        return
    if not isinstance(items, list):
        yield Rejected(name, "file", f"expected a Python literal list, got {type(items).__name__}")
        return
    yield from enumerate(items)


def _salvage(text: str, name: str) -> Iterator[tuple[int, Any] | Rejected]:
    """Split the text at item starts and parse each item alone; a bad one is rejected."""
    starts = [m.start(1) for m in _ITEM_START.finditer(text)]
    if not starts:
        yield Rejected(name, "file", "Python literal syntax error: no list items found", excerpt=excerpt(text))
        return
    ends = starts[1:] + [len(text)]
    for index, (start, end) in enumerate(zip(starts, ends)):
        chunk = text[start:end].rstrip()
        if end == len(text):
            chunk = chunk[:-1] if chunk.endswith("]") else chunk  # the list's closing bracket
        elif chunk.endswith(","):
            chunk = chunk[:-1]
        yield _parse_item(chunk, index, start, name)


def _parse_item(chunk: str, index: int, start: int, name: str) -> tuple[int, Any] | Rejected:
    """One item's text as a literal (``ast.literal_eval``: nothing is ever executed)."""
    try:
        return index, ast.literal_eval(chunk)
    except SyntaxError as e:
        reason = f"Python literal syntax error in item at character {start}: {e.msg}"
    except UnicodeError:  # undecodable bytes of the file, kept as lone surrogates
        reason = f"invalid UTF-8: undecodable bytes in item at character {start}"
    except ValueError:
        reason = f"not a plain Python literal: item at character {start} holds names or calls"
    except (TypeError, MemoryError, RecursionError) as e:
        reason = f"unparsable item at character {start}: {type(e).__name__}"
    return Rejected(name, index, reason, excerpt=excerpt(chunk))


def shape_problem(item: Any) -> str | None:
    """Why an item does not have the documented shape, or None."""
    if not isinstance(item, (list, tuple)) or len(item) != 6:
        return "expected a 6-element list"
    key, _texts, code, title, _n_blocks, label = item
    if not (isinstance(key, (list, tuple)) and len(key) == 2 and all(_is_int(k) for k in key)):
        return "item[0] is not (question_id, block_index)"
    if not _is_nested_str(code, 2):
        return "item[2] is not [[code]]"
    if not (isinstance(title, (list, tuple)) and len(title) >= 1 and isinstance(title[0], str)):
        return "item[3] is not [title]"
    if not (_is_int(label) and label in (0, 1)):
        return f"label {label!r} is not 0 or 1"
    return None


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_nested_str(v: Any, depth: int) -> bool:
    for _ in range(depth):
        if not (isinstance(v, (list, tuple)) and len(v) >= 1):
            return False
        v = v[0]
    return isinstance(v, str)


def group_items(name: str, parsed, plang: str | None, undecodable: bool = False) -> Iterator[Row | Rejected]:
    """One Row per question (weight = its items); bad items are rejected one by one
    (``undecodable``: the file was not UTF-8, its bad bytes were kept as lone surrogates)."""
    questions: dict[int, list[dict]] = {}
    for unit in parsed:
        if isinstance(unit, Rejected):
            yield unit
            continue
        index, item = unit
        problem = shape_problem(item)
        if problem:
            yield Rejected(name, index, f"bad item shape: {problem}", excerpt=excerpt(item))
            continue
        problem = unicode_problem(item, undecodable)
        if problem:  # undecodable bytes or a '\ud800' escape: the text cannot be written as UTF-8
            yield Rejected(name, index, problem, excerpt=excerpt(item))
            continue
        (qid, block), code, title = item[0], item[2][0][0], item[3][0]
        cands = questions.setdefault(qid, [])
        if any(c["block"] == block for c in cands):
            yield Rejected(name, index, f"duplicate candidate: question {qid} block {block} listed twice",
                           excerpt=excerpt(item))
            continue
        cands.append({"item": index, "block": block, "code": code, "title": title, "label": item[5]})
    for qid, cands in questions.items():
        cands.sort(key=lambda c: c["block"])
        data = {"qid": qid, "plang": plang, "title": cands[0]["title"], "candidates": cands}
        yield Row(name, f"qid={qid}", data, weight=len(cands))


def clean_code(code: str) -> str:
    """StaQC puts one extra space before each block; drop it and the blank edges."""
    code = code[1:] if code.startswith(" ") else code
    return code.strip("\n").rstrip()


def candidates_input(title: str, codes: list[str], plang: str, lang: str) -> str:
    """"Question: <title>" then "Candidate 1:" + fenced code, ... (中文: "问题：", "候选 1：")."""
    labels = templates.load(lang)["labels"]
    colon = "：" if lang == "zh" else ": "
    parts = [f"{labels['question']}{colon}{title.strip()}"]
    for i, code in enumerate(codes, 1):
        parts.append(f"{labels['candidate']} {i}{colon.rstrip()}\n{fence(code, plang)}")
    return "\n\n".join(parts)


def candidate_order(source_id: str, cands: list[dict]) -> list[dict]:
    """The candidates in the order shown: by a hash of the question's source id and each block's
    index (deterministic, independent of the file order and of Python's random module)."""
    def key(c: dict) -> bytes:
        return hashlib.sha256(f"{source_id}\0{c['block']}".encode("utf-8", "surrogatepass")).digest()
    return sorted(cands, key=key)


def answer_text(labels: list[int], lang: str) -> str:
    """"1, 3" for the candidates labelled 1 (numbered from 1 in the order shown), else "none"/"无"."""
    nums = [str(i) for i, label in enumerate(labels, 1) if label == 1]
    return ", ".join(nums) if nums else templates.load(lang)["labels"]["none"]


def to_records(row: Row) -> list[Record]:
    data = row.data
    plang = data["plang"]
    if blank(data["title"]):
        raise BadRow("empty question title", "title")
    cands = candidate_order(row.source_id, data["candidates"])
    codes = [clean_code(c["code"]) for c in cands]
    if any(blank(c) for c in codes):
        raise BadRow("empty candidate code block", "code")
    if len(cands) < 2:
        raise BadRow("one candidate only: nothing to choose between", "code")
    labels = [c["label"] for c in cands]
    return [templated_record(SPEC, row.source_id, lang, task="code_search", subtask="query_to_code", plang=plang,
                             input=candidates_input(data["title"], codes, plang, lang),
                             output=answer_text(labels, lang), n=str(len(codes)))
            for lang in LANGS]
