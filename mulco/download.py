"""``mulco download``: fetch the raw sources from their public locations into ``--raw-dir``.

What is fetched from where is data: ``mulco/data/downloads.json`` (one entry per source, files
at fixed GitHub commits, archives, derived files, and what must be fetched by hand). Every
file is checked before it is put in place:

* **Pins.** ``sha256`` (of the whole file) when known; otherwise ``git_blob`` (a prefix of the
  git blob id, ``sha1("blob <size>\\0" + content)``) and ``size`` taken from the source
  repository's history. A file verified by these has its sha256 recorded in the lock file
  ``<raw-dir>/mulco-download.lock.json``, which pins every later download.
* **Unpinned files** (``sha256: null`` and nothing else known) are refused unless
  ``--trust-on-first-use`` is given; the hash of what was fetched is then recorded in the
  lock file, and later downloads must match it.
* **A mismatch** is an error that names the expected and the actual hash; the bad file is
  moved to ``<raw-dir>/.mulco-download/rejected/`` (kept for inspection, never used).

Transfers go to ``<raw-dir>/.mulco-download/partial/`` and resume with HTTP ``Range`` after an
interruption; failures that can heal (timeouts, dropped connections, 408/425/429, 5xx) are
retried with exponential backoff; those that cannot (the host name does not resolve, the
connection is refused, a TLS certificate error, another 4xx) fail at once, and the other files
of a host that could not be reached are not tried. A file appears at its place in the raw
folder only once complete and verified.

**The user's files.** The raw folder is the user's: other files in it are normal and left
alone. ``download`` only adds files at the manifest's destinations and never deletes one: a
present file that is not the original is refused unless ``--force``, which moves it aside to
``.mulco-download/rejected/`` (kept). It refuses a ``--raw-dir`` that is a file, that it cannot
write, or that is (inside) a folder written by ``mulco build`` (the next build would delete
what it fetched). ``--dry-run`` writes nothing (not even the folder) and exits 0 when the real
run could go ahead.
Files that cannot be fetched automatically (Google Drive, licence click-through) are listed
with exactly what to download and where to put it.
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import sqlite3
import sys
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable, Iterator

MANIFEST = "data/downloads.json"
LOCK_NAME = "mulco-download.lock.json"
WORK_DIR = ".mulco-download"
USER_AGENT = "mulco-download/1 (+https://huggingface.co/datasets/collama/mulco)"
CHUNK = 1 << 20

#: Exit codes of ``mulco download``.
EXIT_OK, EXIT_FAILED, EXIT_MANUAL = 0, 1, 3


class DownloadError(RuntimeError):
    """A file could not be fetched; the message says why and what to do."""


class ChecksumError(DownloadError):
    """A fetched file is not the pinned original; it was kept aside."""


class Unreachable(DownloadError):
    """The host cannot be reached in a way retrying does not fix (no such name, connection refused)."""

    def __init__(self, message: str, host: str):
        super().__init__(message)
        self.host = host


def _permanent(e: BaseException) -> str | None:
    """Why a network error will not heal by retrying, or None when it may."""
    import socket
    import ssl

    reason = getattr(e, "reason", e)
    if isinstance(reason, socket.gaierror):
        return f"the host name does not resolve ({reason.strerror or reason}); check the network or DNS"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (nothing listens there); check the URL, a proxy or a firewall"
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({getattr(reason, 'verify_message', '') or reason})"
    return None


# --------------------------------------------------------------------------------------------
# Manifest


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


def load_manifest(path: Path | None = None) -> dict[str, SourceEntry]:
    """The manifest as :class:`SourceEntry` objects, URLs expanded, pins checked."""
    text = Path(path).read_text(encoding="utf-8") if path else resources.files("mulco").joinpath(MANIFEST).read_text(encoding="utf-8")
    raw = json.loads(text)
    if raw.get("format") != 1:
        raise ValueError(f"manifest format {raw.get('format')!r} is not supported (expected 1)")
    bases: dict[str, str] = raw.get("github", {})

    def url(u: str) -> str:
        return re.sub(r"\{([\w-]+)\}", lambda m: bases[m.group(1)], u)

    out = {}
    for name, s in sorted(raw["sources"].items()):
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
        out[name] = e
    return out


# --------------------------------------------------------------------------------------------
# Lock file and verification


class Lock:
    """``<raw-dir>/mulco-download.lock.json``: the sha256 of every file verified or trusted."""

    def __init__(self, raw_dir: Path, readonly: bool = False):
        self.path = Path(raw_dir) / LOCK_NAME
        self.files: dict[str, dict] = {}
        self.readonly = readonly  # a dry run records nothing
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


@dataclass
class Verdict:
    ok: bool | None  # None: nothing to check against
    sha256: str
    size: int
    how: str  # sha256 | git-blob | lock
    expected: str = ""
    actual: str = ""


def hashes(path: Path) -> tuple[str, str, int]:
    """(sha256, git blob id, size) of a file, in one pass."""
    size = path.stat().st_size
    sha, blob = hashlib.sha256(), hashlib.sha1(f"blob {size}\0".encode())
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            sha.update(chunk)
            blob.update(chunk)
    return sha.hexdigest(), blob.hexdigest(), size


def verify(path: Path, pin: Pin, locked: str | None) -> Verdict:
    sha, blob, size = hashes(path)
    if pin.size is not None and size != pin.size:
        return Verdict(False, sha, size, "size", f"{pin.size} bytes", f"{size} bytes")
    if pin.sha256:
        return Verdict(sha == pin.sha256, sha, size, "sha256", f"sha256 {pin.sha256}", f"sha256 {sha}")
    if pin.git_blob:
        return Verdict(blob.startswith(pin.git_blob), sha, size, "git-blob", f"git blob {pin.git_blob}…", f"git blob {blob}")
    if locked:
        return Verdict(sha == locked, sha, size, "lock", f"sha256 {locked} (from {LOCK_NAME})", f"sha256 {sha}")
    return Verdict(None, sha, size, "none")


# --------------------------------------------------------------------------------------------
# HTTP with resume, retries and a progress bar


def fetch(url: str, part: Path, *, retries: int = 5, backoff: float = 1.0, timeout: float = 60.0,
          progress: bool = True, desc: str = "", log: Callable[[str], None] = print) -> int:
    """Download ``url`` into ``part``, resuming what is already there; return the size.

    Connection errors, short reads, 429 and 5xx are retried ``retries`` times with exponential
    backoff, each retry resuming with ``Range: bytes=<have>-``.
    """
    part.parent.mkdir(parents=True, exist_ok=True)
    attempt, last = 0, ""
    while True:
        have = part.stat().st_size if part.exists() else 0
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as resp:
                total = _stream(resp, part, have, progress, desc or part.name)
            got = part.stat().st_size
            if total is not None and got < total:
                raise http.client.IncompleteRead(b"", total - got)
            return got
        except urllib.error.HTTPError as e:
            if e.code == 416 and have:  # nothing left to send: the part is complete (verification decides)
                return have
            if e.code not in (408, 425, 429) and e.code < 500:
                hint = " (the file moved? check the URL in mulco/data/downloads.json)" if e.code == 404 else ""
                raise DownloadError(f"{url}: HTTP {e.code} {e.reason}{hint}") from None
            last = f"HTTP {e.code}"
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as e:
            why = _permanent(e)
            if why:
                from urllib.parse import urlsplit

                raise Unreachable(f"{url}: {why}; not retried", urlsplit(url).netloc) from None
            last = f"{type(e).__name__}: {getattr(e, 'reason', e)}"
        except OSError as e:
            last = f"{type(e).__name__}: {e}"
        attempt += 1
        if attempt > retries:
            have = part.stat().st_size if part.exists() else 0
            raise DownloadError(f"{url}: failed after {retries + 1} tries (last: {last}); run again to resume"
                                + (f" from byte {have:,}" if have else "")) from None
        wait = backoff * 2 ** (attempt - 1)
        log(f"  retry {attempt}/{retries} in {wait:g}s: {last}")
        time.sleep(wait)


def _stream(resp, part: Path, have: int, progress: bool, desc: str) -> int | None:
    """Write the response body to ``part`` (appending on 206); return the expected total size."""
    status = getattr(resp, "status", 200)
    total = None
    if have and status == 206:
        m = re.match(r"bytes (\d+)-(\d+)/(\d+|\*)", resp.headers.get("Content-Range", ""))
        if not m or int(m.group(1)) != have:
            have = 0  # a range we did not ask for: start again
            mode = "wb"
        else:
            mode = "ab"
            total = int(m.group(3)) if m.group(3) != "*" else None
    else:
        have, mode = 0, "wb"
    if total is None and resp.headers.get("Content-Length") is not None and (mode == "wb" or have):
        total = have + int(resp.headers["Content-Length"]) if mode == "ab" else int(resp.headers["Content-Length"])
    from tqdm.auto import tqdm

    with open(part, mode) as fh, tqdm(total=total, initial=have if mode == "ab" else 0, unit="B", unit_scale=True,
                                       unit_divisor=1024, desc=desc[-40:], disable=None if progress else True,
                                       file=sys.stderr, leave=False) as bar:
        while True:
            chunk = resp.read(CHUNK)
            if not chunk:
                break
            fh.write(chunk)
            bar.update(len(chunk))
        fh.flush()
        os.fsync(fh.fileno())
    return total


# --------------------------------------------------------------------------------------------
# The run


@dataclass
class Outcome:
    source: str
    key: str
    status: str  # ok | downloaded | extracted | derived | trusted | unverified | would-download | manual | refused | failed
    message: str = ""


@dataclass
class Options:
    trust_on_first_use: bool = False
    force: bool = False
    dry_run: bool = False
    retries: int = 5
    backoff: float = 1.0
    timeout: float = 60.0
    progress: bool = True


class Downloader:
    def __init__(self, raw_dir: Path, opts: Options | None = None, log: Callable[[str], None] = print):
        self.raw = Path(raw_dir)
        self.opts = opts or Options()
        self.log = log
        self.lock = Lock(self.raw, readonly=self.opts.dry_run)
        self.outcomes: list[Outcome] = []
        self.dead_hosts: dict[str, str] = {}  # host -> why it could not be reached

    # -- paths ------------------------------------------------------------------------------

    def dest(self, item: Item) -> Path:
        if item.kind == "archive":
            return self.raw / WORK_DIR / item.key
        return self.raw / item.key

    def partial(self, item: Item) -> Path:
        return self.raw / WORK_DIR / "partial" / item.key

    def reject(self, path: Path, item: Item, sha: str) -> Path:
        bad = self.raw / WORK_DIR / "rejected" / f"{item.key}.{sha[:12]}"
        bad.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, bad)
        return bad

    def _out(self, item: Item, status: str, message: str = "") -> Outcome:
        o = Outcome(item.source, item.key, status, message)
        self.outcomes.append(o)
        mark = {"ok": "ok", "downloaded": "got", "extracted": "got", "derived": "made", "trusted": "got",
                "would-download": "would get", "unverified": "UNCHECKED", "manual": "BY HAND", "refused": "REFUSED",
                "failed": "FAILED"}[status]
        self.log(f"  {mark:<10} {item.key}" + (f": {message}" if message else ""))
        return o

    # -- checks -----------------------------------------------------------------------------

    def blocked(self, item: Item) -> str | None:
        """Why the file cannot be put at its place (a file where a folder must be, a folder at its
        name, a folder that cannot be written), or None. Nothing is created."""
        dest = self.dest(item)
        if dest.is_dir():
            return f"{dest} is a folder; a file must go there (move the folder away)"
        p = dest.parent
        while not p.exists() and p != self.raw and p != p.parent:
            p = p.parent
        if p.exists() and not p.is_dir():
            return f"{p} is a file where a folder must be (move it away)"
        if p.exists() and not os.access(p, os.W_OK | os.X_OK):
            return f"cannot write into {p} (permission denied)"
        return None

    def _pinned(self, item: Item) -> bool:
        return item.pin.strong or bool(self.lock.get(item.key))

    def check_present(self, item: Item) -> Outcome | None:
        """The outcome for a file already in place, or None when it must be (re)made."""
        path = self.dest(item)
        if not path.exists():
            return None
        v = verify(path, item.pin, self.lock.get(item.key))
        if v.ok:
            self.lock.record(item.key, v.sha256, v.size, v.how, item.url)
            return self._out(item, "ok")
        if v.ok is None:
            if self.opts.trust_on_first_use and not self.opts.dry_run:
                self.lock.record(item.key, v.sha256, v.size, "trust-on-first-use", item.url)
                return self._out(item, "trusted", f"present; recorded sha256 {v.sha256} in {LOCK_NAME}")
            return self._out(item, "unverified", "present but unpinned, not checked (pass --trust-on-first-use to "
                                                 "record its hash)")
        if self.opts.force and not self.opts.dry_run:
            bad = self.reject(path, item, v.sha256)
            self.log(f"  moved the file that differs from the original to {bad}")
            return None
        return self._out(item, "failed", f"present but not the original (expected {v.expected}, got {v.actual}): "
                                         f"move it away or pass --force to replace it")

    def _finish(self, item: Item, part: Path, status: str) -> Outcome:
        """Verify a complete file in ``part`` and move it into place, or keep it aside."""
        v = verify(part, item.pin, self.lock.get(item.key))
        if v.ok is False:
            bad = self.reject(part, item, v.sha256)
            raise ChecksumError(f"{item.key}: checksum mismatch (expected {v.expected}, got {v.actual}); the file was "
                                f"kept aside as {bad} and not used; run again to download it afresh")
        how = v.how if v.ok else "trust-on-first-use"
        dest = self.dest(item)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, dest)
        self.lock.record(item.key, v.sha256, v.size, how, item.url)
        msg = f"recorded sha256 {v.sha256} in {LOCK_NAME} (trusted on first use)" if how == "trust-on-first-use" else ""
        return self._out(item, "trusted" if how == "trust-on-first-use" else status, msg)

    # -- kinds ------------------------------------------------------------------------------

    def get_file(self, item: Item) -> Outcome:
        done = self.check_present(item)
        if done is not None:
            return done
        if not self._pinned(item) and not self.opts.trust_on_first_use:
            return self._out(item, "refused", f"not pinned (sha256 unknown): rerun with --trust-on-first-use to "
                                              f"download it and record its hash ({item.url})")
        why = self.blocked(item)
        if why:
            return self._out(item, "failed", why)
        if self.opts.dry_run:
            size = f"{item.pin.size:,} bytes, " if item.pin.size is not None else ""
            return self._out(item, "would-download", f"{size}{item.pin.describe()} <- {item.url}")
        from urllib.parse import urlsplit

        host = urlsplit(item.url).netloc
        if host in self.dead_hosts:
            return self._out(item, "failed", f"not tried: {host} could not be reached for an earlier file "
                                             f"({self.dead_hosts[host]})")
        try:
            fetch(item.url, self.partial(item), retries=self.opts.retries, backoff=self.opts.backoff,
                  timeout=self.opts.timeout, progress=self.opts.progress, desc=item.key, log=self.log)
            return self._finish(item, self.partial(item), "downloaded")
        except Unreachable as e:
            self.dead_hosts[e.host] = str(e).split(": ", 1)[-1]
            return self._out(item, "failed", str(e))
        except DownloadError as e:
            return self._out(item, "failed", str(e))
        except OSError as e:  # e.g. the disk is full, or the place became unwritable
            return self._out(item, "failed", f"could not write {self.dest(item)}: {e.strerror or e}")

    def get_member(self, item: Item, archive: Path) -> Outcome:
        done = self.check_present(item)
        if done is not None:
            return done
        why = self.blocked(item)
        if why:
            return self._out(item, "failed", why)
        part = self.partial(item)
        try:
            part.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(archive) as zf, zf.open(item.member) as src, open(part, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
        except KeyError:
            return self._out(item, "failed", f"{item.member} is not in {archive.name}")
        except zipfile.BadZipFile as e:
            return self._out(item, "failed", f"{archive.name} is not a readable zip ({e})")
        except OSError as e:
            return self._out(item, "failed", f"could not extract {item.member}: {e.strerror or e}")
        try:
            # the archive was verified (or trusted): its members are what it contains
            if not self._pinned(item):
                sha, _, size = hashes(part)
                if item.pin.size is not None and size != item.pin.size:
                    bad = self.reject(part, item, sha)
                    raise ChecksumError(f"{item.key}: {size} bytes in the archive, expected {item.pin.size}; "
                                        f"kept aside as {bad} and not used")
                dest = self.dest(item)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(part, dest)
                self.lock.record(item.key, sha, size, f"member of archives/{item.archive}", None)
                return self._out(item, "extracted")
            return self._finish(item, part, "extracted")
        except DownloadError as e:
            return self._out(item, "failed", str(e))
        except OSError as e:
            return self._out(item, "failed", f"could not write {self.dest(item)}: {e.strerror or e}")

    def get_source(self, entry: SourceEntry) -> list[Outcome]:
        start = len(self.outcomes)
        self.log(f"{entry.name}" + (" (benchmark, for decontamination)" if entry.role == "benchmark" else ""))
        for item in entry.files:
            self.get_file(item)
        need_archives = {m.archive for m in entry.members if not self._present_and_valid(m)}
        if entry.derive and any(not self._present_and_valid(o) for o in entry.outputs):
            need_archives |= {a.key.split("/", 1)[1] for a in entry.archives}
        archives: dict[str, Path] = {}
        ok_archives = True
        for a in entry.archives:
            name = a.key.split("/", 1)[1]
            if name not in need_archives:
                continue
            o = self.get_file(a)
            if o.status in ("ok", "downloaded", "trusted"):
                archives[name] = self.dest(a)
            else:
                ok_archives = False
        for m in entry.members:
            if m.archive in archives:
                self.get_member(m, archives[m.archive])
            elif m.archive not in need_archives:
                self.check_present(m)
            elif self.opts.dry_run:
                self._out(m, "would-download", f"extracted from archives/{m.archive} ({m.member})")
            else:
                self._out(m, "failed", f"needs archives/{m.archive}, which is not available")
        if entry.derive:
            if all(self._present_and_valid(o) for o in entry.outputs):
                for o in entry.outputs:
                    self.check_present(o)
            elif ok_archives and not self.opts.dry_run:
                self.derive(entry, archives)
            elif self.opts.dry_run:
                for o in entry.outputs:
                    if not self._present_and_valid(o):
                        self._out(o, "would-download", f"made from the archives above ({entry.derive['kind']})")
            else:
                for o in entry.outputs:
                    if not self._present_and_valid(o):
                        self._out(o, "failed", "not made: an archive it needs is not available")
        for m in entry.manual:
            if self.check_present(m) is None:
                self._out(m, "manual", self.manual_text(m))
        return self.outcomes[start:]

    def _present_and_valid(self, item: Item) -> bool:
        path = self.dest(item)
        if not path.exists():
            return False
        v = verify(path, item.pin, self.lock.get(item.key))
        return bool(v.ok) or (v.ok is None and item.kind in ("member", "derived"))

    def derive(self, entry: SourceEntry, archives: dict[str, Path]) -> None:
        kind = entry.derive["kind"]
        if kind != "codexglue_code_to_text":
            for o in entry.outputs:
                self._out(o, "failed", f"unknown derive kind {kind!r}")
            return
        todo = [o for o in entry.outputs if self.check_present(o) is None]
        by_lang: dict[str, list[Item]] = {}
        for o in todo:
            by_lang.setdefault(Path(o.key).parent.name, []).append(o)
        url_zip = archives[entry.derive["url_lists"]]
        for lang, outs in sorted(by_lang.items()):
            shards = archives[entry.derive["shards"].format(lang=lang)]
            parts = {Path(o.key).stem: self.partial(o) for o in outs}
            try:
                codexglue_code_to_text(url_zip, shards, lang, parts, self.raw / WORK_DIR / "tmp")
            except (OSError, ValueError, zipfile.BadZipFile, KeyError) as e:
                for o in outs:
                    self._out(o, "failed", f"could not make it from the archives: {type(e).__name__}: {e}")
                continue
            for o in outs:
                try:
                    self._finish(o, parts[Path(o.key).stem], "derived")
                except DownloadError as e:
                    self._out(o, "failed", str(e))
                except OSError as e:
                    self._out(o, "failed", f"could not write {self.dest(o)}: {e.strerror or e}")

    def manual_text(self, item: Item) -> str:
        where = self.raw / item.key
        how = (item.how or "").replace("{dest}", str(where))
        lines = [f"download it by hand and save it as {where}"]
        if item.why:
            lines.append(f"why: {item.why}")
        if item.url:
            lines.append(f"from: {item.url}")
        if how:
            lines.append(f"e.g.: {how}")
        lines.append("then run `mulco download " + item.source + "` again to check it")
        return "\n               ".join(lines)


def codexglue_code_to_text(url_zip: Path, shard_zip: Path, lang: str, parts: dict[str, Path], tmp_dir: Path) -> None:
    """CodeXGLUE code-to-text's ``preprocess.py`` for one language, streaming.

    For each split in ``parts`` (``train``/``valid``/``test`` -> output path): read the
    CodeSearchNet ``<lang>/final/jsonl`` shards of that split (a file belongs to the first of
    train/valid/test its path contains; a url seen twice keeps its last row), then write, for
    each url of ``<lang>/<split>.txt`` in the CodeXGLUE dataset.zip that has a row,
    ``json.dumps(row)`` and a newline. Rows are staged in a SQLite file, not in memory.
    """
    tmp_dir.mkdir(parents=True, exist_ok=True)
    db_path = tmp_dir / f"code-to-text-{lang}.sqlite"
    db_path.unlink(missing_ok=True)
    db = sqlite3.connect(db_path)
    try:
        db.execute("CREATE TABLE rows (split TEXT, url TEXT, line TEXT, PRIMARY KEY (split, url))")
        with zipfile.ZipFile(shard_zip) as zf:
            names = sorted(n for n in zf.namelist() if n.startswith(f"{lang}/final/") and ".jsonl" in n)
            for name in names:
                split = next((s for s in ("train", "valid", "test") if s in name), None)
                if split not in parts:
                    continue
                with zf.open(name) as raw:
                    fh = gzip.open(raw) if name.endswith(".gz") else raw
                    batch = []
                    for line in io.TextIOWrapper(fh, encoding="utf-8"):
                        line = line.strip()
                        if not line:
                            continue
                        js = json.loads(line)
                        batch.append((split, js["url"], json.dumps(js)))
                        if len(batch) >= 10_000:
                            db.executemany("INSERT OR REPLACE INTO rows VALUES (?, ?, ?)", batch)
                            batch = []
                    db.executemany("INSERT OR REPLACE INTO rows VALUES (?, ?, ?)", batch)
        db.commit()
        with zipfile.ZipFile(url_zip) as uz:
            for split, out in parts.items():
                member = _find_member(uz, f"{lang}/{split}.txt")
                out.parent.mkdir(parents=True, exist_ok=True)
                with uz.open(member) as lists, open(out, "w", encoding="utf-8", newline="\n") as dst:
                    for raw_url in io.TextIOWrapper(lists, encoding="utf-8"):
                        url = raw_url.strip()
                        row = db.execute("SELECT line FROM rows WHERE split = ? AND url = ?", (split, url)).fetchone()
                        if row:
                            dst.write(row[0] + "\n")
    finally:
        db.close()
        db_path.unlink(missing_ok=True)


def _find_member(zf: zipfile.ZipFile, suffix: str) -> str:
    hits = sorted(n for n in zf.namelist() if n == suffix or n.endswith("/" + suffix))
    if not hits:
        raise KeyError(f"{suffix} is not in {Path(zf.filename or '').name}")
    return min(hits, key=len)


# --------------------------------------------------------------------------------------------
# Entry point


def select(manifest: dict[str, SourceEntry], names: list[str] | None) -> list[SourceEntry]:
    if not names:
        return list(manifest.values())
    out = []
    for n in names:
        if n not in manifest:
            from .taxonomy import suggest

            close = suggest(n, manifest)
            raise ValueError(f"unknown source {n!r}." + (f" Did you mean: {', '.join(close)}?" if close else "")
                             + f" Sources: {', '.join(manifest)}.")
        out.append(manifest[n])
    return out


def download(names: list[str] | None, raw_dir: Path, opts: Options | None = None, *, manifest: Path | None = None,
             log: Callable[[str], None] = print) -> tuple[int, list[Outcome]]:
    """Fetch the named sources (all when none) into ``raw_dir``; return (exit code, outcomes)."""
    entries = select(load_manifest(manifest), names)
    raw_dir = Path(raw_dir)
    opts = opts or Options()
    check_raw_dir(raw_dir)
    if not opts.dry_run:
        raw_dir.mkdir(parents=True, exist_ok=True)
    d = Downloader(raw_dir, opts, log)
    for e in entries:
        d.get_source(e)
    return summarize(d.outcomes, raw_dir, log, dry_run=opts.dry_run)


def check_raw_dir(raw_dir: Path) -> None:
    """``--raw-dir`` may hold anything of the user's (download adds files, never deletes one);
    refused: a file, a place that cannot be written, a folder written by ``mulco build``
    (the next build would delete the downloads) or one inside it."""
    from .safeout import BUILD_MARKER, check_writable_into, has_marker

    check_writable_into(raw_dir, flag="--raw-dir")
    p = Path(os.path.abspath(raw_dir))
    for folder in (p, *p.parents):
        if folder.is_dir() and has_marker(folder, BUILD_MARKER):
            from .safeout import UnsafeOutputError

            raise UnsafeOutputError(f"--raw-dir {raw_dir} is {'inside ' if folder != p else ''}a folder written by "
                                    f"`mulco build` ({folder}), which the next build replaces; choose another folder")


def summarize(outcomes: list[Outcome], raw_dir: Path, log: Callable[[str], None] = print,
              dry_run: bool = False) -> tuple[int, list[Outcome]]:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    log("; ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to do")
    failed = [o for o in outcomes if o.status == "failed"]
    refused = [o for o in outcomes if o.status == "refused"]
    manual = [o for o in outcomes if o.status == "manual"]
    would = "would be " if dry_run else ""
    if refused:
        log(f"{len(refused)} file(s) {would}refused because their sha256 is not pinned: pass --trust-on-first-use to "
            f"fetch them and record the hash they have in {raw_dir / LOCK_NAME} (later downloads must match it)")
    if failed:
        log(f"{len(failed)} file(s) {'could not be put' if dry_run else 'not'} in place; see the lines marked FAILED above")
    if failed or refused:
        return EXIT_FAILED, outcomes
    if manual:
        log(f"{len(manual)} file(s) must be downloaded by hand into {raw_dir} (see BY HAND above)")
        if dry_run:
            log("dry run: nothing was written; the plan above can run")
            return EXIT_OK, outcomes
        return EXIT_MANUAL, outcomes
    if dry_run:
        log("dry run: nothing was written; the plan above can run")
    return EXIT_OK, outcomes


def iter_items(manifest: dict[str, SourceEntry]) -> Iterator[Item]:
    for e in manifest.values():
        yield from e.items()
