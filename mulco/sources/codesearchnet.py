"""CodeSearchNet functions with their docstrings (via CodeXGLUE code-to-text, or the original shards).

Raw files, either layout (https://github.com/microsoft/CodeXGLUE/tree/main/Code-Text/code-to-text,
https://github.com/github/CodeSearchNet):

* CodeXGLUE code-to-text: ``codesearchnet/<lang>/{train,valid,test}.jsonl`` (or ``.jsonl.gz``);
  data license C-UDA-1.0;
* original CodeSearchNet: ``codesearchnet/<lang>/final/jsonl/<split>/<lang>_<split>_<n>.jsonl.gz``;
  license MIT (the CodeSearchNet repository; functions keep their repositories' licenses).

Each line is one function: ``{repo, path, func_name, original_string, language, code, code_tokens,
docstring, docstring_tokens, url, partition, ...}``. The code is first shifted left as a whole
when CodeSearchNet cut the indentation of its first line only (a method of a class:
:func:`reindent`). A docstring whose first paragraph is code or opens with RDoc/YARD markup is
not a summary (:func:`summary_problem`): the row is quarantined. Per row, in English and in
Chinese:

* ``code_summarization``: code -> the docstring's first paragraph (Python code loses its
  docstring literal so the answer is not in the input); the Chinese record's answer is the
  English text, marked for translation (``_translate = ("output",)``). Templates that ask for
  one sentence (``code_summarization_sentence``) are used only when the summary has one
  (:func:`sentence_count`), for half of those rows; the others get wordings without a length;
* ``code_generation``: docstring paragraph -> code (Chinese: ``_translate = ("input",)``);
* ``code_search/code_completion``: the lines before a cut -> the next line, with its
  indentation; the cut is only before a line worth predicting (not a bare ``end``, brace,
  ``else``, ``return``, comment: :func:`worth_predicting`) and chosen from the English record's
  id, so both languages share it (none under 3 lines or without such a line);
* ``code_search/cloze_test``: one occurrence of a vocabulary word, found as a whole token outside
  strings and comments, becomes ``<mask>``; the answer is the word (none when no vocabulary word
  occurs). The vocabulary is CodeXGLUE ClozeTesting-all's own word list,
  ``codexglue/ClozeTesting-all/data/cloze-all/cloze_test_words.txt``, when the raw folder has it
  (it is then listed among this source's files, so the report's provenance names and hashes
  it); otherwise the fallback bundled with MulCo, ``mulco/data/cloze_vocab.txt``.

The file's split is kept (train/valid/test). Citation: Husain et al. 2019; Lu et al. 2021.
"""
from __future__ import annotations

import functools
import gzip
import io
import json
import re
import sqlite3
import zipfile
from importlib import resources
from pathlib import Path
from typing import Iterator

from ..record import Record, make_id
from ..taxonomy import LANGS
from ..textio import json_lines
from .base import (CODEXGLUE_CITATION, TRANSLATE_KEY, BadRow, JsonLines, Rejected, Row, SourceSpec,
    glob_files, need_str, norm_split, templated_record)

SPEC = SourceSpec(
    name="codesearchnet",
    title="CodeSearchNet (CodeXGLUE code-to-text)",
    url="https://github.com/microsoft/CodeXGLUE/tree/main/Code-Text/code-to-text",
    license="C-UDA-1.0",
    license_url="https://spdx.org/licenses/C-UDA-1.0.html",
    patterns=tuple(f"codesearchnet/*/{s}.jsonl{gz}" for s in ("train", "valid", "test") for gz in ("", ".gz"))
    + ("codesearchnet/*/final/jsonl/*/*.jsonl.gz",),
    expected="codesearchnet/<lang>/{train,valid,test}.jsonl (CodeXGLUE code-to-text) or "
    "codesearchnet/<lang>/final/jsonl/<split>/<lang>_<split>_<n>.jsonl.gz (CodeSearchNet)",
    citation=(
        "@article{husain2019codesearchnet,\n  title = {CodeSearchNet Challenge: Evaluating the State of Semantic "
        "Code Search},\n  author = {Husain, Hamel and Wu, Ho-Hsiang and Gazit, Tiferet and Allamanis, Miltiadis "
        "and Brockschmidt, Marc},\n  journal = {arXiv preprint arXiv:1909.09436},\n  year = {2019}\n}\n"
        + CODEXGLUE_CITATION
    ),
    produces=(("code_summarization", None), ("code_generation", None),
              ("code_search", "code_completion"), ("code_search", "cloze_test")),
    unit="line",
)

ORIGINAL_LICENSE = "MIT"
PLANGS = ("go", "java", "javascript", "php", "python", "ruby")
MASK = "<mask>"
MIN_LINES = 3

# A line that starts the tags/sections after a docstring's summary (@param, :returns:, Args:, ----).
_TAG_LINE = re.compile(
    r"\s*(?:@!?\w|:\w[^:\n]*:|(?:Args|Arguments|Parameters|Params|Returns?|Raises|Yields|Examples?|Notes?)\s*:?\s*$|[-=]{3,}\s*$)"
)
_PY_HEADER = re.compile(
    r"\A(?:[ \t]*@[^\n]*\n)*[ \t]*(?:async[ \t]+)?def\b.*?\)[ \t]*(?:->[^\n]*?)?:[ \t]*(?:#[^\n]*)?\n", re.S
)
# (a backslash is only ever part of an escape: with `(?!\1).` it could also be one character, and
# an unterminated string full of backslashes then took exponential time)
_PY_DOC = re.compile(r"""(?:[ \t]*\n)*[ \t]*[rRuU]?(\"\"\"|'''|"|')(?:\\.|(?!\1)[^\\])*\1[ \t]*(?:\n|\Z)""", re.S)

_LEX = {  # lexical pieces that are not code words, per language family
    "str": r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'',
    "triple": r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'',
    "tick": r"`(?:\\.|[^`\\])*`",
    "slash": r"//[^\n]*|/\*[\s\S]*?\*/",
    "hash": r"#[^\n]*",
}
_PIECES = {
    "python": ("triple", "str", "hash"), "ruby": ("str", "hash"), "php": ("str", "slash", "hash"),
    "go": ("str", "tick", "slash"), "java": ("str", "slash"), "javascript": ("str", "tick", "slash"),
}


#: CodeXGLUE ClozeTesting-all's vocabulary (one word per line), used for cloze items when present
CT_ALL_WORDS = "codexglue/ClozeTesting-all/data/cloze-all/cloze_test_words.txt"


def find(raw_dir: Path) -> list[Path]:
    files = glob_files(raw_dir, SPEC.patterns)
    if files and (raw_dir / CT_ALL_WORDS).is_file():
        files.append(raw_dir / CT_ALL_WORDS)
    return files


def read_words(path: Path) -> frozenset[str]:
    """A cloze vocabulary file: one word per line (``#`` lines and blanks skipped)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    return frozenset(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))


def file_split(rel_path: str) -> str | None:
    """The split a file belongs to: its name (CodeXGLUE) or its folder (CodeSearchNet shards)."""
    parts = rel_path.split("/")
    if "final" in parts:
        return norm_split(parts[-2])
    return norm_split(parts[-1].split(".")[0])


def read(raw_dir: Path, files: list[Path]) -> Iterator[Row | Rejected]:
    vocab = None
    for path in files:
        if path.relative_to(raw_dir).as_posix() == CT_ALL_WORDS:
            try:
                vocab = read_words(path) or None
            except OSError as e:
                yield Rejected(CT_ALL_WORDS, "file", f"unreadable cloze word list (the bundled one is used): {e}")
    for path in files:
        rel_path = path.relative_to(raw_dir).as_posix()
        if rel_path == CT_ALL_WORDS:
            continue
        for unit in JsonLines(raw_dir, path, file_split(rel_path)):
            if vocab is not None and isinstance(unit, Row):
                unit.cloze_vocab = vocab  # not part of the row's data (never in a quarantine excerpt)
            yield unit


def row_license(file: str) -> str:
    return ORIGINAL_LICENSE if "/final/jsonl/" in file else SPEC.license


def first_paragraph(docstring: str) -> str:
    """The docstring's summary: lines up to the first blank line or tag line, whitespace-normalised."""
    lines: list[str] = []
    for line in docstring.replace("\ufeff", " ").strip().splitlines():  # a BOM is white space to the schema
        if not line.strip() or _TAG_LINE.match(line):
            break
        lines.append(line)
    return " ".join(" ".join(lines).split())


#: a summary that opens like a definition or a statement of code, not a sentence
_CODE_OPENING = re.compile(r"(?:def|class|module|function|func|fn|public|private|protected|static|var|let|const|"
                           r"import|require|include|package|unless|elsif|lambda)\s+[\w@$:.!?]+")
#: a token of code in a summary: @ivar/$var, a call, a brace or semicolon, an operator alone,
#: a method chain (a.b, a.b?), a Ruby symbol, a bare ``end``
_CODE_TOKEN = re.compile(r"^[@$]\w|\w\(|[{};]|^(?:[-+*/|&]?=|\|\|=|==|===|=>|->|\|\||&&|!=|<<|\|\w+\|)$|"
                         r"^[A-Za-z_]\w*(?:\.[a-z_]\w+)+[?!(]?|^:\w+$|^end$")
#: RDoc / YARD / HTML markup that opens a docstring instead of a summary
_MARKUP_OPENING = re.compile(r"(?:=+\s|call-seq:|:[\w-]+:|#--|--\s|\+\+\s|\{include:|@!\w|<(?:tt|pre|code)>)", re.I)


def summary_problem(summary: str) -> str | None:
    """Why a docstring's first paragraph is not a summary, or None: it is code (it opens like a
    definition with at least 2 code tokens, or at least 40 % of its 3+ tokens are code: ``def
    reload_pages_if_needed if @pages_by_path.nil? …``), or it opens with markup (an RDoc heading
    ``== Examples``, ``call-seq:``, a directive, ``<tt>``)."""
    if _MARKUP_OPENING.match(summary):
        return "docstring is RDoc/markup, not a summary"
    tokens = summary.split()
    code = sum(bool(_CODE_TOKEN.search(t)) for t in tokens)
    if (_CODE_OPENING.match(summary) and code >= 2) or (len(tokens) >= 3 and code >= 0.4 * len(tokens)):
        return "docstring is code, not a summary"
    return None


_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Za-z0-9@`\"'(\[+_:])")
_ABBREVIATION = re.compile(r"(?:\b(?i:e\.g|i\.e|w\.r\.t|etc|vs|cf|approx|incl|resp|mrs?|dr|st|no|fig)\.|"
                           r"(?<![\w.])[A-Z]\.)$")


def sentence_count(text: str) -> int:
    """Sentences of an English summary: breaks after ``.``/``!``/``?`` and white space before a
    word, digit, quote, bracket or markup (the docstrings often start a sentence in lower case),
    except after an abbreviation (e.g., i.e., w.r.t., etc., an initial)."""
    parts = _SENTENCE_BREAK.split(text.strip())
    return 1 + sum(not _ABBREVIATION.search(p) for p in parts[:-1])


def strip_py_docstring(code: str, expect: str = "") -> str:
    """Python ``code`` without the docstring literal that opens the function body; with
    ``expect`` (the summary), only a literal whose text contains its first words is removed."""
    head = _PY_HEADER.match(code)
    doc = _PY_DOC.match(code, head.end()) if head else None
    if not doc or " ".join(re.findall(r"\w+", expect)[:6]) not in " ".join(re.findall(r"\w+", doc.group(0))):
        return code
    return code[: head.end()] + code[doc.end():]


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _unit(widths: list[int], body: int) -> int:
    """The indentation step of code whose lines are indented by ``widths``: the smallest gap
    between two levels; with one level, 4 when the body's indentation is a multiple of 4, else 2."""
    levels = sorted(set(widths))
    gaps = [b - a for a, b in zip(levels, levels[1:])]
    return min(gaps) if gaps else (4 if body % 4 == 0 else 2)


def reindent(code: str) -> str:
    """The function as it was indented, shifted left as a whole: CodeSearchNet cuts the leading
    white space of the first line only, so a method keeps its body at the class's depth under a
    first line at column 0 (``def f\n      x\n    end``). When the first line is not indented and
    every other non-blank line is, the original indentation of the first line is the one of the
    closing line (``end``, ``}``) when the function has one, else the body's less one step; that
    much is removed from every line (only when all of them start with that same white space)."""
    lines = code.split("\n")
    rest = [ln for ln in lines[1:] if ln.strip()]
    if not rest or _indent(lines[0]) or not all(_indent(ln) for ln in rest):
        return code
    widths = [len(_indent(ln)) for ln in rest]
    body = min(widths)
    width = len(_indent(rest[-1])) if _CLOSER.match(rest[-1]) else body - _unit(widths, body)
    prefix = _indent(rest[widths.index(body)])[:max(0, width)]
    if not prefix or not all(ln.startswith(prefix) for ln in rest):
        return code
    return "\n".join([lines[0], *(ln[len(prefix):] if ln.strip() else "" for ln in lines[1:])])


#: the closing line of a function (Ruby ``end``, a brace): it sits at the function's own indentation
_CLOSER = re.compile(r"[ \t]*(?:end\b|\})")
#: words that alone (with brackets, punctuation and a comment) make a line not worth predicting
_TRIVIAL_WORDS = frozenset({"end", "else", "begin", "ensure", "rescue", "try", "finally", "except", "do", "then",
                            "pass", "break", "continue", "return", "default"})
_LINE_COMMENT = re.compile(r"\s(?:#|//).*$|^\s*(?:#|//).*$")


def worth_predicting(line: str) -> bool:
    """A line whose completion teaches something: not blank, not only brackets and punctuation,
    not a bare ``end``/``else``/``begin``/``return``... (the block words above, with brackets or a
    comment), and not only a comment."""
    code = _LINE_COMMENT.sub("", line)
    words = re.findall(r"[A-Za-z_]\w*|\d+", code)
    return bool(words) and not set(words) <= _TRIVIAL_WORDS


def cut_line(code: str, pick: int) -> tuple[str, str] | None:
    """(lines before the cut, the next line with its indentation); the cut among lines 2..n-1
    whose next line is worth predicting (:func:`worth_predicting`), chosen by ``pick``; None when
    the code has fewer than 3 lines or no such line."""
    lines = code.split("\n")
    cuts = [k for k in range(2, len(lines)) if worth_predicting(lines[k])]
    if len(lines) < MIN_LINES or not cuts:
        return None
    k = cuts[pick % len(cuts)]
    return "\n".join(lines[:k]), lines[k].rstrip()


@functools.lru_cache(maxsize=1)
def cloze_vocab() -> frozenset[str]:
    text = resources.files("mulco").joinpath("data", "cloze_vocab.txt").read_text(encoding="utf-8")
    return frozenset(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))


@functools.lru_cache(maxsize=None)
def _lexer(plang: str) -> re.Pattern:
    skip = "|".join(_LEX[p] for p in _PIECES[plang])
    return re.compile(rf"{skip}|\d[\w.]*|(?P<word>[@$]*[A-Za-z_][\w$]*)")


def mask_word(code: str, plang: str, pick: int, vocab: frozenset[str] | None = None) -> tuple[str, str] | None:
    """(code with one occurrence of a vocabulary word replaced by ``<mask>``, the word), or None.

    The word is picked among the distinct vocabulary words present, then one of its occurrences.
    ``vocab``: the words that may be masked (default: the bundled :func:`cloze_vocab`)."""
    vocab = vocab or cloze_vocab()
    spots: dict[str, list[tuple[int, int]]] = {}
    for m in _lexer(plang).finditer(code):
        if m.group("word") in vocab:
            spots.setdefault(m.group("word"), []).append(m.span("word"))
    if not spots:
        return None
    words = sorted(spots)  # a word first, then one of its occurrences: frequent keywords do not dominate
    word = words[pick % len(words)]
    start, end = spots[word][(pick // len(words)) % len(spots[word])]
    return code[:start] + MASK + code[end:], word


def _pair(row: Row, plang: str, task: str, subtask: str | None, key: str, inp: str, out: str,
          zh_translate: tuple[str, ...] = ()) -> list[Record]:
    """The EN and ZH records of one task (the ZH one marked for translation when asked)."""
    made = []
    for lang in LANGS:
        rec = templated_record(SPEC, row.source_id, lang, task=task, subtask=subtask, plang=plang, input=inp,
                               output=out, license=row_license(row.file), key=key)
        if lang == "zh" and zh_translate:
            rec[TRANSLATE_KEY] = zh_translate
            rec["text_origin"] = "machine_translation"  # written only once translated
        made.append(rec)
    return made


def _pick(row: Row, subtask: str) -> int:
    """A number from the English record's id, shared by both languages."""
    return int(make_id(SPEC.name, row.source_id, "code_search", subtask, "en"), 16)


def summary_key(row: Row, summary: str) -> str:
    """The templates of a summary: "in one sentence" wordings (``code_summarization_sentence``)
    only for a summary of one sentence, and then for half of them (by the row), so both kinds of
    wording come with one-sentence answers; the general ones for the rest."""
    if sentence_count(summary) == 1 and _pick(row, "code_summarization") % 2:
        return "code_summarization_sentence"
    return "code_summarization"


def to_records(row: Row) -> list[Record]:
    plang = need_str(row.data, "language").strip().lower()
    if plang not in PLANGS:
        raise BadRow(f"unknown language: {plang!r} (expected one of {', '.join(PLANGS)})", "language")
    code = reindent(need_str(row.data, "code").replace("\r\n", "\n").strip("\n"))
    summary = first_paragraph(need_str(row.data, "docstring", allow_empty=True))
    if not summary:
        raise BadRow("empty docstring: no summary paragraph", "docstring")
    problem = summary_problem(summary)
    if problem:
        raise BadRow(problem, "docstring")
    body = strip_py_docstring(code, summary) if plang == "python" else code
    if not body.strip():
        raise BadRow("empty code", "code")
    made = _pair(row, plang, "code_summarization", None, summary_key(row, summary), body, summary, ("output",))
    made += _pair(row, plang, "code_generation", None, "code_generation", summary, code, ("input",))
    cut = cut_line(body, _pick(row, "code_completion"))
    if cut:
        made += _pair(row, plang, "code_search", "code_completion", "code_completion", *cut)
    masked = mask_word(body, plang, _pick(row, "cloze_test"), getattr(row, "cloze_vocab", None))
    if masked:
        made += _pair(row, plang, "code_search", "cloze_test", "cloze_test", *masked)
    return made


# --------------------------------------------------------------------------------------------
# Preprocessing (used by `mulco download`): CodeXGLUE code-to-text's preprocess.py


def codexglue_code_to_text(url_zip: Path, shard_zip: Path, lang: str, parts: dict[str, Path], tmp_dir: Path) -> None:
    """CodeXGLUE code-to-text's ``preprocess.py`` for one language, streaming.

    For each split in ``parts`` (``train``/``valid``/``test`` -> output path): read the
    CodeSearchNet ``<lang>/final/jsonl`` shards of that split (a file belongs to the first of
    train/valid/test its path contains; a url seen twice keeps its last row), then write, for
    each url of ``<lang>/<split>.txt`` in the CodeXGLUE dataset.zip that has a row,
    ``json.dumps(row)`` and a newline. Rows are staged in a SQLite file, not in memory. A shard
    line that is not JSON raises ``ValueError`` naming the shard, its member and the line.
    """
    tmp_dir.mkdir(parents=True, exist_ok=True)
    db_path = tmp_dir / f"code-to-text-{lang}.sqlite"
    db_path.unlink(missing_ok=True)
    db = sqlite3.connect(db_path)
    try:
        db.execute("CREATE TABLE rows (split TEXT, url TEXT, line TEXT, PRIMARY KEY (split, url))")
        with zipfile.ZipFile(shard_zip) as zf:
            names = sorted(n for n in zf.namelist() if n.startswith(f"{lang}/final/") and ".jsonl" in n)
            for name in names:
                split = next((s for s in ("train", "valid", "test") if s in name), None)
                if split not in parts:
                    continue
                with zf.open(name) as raw:
                    fh = gzip.open(raw) if name.endswith(".gz") else raw
                    batch = []
                    for js in json_lines(fh, f"{Path(shard_zip).name}!{name}"):
                        batch.append((split, js["url"], json.dumps(js)))
                        if len(batch) >= 10_000:
                            db.executemany("INSERT OR REPLACE INTO rows VALUES (?, ?, ?)", batch)
                            batch = []
                    db.executemany("INSERT OR REPLACE INTO rows VALUES (?, ?, ?)", batch)
        db.commit()
        with zipfile.ZipFile(url_zip) as uz:
            for split, out in parts.items():
                member = find_member(uz, f"{lang}/{split}.txt")
                out.parent.mkdir(parents=True, exist_ok=True)
                with uz.open(member) as lists, open(out, "w", encoding="utf-8", newline="\n") as dst:
                    for raw_url in io.TextIOWrapper(lists, encoding="utf-8"):
                        url = raw_url.strip()
                        row = db.execute("SELECT line FROM rows WHERE split = ? AND url = ?", (split, url)).fetchone()
                        if row:
                            dst.write(row[0] + "\n")
    finally:
        db.close()
        db_path.unlink(missing_ok=True)


def find_member(zf: zipfile.ZipFile, suffix: str) -> str:
    hits = sorted(n for n in zf.namelist() if n == suffix or n.endswith("/" + suffix))
    if not hits:
        raise KeyError(f"{suffix} is not in {Path(zf.filename or '').name}")
    return min(hits, key=len)
