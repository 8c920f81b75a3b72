"""``mulco/data/downloads.json``: what is fetched from where, and how each file is pinned."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterator

MANIFEST = "data/downloads.json"
#: ``<raw-dir>/.mulco-download/``: partial transfers, cached archives, rejected files.
WORK_DIR = ".mulco-download"


@dataclass(frozen=True)
class Pin:
    sha256: str | None = None
    git_blob: str | None = None
    size: int | None = None

    @property
    def strong(self) -> bool:
        """Pinned by content (a size alone does not pin a file)."""
        return bool(self.sha256 or self.git_blob)

    def describe(self) -> str:
        if self.sha256:
            return f"sha256 {self.sha256}"
        if self.git_blob:
            return f"git blob {self.git_blob}…"
        return "unpinned"


@dataclass(frozen=True)
class Item:
    """One file of a source: fetched (``file``), cached archive (``archive``), extracted from an
    archive (``member``), made from archives (``derived``) or to be fetched by hand (``manual``)."""

    source: str
    kind: str
    key: str  # lock key: the destination path, or "archives/<name>"
    url: str | None
    pin: Pin
    member: str | None = None
    archive: str | None = None
    how: str | None = None
    why: str | None = None

    @property
    def archive_name(self) -> str:
        """For an archive: its file name (the key without ``archives/``)."""
        return self.key.split("/", 1)[1]


@dataclass
class SourceEntry:
    name: str
    role: str = "source"
    about: str = ""
    files: list[Item] = field(default_factory=list)
    archives: list[Item] = field(default_factory=list)
    members: list[Item] = field(default_factory=list)
    derive: dict | None = None
    outputs: list[Item] = field(default_factory=list)
    manual: list[Item] = field(default_factory=list)

    def items(self) -> list[Item]:
        return self.files + self.archives + self.members + self.outputs + self.manual


_HEX = re.compile(r"^[0-9a-f]+$")


def _pin(d: dict) -> Pin:
    sha, blob, size = d.get("sha256"), d.get("git_blob"), d.get("size")
    if sha is not None and not (len(sha) == 64 and _HEX.match(sha)):
        raise ValueError(f"manifest: bad sha256 {sha!r} for {d.get('dest') or d.get('name')}")
    if blob is not None and not (7 <= len(blob) <= 40 and _HEX.match(blob)):
        raise ValueError(f"manifest: bad git_blob {blob!r} for {d.get('dest') or d.get('name')}")
    if size is not None and (not isinstance(size, int) or size < 0):
        raise ValueError(f"manifest: bad size {size!r} for {d.get('dest') or d.get('name')}")
    return Pin(sha, blob, size)


def _check_dest(dest: str) -> str:
    p = Path(dest)
    if p.is_absolute() or ".." in p.parts or dest.startswith(WORK_DIR):
        raise ValueError(f"manifest: destination {dest!r} must be a relative path inside the raw folder")
    return p.as_posix()


def _entry(name: str, s: dict, url) -> SourceEntry:
    e = SourceEntry(name, s.get("role", "source"), s.get("about", ""))
    for f in s.get("files", []):
        e.files.append(Item(name, "file", _check_dest(f["dest"]), url(f["url"]), _pin(f)))
    for a in s.get("archives", []):
        e.archives.append(Item(name, "archive", f"archives/{a['name']}", url(a["url"]), _pin(a)))
        for m in a.get("members", []):
            e.members.append(Item(name, "member", _check_dest(m["dest"]), None, _pin(m), member=m["member"],
                                  archive=a["name"]))
    if s.get("derive"):
        e.derive = dict(s["derive"])
        for o in e.derive.pop("outputs"):
            e.outputs.append(Item(name, "derived", _check_dest(o["dest"]), None, _pin(o)))
    for m in s.get("manual", []):
        e.manual.append(Item(name, "manual", _check_dest(m["dest"]), m.get("url"), _pin(m), how=m.get("how"),
                             why=m.get("why")))
    return e


def load_manifest(path: Path | None = None) -> dict[str, SourceEntry]:
    """The manifest as :class:`SourceEntry` objects, URLs expanded, pins checked."""
    text = Path(path).read_text(encoding="utf-8") if path else resources.files("mulco").joinpath(MANIFEST).read_text(encoding="utf-8")
    raw = json.loads(text)
    if raw.get("format") != 1:
        raise ValueError(f"manifest format {raw.get('format')!r} is not supported (expected 1)")
    bases: dict[str, str] = raw.get("github", {})

    def url(u: str) -> str:
        return re.sub(r"\{([\w-]+)\}", lambda m: bases[m.group(1)], u)

    return {name: _entry(name, s, url) for name, s in sorted(raw["sources"].items())}


def select(manifest: dict[str, SourceEntry], names: list[str] | None) -> list[SourceEntry]:
    """The entries of ``names`` (all when none); an unknown name is an error that suggests close ones."""
    if not names:
        return list(manifest.values())
    out = []
    for n in names:
        if n not in manifest:
            from ..taxonomy import suggest

            close = suggest(n, manifest)
            raise ValueError(f"unknown source {n!r}." + (f" Did you mean: {', '.join(close)}?" if close else "")
                             + f" Sources: {', '.join(manifest)}.")
        out.append(manifest[n])
    return out


def iter_items(manifest: dict[str, SourceEntry]) -> Iterator[Item]:
    for e in manifest.values():
        yield from e.items()
