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

from ..record import Record, errors, is_valid


def schema_errors(record: Record) -> str | None:
    """None when the record is valid; else 'schema: <pointer> <message>; ...'."""
    if is_valid(record):
        return None
    errs = list(errors(record))
    return "schema: " + "; ".join(f"{ptr} {msg}" for ptr, msg in errs[:3])


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
        return f"{self.file}:{self.where}: {self.pointer or '(record)'}: {self.reason}"


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
        if self.validator.is_valid(obj):
            return []
        out = []
        for err in self.validator.iter_errors(obj):
            kind = type(err.kind).__name__
            pointer = "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in err.instance_path)
            pointer = "" if pointer == "/" else pointer
            if kind == "Required":
                prop = err.kind.property
                out.append((f"{pointer}/{prop}", "required field is missing", f"/{prop}: missing"))
            elif kind == "AdditionalProperties":
                for prop in err.kind.unexpected:
                    out.append((f"{pointer}/{prop}", "field is not part of a MulCo record", f"/{prop}: unexpected field"))
            elif kind == "Type":
                want = " or ".join(str(t) for t in (err.kind.types if isinstance(err.kind.types, (list, tuple))
                                                    else [err.kind.types]))
                out.append((pointer, f"is {_type_name(err.instance)}, expected {want}", f"{pointer}: wrong type"))
            elif kind == "Enum":
                opts = ", ".join("null" if o is None else str(o) for o in err.kind.options)
                out.append((pointer, f"{err.instance!r} is not one of: {opts}", f"{pointer}: not an allowed value"))
            elif kind in ("Pattern", "MinLength") and pointer in ("/instruction", "/output"):
                out.append((pointer, "must contain a non-whitespace character", f"{pointer}: empty"))
            elif kind == "MinLength":
                out.append((pointer, "must not be empty", f"{pointer}: empty"))
            elif kind == "Pattern":
                out.append((pointer, f"{err.instance!r} does not match {err.kind.pattern}", f"{pointer}: bad format"))
            else:
                out.append((pointer, err.message, f"{pointer}: {kind}"))
        return out


def _type_name(v: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "null"}.get(type(v), type(v).__name__)


def iter_jsonl(path: Path, name: str) -> Iterator[tuple[str, Any, str | None]]:
    """(where, object, error) per non-blank line; a line that is not JSON gives error."""
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            try:
                yield f"line {lineno}", json.loads(raw), None
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                yield f"line {lineno}", None, f"not valid JSON: {getattr(e, 'msg', e)}"


def iter_json_array(path: Path, name: str, chunk: int = _CHUNK) -> Iterator[tuple[str, Any, str | None]]:
    """Items of a JSON array, decoded one at a time from a buffer of about ``chunk`` bytes (the file
    is never read whole). An item that cannot be decoded ends the file with an error."""
    import codecs
    import gzip

    dec = json.JSONDecoder()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        reader = codecs.getincrementaldecoder("utf-8-sig")()
        buf, pos, line, eof = "", 0, 1, False

        def more() -> bool:
            nonlocal buf, eof
            data = fh.read(chunk)
            if not data:
                eof = True
                buf += reader.decode(b"", final=True)
                return False
            buf += reader.decode(data)
            return True

        def skip_ws() -> None:
            nonlocal pos, line
            while True:
                while pos < len(buf) and buf[pos] in " \t\r\n":
                    if buf[pos] == "\n":
                        line += 1
                    pos += 1
                if pos < len(buf) or eof or not more():
                    return

        try:
            skip_ws()
            if pos >= len(buf) or buf[pos] != "[":
                yield f"line {line}", None, "not a JSON array (the file does not start with '[')"
                return
            pos += 1
            index = 0
            while True:
                skip_ws()
                if pos < len(buf) and buf[pos] == "]":
                    return
                if pos >= len(buf):
                    yield f"line {line}", None, "not valid JSON: the array is not closed"
                    return
                if index and buf[pos] == ",":
                    pos += 1
                    skip_ws()
                start_line = line
                while True:
                    try:
                        obj, end = dec.raw_decode(buf, pos)
                        break
                    except json.JSONDecodeError as e:
                        if eof or len(buf) - pos > MAX_ITEM_BYTES:
                            yield (f"item {index} (line {start_line})", None,
                                   f"not valid JSON: {e.msg} (line {line + buf.count(chr(10), pos, e.pos)})")
                            return
                        more()
                line += buf.count("\n", pos, end)
                yield f"item {index} (line {start_line})", obj, None
                index += 1
                pos = end
                if pos > chunk:  # drop what was decoded: memory stays bounded
                    buf, pos = buf[pos:], 0
                skip_ws()
                if pos < len(buf) and buf[pos] not in ",]":
                    yield f"item {index} (line {line})", None, f"not valid JSON: expected ',' or ']', got {buf[pos]!r}"
                    return
        except (OSError, EOFError, UnicodeDecodeError) as e:
            yield f"line {line}", None, f"unreadable file: {e}"


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
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
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
    for root in paths:
        root = Path(root)
        for f in files_of(root):
            summary.files += 1
            shown = f.relative_to(root).as_posix() if root.is_dir() else str(f)
            shown = f"{root}/{shown}" if root.is_dir() else shown
            fmt = _format(f)
            before = summary.records
            for where, obj, error in READERS[fmt](f, shown):
                if error is not None:  # a line/item/file that could not be read counts as one bad record
                    kind = error.split(":")[0]
                    summary.records += 1
                    summary.bad_records += 1
                    summary.by_reason[kind] += 1
                    if on_problem:
                        on_problem(Problem(shown, where, "", error, kind))
                    continue
                summary.records += 1
                if isinstance(obj, dict) and obj and set(obj) <= ALPACA_KEYS:
                    summary.alpaca_shaped += 1
                probs = checker.problems(obj)
                if probs:
                    summary.bad_records += 1
                    for kind in dict.fromkeys(k for _, _, k in probs):
                        summary.by_reason[kind] += 1
                    if on_problem:
                        for pointer, reason, kind in probs:
                            on_problem(Problem(shown, where, pointer, reason, kind))
            if summary.records == before:
                summary.empty_files.append(shown)
                if on_problem:
                    on_problem(Problem(shown, "file", "", "no records: the file is empty", "empty file"))
    return summary
