"""Small helpers shared by the converter tests."""
from __future__ import annotations

from pathlib import Path
from types import ModuleType

from mulco.sources.base import BadRow, Rejected, Row


def convert_files(src: ModuleType, raw_dir: Path, files: list[Path]):
    """Run a source module over ``files``: (records, rejected units, (row, BadRow) pairs)."""
    records, rejected, bad = [], [], []
    for unit in src.read(raw_dir, files):
        if isinstance(unit, Rejected):
            rejected.append(unit)
            continue
        assert isinstance(unit, Row)
        try:
            records.extend(src.to_records(unit))
        except BadRow as e:
            bad.append((unit, e))
    return records, rejected, bad
