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
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

SPLITS = ("train", "validation", "test")
_SPLIT_ALIASES = {"train": "train", "valid": "validation", "validation": "validation", "dev": "validation", "test": "test"}

TRANSLATE_KEY = "_translate"


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
    return path.relative_to(raw_dir).as_posix()


def excerpt(text: Any, n: int = 200) -> str:
    s = text if isinstance(text, str) else repr(text)
    return s if len(s) <= n else s[:n] + "…"


def need_str(data: dict, key: str, *, allow_empty: bool = False) -> str:
    """``data[key]`` as a string, or :class:`BadRow` naming the field."""
    if not isinstance(data, dict):
        raise BadRow(f"expected a JSON object, got {type(data).__name__}")
    if key not in data:
        raise BadRow(f"missing field {key!r}", key)
    val = data[key]
    if not isinstance(val, str):
        raise BadRow(f"field {key!r} is {type(val).__name__}, expected a string", key)
    if not allow_empty and not val.strip():
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
        import gzip

        name = rel(self.raw_dir, self.path)
        opener = gzip.open if self.path.suffix == ".gz" else open
        with opener(self.path, "rb") as fh:
            try:
                for lineno, raw in enumerate(fh, 1):
                    if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                        raw = raw[3:]
                    if not raw.strip():
                        continue  # blank lines are not rows
                    try:
                        text = raw.decode("utf-8")
                    except UnicodeDecodeError as e:
                        yield Rejected(name, lineno, f"invalid UTF-8: at byte {e.start}", excerpt=excerpt(raw))
                        continue
                    try:
                        obj = json.loads(text)
                    except json.JSONDecodeError as e:
                        yield Rejected(name, lineno, f"bad JSON: {e.msg} at column {e.colno}", excerpt=excerpt(text))
                        continue
                    yield Row(name, lineno, obj, self.split)
            except (EOFError, OSError) as e:  # truncated gzip
                yield Rejected(name, "eof", f"unreadable file: {e}")


def iter_json_array(path: Path, name: str, text: str | None = None) -> Iterator[Row | Rejected]:
    """Items of a JSON array file, one Row each (``line`` = item index).

    A file that is not a valid JSON array is parsed item by item with ``raw_decode`` so the
    good items before and after a bad one are still kept.
    """
    if text is None:
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            yield Rejected(name, "file", f"invalid UTF-8: at byte {e.start}")
            return
    try:
        items = json.loads(text)
    except json.JSONDecodeError:
        yield from _salvage_array(text, name)
        return
    if not isinstance(items, list):
        yield Rejected(name, "file", f"expected a JSON array, got {type(items).__name__}")
        return
    for i, item in enumerate(items):
        yield Row(name, i, item)


def _salvage_array(text: str, name: str) -> Iterator[Row | Rejected]:
    """Parse a broken JSON array item by item; a bad item is rejected and parsing resumes at
    the next item start (found by the indentation the file uses for its items)."""
    dec = json.JSONDecoder()
    pos = text.find("[")
    if pos < 0:
        yield Rejected(name, "file", "not a JSON array (no '[')", excerpt=excerpt(text))
        return
    first = text.find("{", pos)
    # "\n  {" in a pretty-printed file, "{" right after ", " in a one-line one
    item_start = text[text.rfind("\n", pos, first):first + 1] if "\n" in text[pos:first] else None
    pos += 1
    index, n = 0, len(text)
    while pos < n:
        while pos < n and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= n or text[pos] == "]":
            return
        try:
            obj, pos = dec.raw_decode(text, pos)
            yield Row(name, index, obj)
        except json.JSONDecodeError as e:
            line = text.count("\n", 0, pos) + 1
            nxt = text.find(item_start, pos + 1) if item_start else -1
            if nxt < 0:
                m = re.compile(r"\}\s*,\s*\{").search(text, pos + 1)
                nxt = m.end() - 1 if m else -1
            elif item_start:
                nxt += len(item_start) - 1
            yield Rejected(name, index, f"bad JSON in array item: starting at line {line}: {e.msg}",
                           excerpt=excerpt(text[pos:pos + 200]))
            if nxt < 0:
                return
            pos = nxt
        index += 1
