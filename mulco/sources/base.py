"""What every raw-source module provides, and the small types it exchanges with the build.

A source module has:

* ``SPEC``: a :class:`SourceSpec` (name, license, links, citation, expected files);
* ``find(raw_dir) -> list[Path]``: the files of this source under ``raw_dir``. ``[]`` when
  the source is absent; :class:`MissingSourceFile` when it is only partly there;
* ``read(raw_dir, files) -> Iterator[Row | Rejected]``: all the I/O. Every unit of the raw
  files comes out once, either as a :class:`Row` or as a :class:`Rejected` with its reason;
* ``to_records(row) -> list[Record]``: pure; raises :class:`BadRow` for a row it cannot use.

Records that need an English text translated into Chinese carry the key ``_translate``
(a tuple of field names); the build fills them with a translator or skips and counts them.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..taxonomy import SPLITS  # noqa: F401  (base's name too)
from ..textio import BadLine, decode_line, decode_text, nonblank_lines, open_binary, strip_bom

_SPLIT_ALIASES = {"train": "train", "valid": "validation", "validation": "validation", "dev": "validation", "test": "test"}

TRANSLATE_KEY = "_translate"

#: Cited by every source that comes through CodeXGLUE.
CODEXGLUE_CITATION = (
    "@article{lu2021codexglue,\n  title = {CodeXGLUE: A Machine Learning Benchmark Dataset for Code "
    "Understanding and Generation},\n  author = {Lu, Shuai and Guo, Daya and Ren, Shuo and Huang, Junjie and "
    "others},\n  journal = {arXiv preprint arXiv:2102.04664},\n  year = {2021}\n}"
)


@dataclass(frozen=True)
class SourceSpec:
    name: str
    title: str
    url: str
    license: str
    #: Glob patterns (relative to the raw folder) of the files this source reads.
    patterns: tuple[str, ...]
    #: What a user must put where, in words (used in error messages and the docs).
    expected: str
    citation: str = ""
    license_url: str = ""
    #: (task, subtask) pairs this source produces.
    produces: tuple[tuple[str, str | None], ...] = ()
    #: What one unit (row) of this source is, for the accounting.
    unit: str = "line"


@dataclass
class Row:
    """One unit of raw data, as read; ``file`` is relative to the raw folder."""

    file: str
    line: int | str
    data: Any
    split: str | None = None
    weight: int = 1  # how many raw units this row stands for (e.g. grouped candidates)

    @property
    def source_id(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Rejected:
    """A raw unit that could not be read; it goes to the quarantine."""

    file: str
    line: int | str
    reason: str
    field: str | None = None
    excerpt: str = ""
    weight: int = 1


def templated_record(spec: SourceSpec, source_id: str, lang: str, *, task: str, subtask: str | None,
                     plang: str | None, input: str, output: str, target_plang: str | None = None,
                     license: str | None = None, key: str | None = None, suffix: str = "", **fmt: str) -> dict:
    """A record whose instruction is a template for ``key`` (default: the subtask, else the task)
    in ``lang``, picked by the record id; ``suffix`` is appended to the instruction."""
    from .. import templates
    from ..record import make_id, make_record

    rid = make_id(spec.name, source_id, task, subtask, lang)
    instruction = templates.instruction(key or subtask or task, lang, rid, plang=plang, target_plang=target_plang, **fmt)
    return make_record(
        source=spec.name, source_id=source_id, license=license or spec.license, task=task, subtask=subtask,
        lang=lang, plang=plang, target_plang=target_plang, instruction=instruction + suffix, input=input, output=output,
        text_origin="template",
    )


class BadRow(ValueError):
    """Raised by ``to_records`` for a row that cannot become a record."""

    def __init__(self, reason: str, field: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.field = field


class MissingSourceFile(FileNotFoundError):
    """A source is partly present: a file it needs is missing or unreadable."""

    def __init__(self, source: str, path: Path | str, expected: str):
        self.source, self.path, self.expected = source, str(path), expected
        super().__init__(f"{source}: missing {path} (expected {expected})")


def norm_split(name: str | None) -> str | None:
    if name is None:
        return None
    return _SPLIT_ALIASES.get(name.lower())


def hash_split(key: str, validation: float = 0.05, test: float = 0.05) -> str:
    """A stable split from content/provenance: same key, same split, on every machine."""
    h = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2**64
    if h < test:
        return "test"
    if h < test + validation:
        return "validation"
    return "train"


def glob_files(raw_dir: Path, patterns: Iterable[str]) -> list[Path]:
    """Files matching any pattern, sorted by relative path (so input order never matters)."""
    found: set[Path] = set()
    for pat in patterns:
        found.update(p for p in raw_dir.glob(pat) if p.is_file())
    return sorted(found, key=lambda p: p.relative_to(raw_dir).as_posix())


def rel(raw_dir: Path, path: Path) -> str:
    """``path`` relative to ``raw_dir``, always writable as UTF-8: a byte of a file name that is
    not UTF-8 (say a GBK name) is shown as ``\\xNN``."""
    return printable(path.relative_to(raw_dir).as_posix())


_SURROGATE = re.compile("[\ud800-\udfff]")
#: A JSON escape that may decode to a lone surrogate (a pair decodes to one character).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _escape_surrogate(m: re.Match) -> str:
    c = ord(m.group())
    return f"\\x{c - 0xDC00:02x}" if 0xDC80 <= c <= 0xDCFF else f"\\u{c:04x}"


def printable(s: str) -> str:
    """``s`` with lone surrogates (undecodable bytes, ``\\ud800`` escapes) written as escapes."""
    return _SURROGATE.sub(_escape_surrogate, s)


def unicode_problem(value: Any, undecodable: bool = False) -> str | None:
    """Why ``value`` (parsed JSON, a Python literal) cannot be written as UTF-8 (Parquet, JSON):
    a string in it holds a lone surrogate, from a ``\\ud800`` escape or, when the file was
    ``undecodable`` and read with ``surrogateescape``, from bytes that are not UTF-8. None if fine."""
    stack = [(value, "the item")]
    while stack:
        v, where = stack.pop()
        if isinstance(v, str):
            m = _SURROGATE.search(v)
            if m:
                if undecodable and 0xDC80 <= ord(m.group()) <= 0xDCFF:
                    return f"invalid UTF-8: undecodable bytes in {where}"
                return f"invalid Unicode: lone surrogate in {where}"
        elif isinstance(v, dict):
            for k, x in v.items():
                stack.append((k, "a key"))
                stack.append((x, f"field {printable(k)!r}" if where == "the item" and isinstance(k, str) else where))
        elif isinstance(v, (list, tuple)):
            stack.extend((x, where) for x in v)
    return None


def excerpt(text: Any, n: int = 200) -> str:
    s = text if isinstance(text, str) else repr(text)
    return printable(s if len(s) <= n else s[:n] + "…")


def blank(text: str) -> bool:
    """Nothing but white space (a BOM counts as white space: the schema's ``\\S`` says so)."""
    return not text.replace("\ufeff", "").strip()


def need_str(data: dict, key: str, *, allow_empty: bool = False) -> str:
    """``data[key]`` as a string, or :class:`BadRow` naming the field."""
    if not isinstance(data, dict):
        raise BadRow(f"expected a JSON object, got {type(data).__name__}")
    if key not in data:
        raise BadRow(f"missing field {key!r}", key)
    val = data[key]
    if not isinstance(val, str):
        raise BadRow(f"field {key!r} is {type(val).__name__}, expected a string", key)
    if not allow_empty and blank(val):
        raise BadRow(f"field {key!r} is empty", key)
    return val


@dataclass
class JsonLines:
    """Read a (possibly gzipped) JSON Lines file: one Row or Rejected per line."""

    raw_dir: Path
    path: Path
    split: str | None = None
    extra: dict = field(default_factory=dict)

    def __iter__(self):
        import zlib

        name = rel(self.raw_dir, self.path)
        with open_binary(self.path) as fh:
            try:
                for lineno, raw in nonblank_lines(fh):  # blank lines are not rows
                    try:
                        obj, text = decode_line(raw)
                    except BadLine as e:
                        yield Rejected(name, lineno, e.reason, excerpt=excerpt(raw if e.text is None else e.text))
                        continue
                    problem = unicode_problem(obj) if _SURROGATE_ESCAPE.search(text) else None
                    if problem:
                        yield Rejected(name, lineno, problem, excerpt=excerpt(text))
                        continue
                    yield Row(name, lineno, obj, self.split)
            except (EOFError, OSError, zlib.error) as e:  # truncated or corrupt gzip
                yield Rejected(name, "eof", f"unreadable file: {e}")


def iter_json_array(path: Path, name: str, text: str | None = None) -> Iterator[Row | Rejected]:
    """Items of a JSON array file, one Row each (``line`` = item index).

    A file that is not a valid JSON array is parsed item by item with ``raw_decode`` so the
    good items before and after a bad one are still kept.
    """
    undecodable = False
    if text is None:
        text, undecodable = decode_text(path.read_bytes())  # the bad bytes end up in their items only
    check = undecodable or _SURROGATE_ESCAPE.search(text) is not None
    try:
        items = json.loads(text)
    except json.JSONDecodeError:
        units = _salvage_array(text, name)
    else:
        if not isinstance(items, list):
            yield Rejected(name, "file", f"expected a JSON array, got {type(items).__name__}")
            return
        units = (Row(name, i, item) for i, item in enumerate(items))
    for unit in units:
        problem = unicode_problem(unit.data, undecodable) if check and isinstance(unit, Row) else None
        if problem:
            yield Rejected(name, unit.line, problem, excerpt=excerpt(unit.data))
        else:
            yield unit


def _salvage_array(text: str, name: str) -> Iterator[Row | Rejected]:
    """Parse a broken JSON array item by item; a bad item is rejected and parsing resumes at
    the next item start: in a pretty-printed file a line at the first item's indentation, in a
    one-line file the first ``, {`` that opens like the good items (``{"first key":``) or whose
    object parses and is followed by ``,`` or ``]``. Where no such start is found the broken
    item is the last unit: so in a one-line file a broken item followed by one that is not an
    object, or by another broken one that opens differently, takes it along (one quarantined
    unit for both), and a truncated item holding objects may give a unit per object."""
    dec = json.JSONDecoder()
    pos = text.find("[")
    if pos < 0:
        yield Rejected(name, "file", "not a JSON array (no '[')", excerpt=excerpt(text))
        return
    ws = _SPACE.match(text, pos + 1).group()
    # pretty-printed: items start on a new line at the first item's indentation
    item_start = re.compile("\n" + re.escape(ws.rsplit("\n", 1)[1]) + r"(?=[^\s\]}])") if "\n" in ws else None
    opening = None  # one-line files: how the items open, learnt from the first good one
    pos += 1
    index, n = 0, len(text)
    line, counted = 1, 0  # line number at offset `counted`
    while pos < n:
        while pos < n and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= n:
            return
        if text[pos] == "]":
            if _SPACE_TO_END.match(text, pos + 1):
                return
            pos += 1  # a stray ']': the items after it are still read
            continue
        try:
            start = pos
            obj, pos = dec.raw_decode(text, pos)
            yield Row(name, index, obj)
            if opening is None and item_start is None and isinstance(obj, dict):
                m = _KEY_OPENING.match(text, start)
                opening = re.compile(re.escape(m.group())) if m else None
        except json.JSONDecodeError as e:
            line += text.count("\n", counted, pos)
            counted = pos
            nxt = _next_item(text, pos, item_start, opening, dec)
            yield Rejected(name, index, f"bad JSON in array item: starting at line {line}: {e.msg}",
                           excerpt=excerpt(text[pos:pos + 200]))
            if nxt < 0:
                return
            pos = nxt
        index += 1


_SPACE = re.compile(r"\s*")
_SPACE_TO_END = re.compile(r"\s*\Z")
_KEY_OPENING = re.compile(r'\{\s*"(?:[^"\\]|\\.)*"\s*:')
_NEXT_OBJECT = re.compile(r",\s*\{")
_ITEM_END = re.compile(r"\s*[,\]]")


def _next_item(text: str, pos: int, item_start: re.Pattern | None, opening: re.Pattern | None, dec) -> int:
    """Offset of the item after the broken one at ``pos``, or -1 (see :func:`_salvage_array`)."""
    if item_start is not None:  # pretty-printed: only a line at the items' indentation starts one
        m = item_start.search(text, pos + 1)
        return m.end() if m else -1
    for tries, m in enumerate(_NEXT_OBJECT.finditer(text, pos + 1)):
        cand = m.end() - 1
        if opening is not None and opening.match(text, cand):
            return cand
        if tries >= 64:  # past that, look for the opening only
            if opening is None:
                break
            continue
        try:
            _, end = dec.raw_decode(text, cand)
        except json.JSONDecodeError:
            continue
        if _ITEM_END.match(text, end):
            return cand
    return -1


# --------------------------------------------------------------------------------------------
# Line-aligned parallel files (one unit = line i of both files)


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


def _decode_line(raw: bytes, name: str, lineno: int) -> str | Rejected:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return Rejected(name, lineno, f"invalid UTF-8: byte {e.start} of the line",
                        excerpt=excerpt(raw.decode("utf-8", "replace")))
    return text


def read_aligned(raw_dir: Path, left: Path, right: Path, keys: tuple[str, str],
                 split: str | None) -> Iterator[Row | Rejected]:
    """One Row per aligned line pair of two parallel files (``Row.file`` = the left file,
    ``data`` = {keys[0]: left line, keys[1]: right line}, both stripped); a line with no
    counterpart, or an undecodable line, is Rejected; blank pairs and blank extra lines are skipped."""
    lname, rname = rel(raw_dir, left), rel(raw_dir, right)
    with open(left, "rb") as lf, open(right, "rb") as rf:
        for lineno, (lraw, rraw) in enumerate(itertools.zip_longest(lf, rf), 1):
            if lineno == 1:  # a BOM is not content: a BOM-only line is blank
                lraw, rraw = ((strip_bom(r) or None) if r is not None else r for r in (lraw, rraw))
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
            ltext, rtext = _decode_line(lraw, lname, lineno), _decode_line(rraw, rname, lineno)
            bad = next((t for t in (ltext, rtext) if isinstance(t, Rejected)), None)
            if bad is not None:
                yield bad
                continue
            yield Row(lname, lineno, {keys[0]: ltext.strip(), keys[1]: rtext.strip()}, split)
