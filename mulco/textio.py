"""Reading text the same way everywhere: the BOM, JSON Lines, Markdown code fences.

One implementation each, shared by the sources (quarantine reasons), ``mulco validate``, the
decontamination step's benchmark files, the download's preprocessing and the dataset card. This
module imports nothing from ``mulco``, so any module may import it.
"""
from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

#: The UTF-8 byte order mark: dropped from the start of a file, never content.
BOM = b"\xef\xbb\xbf"


def strip_bom(raw: bytes) -> bytes:
    """``raw`` without a leading UTF-8 BOM (one: a second one is content)."""
    return raw[len(BOM):] if raw.startswith(BOM) else raw


def decode_text(data: bytes) -> tuple[str, bool]:
    """(text, undecodable) of a whole file's bytes, a leading BOM dropped. Bytes that are not UTF-8
    are kept as lone surrogates (``surrogateescape``) and ``undecodable`` is True, so a reader can
    keep the good items and reject only those holding the bad bytes."""
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        return data.decode("utf-8-sig", "surrogateescape"), True


def open_binary(path: Path) -> IO[bytes]:
    """``path`` opened for reading bytes, decompressed when its name ends with ``.gz`` (any case)."""
    return gzip.open(path, "rb") if Path(path).suffix.lower() == ".gz" else open(path, "rb")


def nonblank_lines(fh: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """(line number from 1, raw line) of each line of a binary stream that is not blank (ASCII white
    space only), the BOM of line 1 removed."""
    for lineno, raw in enumerate(fh, 1):
        if lineno == 1:
            raw = strip_bom(raw)
        if raw.strip():
            yield lineno, raw


class BadLine(ValueError):
    """A JSON Lines line that cannot be read. ``reason`` is ``invalid UTF-8: at byte N`` or
    ``bad JSON: <message> at column C``; ``text`` is the decoded line (None when not UTF-8)."""

    def __init__(self, reason: str, text: str | None):
        super().__init__(reason)
        self.reason, self.text = reason, text


def decode_line(raw: bytes) -> tuple[Any, str]:
    """(JSON value, text) of one raw line; :class:`BadLine` when it is not UTF-8 or not JSON."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadLine(f"invalid UTF-8: at byte {e.start}", None) from None
    try:
        return json.loads(text), text
    except json.JSONDecodeError as e:
        raise BadLine(f"bad JSON: {e.msg} at column {e.colno}", text) from None


def json_lines(fh: Iterable[bytes], name: str) -> Iterator[Any]:
    """The JSON value of each non-blank line of a binary stream; a bad line raises ``ValueError``
    naming ``name`` and the line (for files that must be whole, such as a benchmark)."""
    for lineno, raw in nonblank_lines(fh):
        try:
            value, _ = decode_line(raw)
        except BadLine as e:
            raise ValueError(f"{name}:{lineno}: {e.reason}") from None
        yield value


def read_json_lines(path: Path) -> Iterator[Any]:
    """:func:`json_lines` of a file (``.gz`` decompressed)."""
    with open_binary(path) as fh:
        yield from json_lines(fh, str(path))


def fence_ticks(text: str) -> str:
    """The backticks of a Markdown code fence around ``text``: three, or one more than its
    longest run of backticks (so a fence inside the text never closes this one)."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def fence(code: str, tag: str) -> str:
    """``code`` (its blank first and last lines dropped) in a Markdown code fence tagged ``tag``."""
    ticks = fence_ticks(code)
    return f"{ticks}{tag}\n{code.strip(chr(10))}\n{ticks}"


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``"1 file"``, ``"2 files"``, ``"1,234 records"``: a count with its noun in the right number."""
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"


def stdout_closed() -> int:
    """What a command does when its reader went away (``mulco configs OUT | head``): no traceback, no
    second error when Python flushes stdout at exit; exit status 141 (128 + SIGPIPE), as shell tools."""
    import os
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141
