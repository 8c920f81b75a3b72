"""Schema validation: as a build step, and for any Alpaca-style file (``mulco validate``).

The readers stream: JSON Lines line by line, a JSON array item by item (an incremental decoder
over a bounded buffer), Parquet by record batch, so a file of any size is checked in bounded
memory.
"""
from __future__ import annotations

import collections
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..record import Record, is_valid, problem_text, problems
from ..textio import BadLine, decode_line, nonblank_lines, open_binary, strip_bom


def schema_errors(record: Record) -> str | None:
    """None when the record is valid; else 'schema: <pointer>: <reason>; ...' (the first three)."""
    if is_valid(record):
        return None
    return "schema: " + "; ".join(problem_text(ptr, reason) for ptr, reason, _ in problems(record)[:3])


# --------------------------------------------------------------------------------------------
# Validating files

#: the bare Alpaca shape: instruction/input/output strings (other fields allowed)
ALPACA_SCHEMA = {
    "type": "object",
    "required": ["instruction", "input", "output"],
    "properties": {
        "instruction": {"type": "string", "minLength": 1, "pattern": "\\S"},
        "input": {"type": "string"},
        "output": {"type": "string", "minLength": 1, "pattern": "\\S"},
    },
}
_CHUNK = 1 << 20  # bytes read at a time from a JSON array
MAX_ITEM_BYTES = 64 << 20  # a JSON array item larger than this is reported, not read


@dataclass
class Problem:
    file: str
    where: str  # "line 12", "item 3 (line 40)", "row 7"
    pointer: str  # JSON pointer of the failing field ("" = the record itself)
    reason: str  # for a person
    kind: str  # for the summary: the pointer and the kind of failure, without the value

    def __str__(self) -> str:
        return f"{self.file}:{self.where}: {problem_text(self.pointer, self.reason)}"


@dataclass
class Summary:
    files: int = 0
    records: int = 0
    bad_records: int = 0
    by_reason: collections.Counter = field(default_factory=collections.Counter)
    alpaca_shaped: int = 0  # records that are objects with only instruction/input/output
    empty_files: list[str] = field(default_factory=list)  # files without a single record

    @property
    def ok(self) -> bool:
        return self.bad_records == 0 and not self.by_reason and not self.empty_files and self.records > 0

    @property
    def looks_alpaca(self) -> bool:
        """Every record is a plain Alpaca one (only instruction/input/output): ``--alpaca`` was meant."""
        return self.records > 0 and self.alpaca_shaped == self.records


ALPACA_KEYS = frozenset(("instruction", "input", "output"))


class _Checker:
    def __init__(self, alpaca: bool):
        import jsonschema_rs

        from ..record import validator

        self.validator = jsonschema_rs.Draft202012Validator(ALPACA_SCHEMA) if alpaca else validator()
        self.alpaca = alpaca

    def problems(self, obj: Any) -> list[tuple[str, str, str]]:
        """(pointer, reason, kind) for every way ``obj`` breaks the schema."""
        return problems(obj, self.validator)


def iter_jsonl(path: Path, name: str) -> Iterator[tuple[str, Any, str | None]]:
    """(where, object, error) per non-blank line; a line that is not UTF-8 JSON gives error (the
    shared reader's reason: ``bad JSON: ...``, ``invalid UTF-8: ...``)."""
    with open_binary(path) as fh:
        lines = nonblank_lines(fh)
        while True:
            try:
                lineno, raw = next(lines)
            except StopIteration:
                return
            except (OSError, EOFError) as e:  # a truncated or corrupt gzip
                yield "file", None, f"unreadable file: {e}"
                return
            try:
                obj, error = decode_line(raw)[0], None
            except BadLine as e:
                obj, error = None, e.reason
            yield f"line {lineno}", obj, error


class _BadItem(Exception):
    """An array item that cannot be decoded (the message says why and where)."""


class _ArrayReader:
    """The items of a JSON array in a binary stream, decoded one at a time from a buffer of about
    ``chunk`` bytes; ``line`` is the line the reader has reached."""

    def __init__(self, fh, chunk: int):
        import codecs

        self.fh, self.chunk = fh, chunk
        self.text = codecs.getincrementaldecoder("utf-8-sig")()
        self.dec = json.JSONDecoder()
        self.buf, self.pos, self.line, self.eof = "", 0, 1, False

    def more(self) -> bool:
        data = self.fh.read(self.chunk)
        if not data:
            self.eof = True
            self.buf += self.text.decode(b"", final=True)
            return False
        self.buf += self.text.decode(data)
        return True

    def skip_ws(self) -> None:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                if self.buf[self.pos] == "\n":
                    self.line += 1
                self.pos += 1
            if self.pos < len(self.buf) or self.eof or not self.more():
                return

    def peek(self) -> str | None:
        return self.buf[self.pos] if self.pos < len(self.buf) else None

    def decode(self) -> tuple[Any, int]:
        """(item, end) of the item at ``pos``, reading more as needed; :class:`_BadItem` when it is
        not JSON (or larger than :data:`MAX_ITEM_BYTES`)."""
        while True:
            try:
                return self.dec.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as e:
                if self.eof or len(self.buf) - self.pos > MAX_ITEM_BYTES:
                    line = self.line + self.buf.count("\n", self.pos, e.pos)
                    raise _BadItem(f"bad JSON: {e.msg} (line {line})") from None
                self.more()

    def items(self) -> Iterator[tuple[str, Any, str | None]]:
        self.skip_ws()
        if self.peek() != "[":
            yield f"line {self.line}", None, "not a JSON array (the file does not start with '[')"
            return
        self.pos += 1
        index = 0
        while True:
            self.skip_ws()
            if self.peek() in ("]", None):
                if self.peek() is None:
                    yield f"line {self.line}", None, "bad JSON: the array is not closed"
                return
            if index and self.peek() == ",":
                self.pos += 1
                self.skip_ws()
            where = f"item {index} (line {self.line})"
            try:
                obj, end = self.decode()
            except _BadItem as e:
                yield where, None, str(e)
                return
            self.line += self.buf.count("\n", self.pos, end)
            yield where, obj, None
            index, self.pos = index + 1, end
            if self.pos > self.chunk:  # drop what was decoded: memory stays bounded
                self.buf, self.pos = self.buf[self.pos:], 0
            self.skip_ws()
            if self.peek() not in (",", "]", None):
                yield f"item {index} (line {self.line})", None, f"bad JSON: expected ',' or ']', got {self.peek()!r}"
                return


def iter_json_array(path: Path, name: str, chunk: int = _CHUNK) -> Iterator[tuple[str, Any, str | None]]:
    """Items of a JSON array, decoded one at a time from a buffer of about ``chunk`` bytes (the file
    is never read whole). An item that cannot be decoded ends the file with an error."""
    with open_binary(path) as fh:
        reader = _ArrayReader(fh, chunk)
        try:
            yield from reader.items()
        except (OSError, EOFError, UnicodeDecodeError) as e:
            yield f"line {reader.line}", None, f"unreadable file: {e}"


def iter_parquet(path: Path, name: str, batch_size: int = 8192) -> Iterator[tuple[str, Any, str | None]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # noqa: BLE001 - any unreadable file is reported as such
        yield "file", None, f"not a readable Parquet file: {e}"
        return
    row = 0
    for batch in pf.iter_batches(batch_size=batch_size):
        for obj in batch.to_pylist():
            yield f"row {row}", obj, None
            row += 1


def _format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    # .json and anything else: an array if the first non-space character is '[', else JSON lines
    with open_binary(path) as fh:
        head = strip_bom(fh.read(4096)).lstrip(b" \t\r\n")
    return "array" if head.startswith(b"[") else "jsonl"


def files_of(path: Path) -> list[Path]:
    """The files to check for ``path``: itself, or the Parquet files of a built folder."""
    path = Path(path)
    if path.is_dir():
        found = sorted(p for p in path.rglob("*.parquet") if p.is_file())
        if not found:
            raise FileNotFoundError(f"{path} is a folder without Parquet files (expected a folder written by `mulco build`)")
        return found
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    return [path]


READERS = {"jsonl": iter_jsonl, "array": iter_json_array, "parquet": iter_parquet}


def validate_paths(paths: list[Path], alpaca: bool = False, on_problem=None) -> Summary:
    """Check every record of every file under ``paths``; call ``on_problem(Problem)`` for each
    failure and return the counts. Streams: memory does not grow with the file size."""
    checker = _Checker(alpaca)
    summary = Summary()
    report = on_problem or (lambda problem: None)
    for root in paths:
        root = Path(root)
        for f in files_of(root):
            summary.files += 1
            shown = f"{root}/{f.relative_to(root).as_posix()}" if root.is_dir() else str(f)
            before = summary.records
            for where, obj, error in READERS[_format(f)](f, shown):
                summary.records += 1
                if error is not None:  # a line/item/file that could not be read counts as one bad record
                    _count_unreadable(summary, report, Problem(shown, where, "", error, error.split(":")[0]))
                else:
                    _check_record(summary, report, checker, obj, shown, where)
            if summary.records == before:
                summary.empty_files.append(shown)
                report(Problem(shown, "file", "", "no records: the file is empty", "empty file"))
    return summary


def _count_unreadable(summary: Summary, report, problem: Problem) -> None:
    summary.bad_records += 1
    summary.by_reason[problem.kind] += 1
    report(problem)


def _check_record(summary: Summary, report, checker: _Checker, obj: Any, shown: str, where: str) -> None:
    if isinstance(obj, dict) and obj and set(obj) <= ALPACA_KEYS:
        summary.alpaca_shaped += 1
    probs = checker.problems(obj)
    if probs:
        summary.bad_records += 1
        for kind in dict.fromkeys(k for _, _, k in probs):
            summary.by_reason[kind] += 1
        for pointer, reason, kind in probs:
            report(Problem(shown, where, pointer, reason, kind))
