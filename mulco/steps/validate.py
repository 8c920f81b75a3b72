"""Schema validation as a build step."""
from __future__ import annotations

from ..record import Record, errors


def schema_errors(record: Record) -> str | None:
    """None when the record is valid; else 'schema: <pointer> <message>; ...'."""
    errs = list(errors(record))
    if not errs:
        return None
    return "schema: " + "; ".join(f"{ptr} {msg}" for ptr, msg in errs[:3])
