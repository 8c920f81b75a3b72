"""The run over one raw folder: for each item of a source, check what is present, fetch, extract
or make what is missing, verify it, put it in place, and say what happened (one
:class:`Outcome` per item)."""
from __future__ import annotations

import os
import shutil
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from .errors import ChecksumError, DownloadError, Unreachable
from .lock import LOCK_NAME, Lock
from .manifest import WORK_DIR, Item, SourceEntry
from .transfer import fetch
from .verify import CHUNK, hashes, verify

#: How each status is marked in the log; the ones under PROBLEMS go to stderr.
MARKS = {"ok": "ok", "downloaded": "got", "extracted": "got", "derived": "made", "trusted": "got",
         "would-download": "would get", "needs-trust": "UNPINNED", "unverified": "UNCHECKED", "manual": "BY HAND",
         "refused": "REFUSED", "failed": "FAILED"}
PROBLEMS = frozenset({"refused", "failed"})
IN_PLACE = frozenset({"ok", "downloaded", "trusted"})


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


@dataclass
class Outcome:
    source: str
    key: str
    status: str  # a key of MARKS
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
    """``log`` gets the plan and what went well (stdout); ``warn`` what went wrong and the retries (stderr)."""

    def __init__(self, raw_dir: Path, opts: Options | None = None, log: Callable[[str], None] = print,
                 warn: Callable[[str], None] = _stderr):
        self.raw = Path(raw_dir)
        self.opts = opts or Options()
        self.log = log
        self.warn = warn
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
        line = f"  {MARKS[status]:<10} {item.key}" + (f": {message}" if message else "")
        (self.warn if status in PROBLEMS else self.log)(line)
        return o

    def _cannot_write(self, item: Item, e: OSError) -> Outcome:
        return self._out(item, "failed", f"could not write {self.dest(item)}: {e.strerror or e}")

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

    def present_and_valid(self, item: Item) -> bool:
        path = self.dest(item)
        if not path.exists():
            return False
        v = verify(path, item.pin, self.lock.get(item.key))
        return bool(v.ok) or (v.ok is None and item.kind in ("member", "derived"))

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
        self._into_place(item, part, v.sha256, v.size, how)
        if how == "trust-on-first-use":
            return self._out(item, "trusted", f"recorded sha256 {v.sha256} in {LOCK_NAME} (trusted on first use)")
        return self._out(item, status)

    def _into_place(self, item: Item, part: Path, sha: str, size: int, how: str) -> None:
        dest = self.dest(item)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, dest)
        self.lock.record(item.key, sha, size, how, item.url)

    # -- one file ---------------------------------------------------------------------------

    def _present_or_blocked(self, item: Item) -> Outcome | None:
        """The outcome when ``item`` is already in place (or in the way), or cannot be written, else None."""
        done = self.check_present(item)
        if done is not None:
            return done
        why = self.blocked(item)
        return self._out(item, "failed", why) if why else None

    def _not_fetched(self, item: Item) -> Outcome | None:
        """The outcome when ``item`` is not to be fetched now (present, blocked, unpinned, a dry
        run, a dead host), or None to fetch it."""
        done = self._present_or_blocked(item)
        if done is not None:
            return done
        if not self._pinned(item) and not self.opts.trust_on_first_use:
            if self.opts.dry_run:
                return self._out(item, "needs-trust", f"not pinned (sha256 unknown): would need --trust-on-first-use "
                                                      f"<- {item.url}")
            return self._out(item, "refused", f"not pinned (sha256 unknown): rerun with --trust-on-first-use to "
                                              f"download it and record its hash ({item.url})")
        if self.opts.dry_run:
            size = f"{item.pin.size:,} bytes, " if item.pin.size is not None else ""
            return self._out(item, "would-download", f"{size}{item.pin.describe()} <- {item.url}")
        host = urlsplit(item.url).netloc
        if host in self.dead_hosts:
            return self._out(item, "failed", f"not tried: {host} could not be reached for an earlier file "
                                             f"({self.dead_hosts[host]})")
        return None

    def get_file(self, item: Item) -> Outcome:
        done = self._not_fetched(item)
        if done is not None:
            return done
        try:
            fetch(item.url, self.partial(item), retries=self.opts.retries, backoff=self.opts.backoff,
                  timeout=self.opts.timeout, progress=self.opts.progress, desc=item.key, log=self.warn)
            return self._finish(item, self.partial(item), "downloaded")
        except Unreachable as e:
            self.dead_hosts[e.host] = str(e).split(": ", 1)[-1]
            return self._out(item, "failed", str(e))
        except DownloadError as e:
            return self._out(item, "failed", str(e))
        except OSError as e:  # e.g. the disk is full, or the place became unwritable
            return self._cannot_write(item, e)

    def get_member(self, item: Item, archive: Path) -> Outcome:
        done = self._present_or_blocked(item)
        if done is not None:
            return done
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
            return self._place_member(item, part)
        except DownloadError as e:
            return self._out(item, "failed", str(e))
        except OSError as e:
            return self._cannot_write(item, e)

    def _place_member(self, item: Item, part: Path) -> Outcome:
        """A member with no pin of its own is what its archive (verified or trusted) contains:
        only its size, when known, is checked."""
        if self._pinned(item):
            return self._finish(item, part, "extracted")
        sha, _, size = hashes(part)
        if item.pin.size is not None and size != item.pin.size:
            bad = self.reject(part, item, sha)
            raise ChecksumError(f"{item.key}: {size} bytes in the archive, expected {item.pin.size}; "
                                f"kept aside as {bad} and not used")
        self._into_place(item, part, sha, size, f"member of archives/{item.archive}")
        return self._out(item, "extracted")

    # -- one source -------------------------------------------------------------------------

    def get_source(self, entry: SourceEntry) -> list[Outcome]:
        start = len(self.outcomes)
        self.log(f"{entry.name}" + (" (benchmark, for decontamination)" if entry.role == "benchmark" else ""))
        for item in entry.files:
            self.get_file(item)
        need = self._archives_needed(entry)
        archives, all_there = self._get_archives(entry, need)
        self._get_members(entry, need, archives)
        if entry.derive:
            self._get_derived(entry, archives, all_there)
        for m in entry.manual:
            if self.check_present(m) is None:
                self._out(m, "manual", self.manual_text(m))
        return self.outcomes[start:]

    def _archives_needed(self, entry: SourceEntry) -> set[str]:
        """The archives some missing member or derived output is made from."""
        need = {m.archive for m in entry.members if not self.present_and_valid(m)}
        if entry.derive and not all(self.present_and_valid(o) for o in entry.outputs):
            need |= {a.archive_name for a in entry.archives}
        return need

    def _get_archives(self, entry: SourceEntry, need: set[str]) -> tuple[dict[str, Path], bool]:
        """({name: path} of the needed archives now in place, whether all of them are)."""
        archives: dict[str, Path] = {}
        all_there = True
        for a in entry.archives:
            if a.archive_name not in need:
                continue
            if self.get_file(a).status in IN_PLACE:
                archives[a.archive_name] = self.dest(a)
            else:
                all_there = False
        return archives, all_there

    def _get_members(self, entry: SourceEntry, need: set[str], archives: dict[str, Path]) -> None:
        for m in entry.members:
            if m.archive in archives:
                self.get_member(m, archives[m.archive])
            elif m.archive not in need:
                self.check_present(m)
            elif self.opts.dry_run:
                self._out(m, "would-download", f"extracted from archives/{m.archive} ({m.member})")
            else:
                self._out(m, "failed", f"needs archives/{m.archive}, which is not available")

    def _get_derived(self, entry: SourceEntry, archives: dict[str, Path], all_there: bool) -> None:
        missing = [o for o in entry.outputs if not self.present_and_valid(o)]
        if not missing:
            for o in entry.outputs:
                self.check_present(o)
        elif self.opts.dry_run:
            for o in missing:
                self._out(o, "would-download", f"made from the archives above ({entry.derive['kind']})")
        elif all_there:
            self.derive(entry, archives)
        else:
            for o in missing:
                self._out(o, "failed", "not made: an archive it needs is not available")

    # -- derived files ----------------------------------------------------------------------

    def derive(self, entry: SourceEntry, archives: dict[str, Path]) -> None:
        kind = entry.derive["kind"]
        if kind != "codexglue_code_to_text":
            for o in entry.outputs:
                self._out(o, "failed", f"unknown derive kind {kind!r}")
            return
        by_lang: dict[str, list[Item]] = {}
        for o in entry.outputs:
            if self.check_present(o) is None:
                by_lang.setdefault(Path(o.key).parent.name, []).append(o)
        for lang, outs in sorted(by_lang.items()):
            self._derive_code_to_text(entry, archives, lang, outs)

    def _derive_code_to_text(self, entry: SourceEntry, archives: dict[str, Path], lang: str, outs: list[Item]) -> None:
        from ..sources.codesearchnet import codexglue_code_to_text

        parts = {Path(o.key).stem: self.partial(o) for o in outs}
        try:
            codexglue_code_to_text(archives[entry.derive["url_lists"]], archives[entry.derive["shards"].format(lang=lang)],
                                   lang, parts, self.raw / WORK_DIR / "tmp")
        except (OSError, ValueError, zipfile.BadZipFile, KeyError) as e:
            for o in outs:
                self._out(o, "failed", f"could not make it from the archives: {type(e).__name__}: {e}")
            return
        for o in outs:
            try:
                self._finish(o, parts[Path(o.key).stem], "derived")
            except DownloadError as e:
                self._out(o, "failed", str(e))
            except OSError as e:
                self._cannot_write(o, e)

    # -- by hand ----------------------------------------------------------------------------

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
