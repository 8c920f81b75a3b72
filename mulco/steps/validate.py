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
