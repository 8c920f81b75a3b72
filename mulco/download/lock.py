"""``<raw-dir>/mulco-download.lock.json``: the sha256 of every file verified or trusted, which
pins every later download of it."""
from __future__ import annotations

import json
import os
from pathlib import Path

LOCK_NAME = "mulco-download.lock.json"


class Lock:
    """The lock file of one raw folder; ``readonly`` (a dry run) records in memory only."""

    def __init__(self, raw_dir: Path, readonly: bool = False):
        self.path = Path(raw_dir) / LOCK_NAME
        self.files: dict[str, dict] = {}
        self.readonly = readonly
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self.files = dict(data.get("files", {}))
            except (ValueError, AttributeError, TypeError) as e:
                raise ValueError(f"{self.path} is not a valid lock file ({type(e).__name__}: {e}); "
                                 f"move it away and run again") from None

    def get(self, key: str) -> str | None:
        return (self.files.get(key) or {}).get("sha256")

    def record(self, key: str, sha256: str, size: int, how: str, url: str | None) -> None:
        entry = {"sha256": sha256, "size": size, "verified_by": how}
        if url:
            entry["url"] = url
        if self.files.get(key) == entry:
            return
        self.files[key] = entry
        if not self.readonly:
            self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"format": 1, "about": "sha256 of each raw file as verified or trusted by mulco download; "
                                   "later downloads must match", "files": dict(sorted(self.files.items()))},
                                  indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)
