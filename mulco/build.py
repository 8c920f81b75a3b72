"""``mulco build``: raw sources -> records -> quality steps -> Hub-ready folder.

Every raw unit a source reads is either kept (it produced records) or quarantined with its
reason; every record made is either written, skipped (needs a translator) or dropped by a
step with its reason. :func:`build` returns the accounting, which the report and the summary
table print, and the output folder appears only when complete (atomic swap).
"""
from __future__ import annotations

import collections
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from . import record as rec_mod
from . import sources as registry
from .sources.base import TRANSLATE_KEY, MissingSourceFile, Rejected, hash_split
from .steps.validate import schema_errors

SAMPLE_RAW = "sample/raw"


@dataclass
class BuildConfig:
    """Settings of ``mulco build``."""

    raw_dir: Path | None = field(
        default=None,
        metadata={"help": "Folder with the raw sources (layout in docs/sources.md). Default: the small sample bundled with mulco."},
    )
    out: Path = field(default=Path("out/mulco"), metadata={"help": "Output folder (replaced atomically when the build completes)."})
    sources: list[str] | None = field(
        default=None, metadata={"help": "Only these sources (registry names). A named source that is missing is an error."}
    )
    workers: int = field(default=1, metadata={"help": "Processes converting sources in parallel (output is identical for any value)."})
    strict: bool = field(default=False, metadata={"help": "Fail when a source is only partly present instead of skipping it."})
    progress: bool = field(default=True, metadata={"help": "Show progress bars (on a terminal)."})
    translator_url: str | None = field(
        default=None,
        metadata={"help": "OpenAI-compatible chat endpoint (e.g. http://127.0.0.1:8000/v1) used to write Chinese "
                          "versions of English docstrings. Without it those ZH records are skipped and counted."},
    )
    translator_model: str = field(default="gpt-4o-mini", metadata={"help": "Model name sent to the translator endpoint."})
    translator_key_env: str = field(
        default="MULCO_TRANSLATOR_KEY", metadata={"help": "Environment variable holding the translator API key (never printed)."}
    )
    translator_cache: Path | None = field(
        default=None, metadata={"help": "Folder caching translations on disk (default: ~/.cache/mulco/translations)."}
    )


@dataclass
class SourceResult:
    name: str
    status: str = "absent"  # built | absent | skipped
    message: str = ""
    files: list[str] = field(default_factory=list)
    units_read: int = 0
    units_kept: int = 0
    units_quarantined: int = 0
    quarantine_reasons: collections.Counter = field(default_factory=collections.Counter)
    records_made: int = 0
    records_skipped: collections.Counter = field(default_factory=collections.Counter)
    records_dropped: collections.Counter = field(default_factory=collections.Counter)
    records_kept: int = 0
    # not reported: the data
    records: list[tuple[str, dict]] = field(default_factory=list, repr=False)  # (split, record)
    pending: list[tuple[str, dict]] = field(default_factory=list, repr=False)
    quarantine: list[dict] = field(default_factory=list, repr=False)

    def reconciles(self) -> bool:
        return (
            self.units_read == self.units_kept + self.units_quarantined
            and self.records_made == self.records_kept + sum(self.records_skipped.values()) + sum(self.records_dropped.values())
        )

    def summary(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "message": self.message,
            "files": self.files,
            "units_read": self.units_read,
            "units_kept": self.units_kept,
            "units_quarantined": self.units_quarantined,
            "quarantine_reasons": dict(sorted(self.quarantine_reasons.items())),
            "records_made": self.records_made,
            "records_skipped": dict(sorted(self.records_skipped.items())),
            "records_dropped": dict(sorted(self.records_dropped.items())),
            "records_kept": self.records_kept,
            "reconciles": self.reconciles(),
        }


@dataclass
class BuildResult:
    out: Path
    sources: dict[str, SourceResult]
    leaves: dict[tuple, int]  # (task, subtask, lang, plang, split) -> records
    configs: list[str]
    seconds: float
    report: dict = field(default_factory=dict)


def sample_raw_dir() -> Path:
    return Path(str(resources.files("mulco").joinpath(SAMPLE_RAW)))


def _reason_key(reason: str) -> str:
    """Group reasons for counting: the part before the first ':' (details stay in the quarantine)."""
    return reason.split(":", 1)[0].strip()


def convert_source(name: str, raw_dir: Path, strict: bool = False, explicit: bool = False, progress: bool = True) -> SourceResult:
    """Read and convert one source: all its records and quarantined units, with counts."""
    mod = registry.get(name)
    res = SourceResult(name)
    try:
        files = mod.find(raw_dir)
    except MissingSourceFile as e:
        if strict or explicit:
            raise
        res.status, res.message = "skipped", str(e)
        return res
    if not files:
        if explicit:
            raise MissingSourceFile(name, raw_dir / mod.SPEC.patterns[0], mod.SPEC.expected)
        res.message = f"not found under {raw_dir} (expected {mod.SPEC.expected})"
        return res
    res.status = "built"
    res.files = [p.relative_to(raw_dir).as_posix() for p in files]

    def quarantine(file, line, reason, field=None, excerpt="", weight=1, stage="read", record_id=None):
        res.quarantine.append({
            "source": name, "file": file, "line": line, "stage": stage, "reason": reason,
            "field": field, "record_id": record_id, "excerpt": excerpt,
        })
        if stage in ("read", "convert"):
            res.units_quarantined += weight
            res.quarantine_reasons[_reason_key(reason)] += weight

    from tqdm.auto import tqdm

    bar = tqdm(desc=f"{name:>26}", unit=" rows", disable=None if progress else True, file=sys.stderr, leave=False)
    from .sources.base import BadRow, excerpt as _excerpt

    for unit in mod.read(raw_dir, files):
        res.units_read += unit.weight
        bar.update(unit.weight)
        if isinstance(unit, Rejected):
            quarantine(unit.file, unit.line, unit.reason, unit.field, unit.excerpt, unit.weight)
            continue
        try:
            made = mod.to_records(unit)
        except BadRow as e:
            quarantine(unit.file, unit.line, e.reason, e.field, _excerpt(unit.data), unit.weight, stage="convert")
            continue
        except Exception as e:  # a converter bug must not stop the build nor lose the row
            quarantine(unit.file, unit.line, f"converter error: {type(e).__name__}: {e}", None,
                       _excerpt(unit.data), unit.weight, stage="convert")
            continue
        if not made:
            quarantine(unit.file, unit.line, "no record: the row produced nothing", None, _excerpt(unit.data),
                       unit.weight, stage="convert")
            continue
        res.units_kept += unit.weight
        split = unit.split or hash_split(f"{name}\x1f{unit.file}\x1f{unit.line}")
        for r in made:
            res.records_made += 1
            if TRANSLATE_KEY in r:
                res.pending.append((split, r))
            else:
                res.records.append((split, r))
    bar.close()
    return res


def _convert_job(args):
    return convert_source(*args)


def resolve_translations(res: SourceResult, translator) -> None:
    """Fill records that need English->Chinese translation, or skip and count them."""
    if not res.pending:
        return
    if translator is None:
        res.records_skipped["zh_needs_translator"] += len(res.pending)
        res.pending = []
        return
    texts, where = [], []
    for i, (_, r) in enumerate(res.pending):
        for f in r[TRANSLATE_KEY]:
            texts.append(r[f])
            where.append((i, f))
    out = translator.translate(texts)
    for (i, f), t in zip(where, out):
        res.pending[i][1][f] = t
    for split, r in res.pending:
        del r[TRANSLATE_KEY]
        res.records.append((split, r))
    res.pending = []


def apply_record_steps(res: SourceResult, steps) -> None:
    kept = []
    for split, r in res.records:
        for step_name, step in steps:
            reason = step(r)
            if reason:
                res.records_dropped[f"{step_name}: {_reason_key(reason)}" if step_name != _reason_key(reason) else step_name] += 1
                res.quarantine.append({
                    "source": r.get("source", res.name), "file": r.get("source_id", "").rsplit(":", 1)[0],
                    "line": r.get("source_id", "").rsplit(":", 1)[-1], "stage": step_name, "reason": reason,
                    "field": None, "record_id": r.get("id"), "excerpt": "",
                })
                break
        else:
            kept.append((split, r))
    res.records = kept


def build(cfg: BuildConfig, translator=None, log=print) -> BuildResult:
    """Build MulCo from ``cfg.raw_dir`` into ``cfg.out``; see the module docstring."""
    from .hub import write_folder

    t0 = time.perf_counter()
    raw_dir = Path(cfg.raw_dir) if cfg.raw_dir else sample_raw_dir()
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"raw folder {raw_dir} does not exist (expected the raw sources; see docs/sources.md)")
    names = cfg.sources or registry.names()
    for n in names:
        registry.get(n)  # unknown names fail early with close matches
    explicit = cfg.sources is not None
    jobs = [(n, raw_dir, cfg.strict, explicit, cfg.progress) for n in names]
    if cfg.workers > 1 and len(jobs) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=cfg.workers) as pool:
            results = list(pool.map(_convert_job, jobs))
    else:
        results = [convert_source(*j) for j in jobs]

    steps = [("schema", schema_errors)]
    for res in results:
        resolve_translations(res, translator)
        apply_record_steps(res, steps)

    all_records: list[tuple[str, dict]] = []
    for res in results:
        res.records_kept = len(res.records)
        all_records.extend(res.records)
    quarantine = [q for res in results for q in res.quarantine]
    by_source = {res.name: res for res in results}
    report = make_report(raw_dir, by_source, translator)
    out = Path(cfg.out)
    leaves, configs = write_folder(all_records, out, report=report, quarantine=quarantine, sources=by_source)
    seconds = time.perf_counter() - t0
    for res in results:  # free memory; keep the counts
        res.records, res.quarantine = [], []
    return BuildResult(out=out, sources=by_source, leaves=leaves, configs=configs, seconds=seconds, report=report)


def make_report(raw_dir: Path, by_source: dict[str, SourceResult], translator) -> dict:
    sample = raw_dir.resolve() == sample_raw_dir().resolve()
    return {
        "mulco_version": _version(),
        "raw_dir": "<bundled sample>" if sample else raw_dir.name,
        "translator": getattr(translator, "name", None),
        "sources": {n: r.summary() for n, r in by_source.items()},
    }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mulco")
    except PackageNotFoundError:
        return "0+unknown"


def atomic_replace(tmp: Path, out: Path) -> None:
    """Put the complete folder ``tmp`` at ``out``. With an existing ``out`` the two are swapped
    in one step (Linux renameat2 RENAME_EXCHANGE) so a reader or a crash never sees a mix;
    elsewhere the old folder is moved aside first."""
    if out.exists():
        if not _exchange(tmp, out):
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.rename(out, old)
            os.rename(tmp, out)
            tmp = old
        shutil.rmtree(tmp)
    else:
        os.rename(tmp, out)


def _exchange(a: Path, b: Path) -> bool:
    if sys.platform != "linux":
        return False
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    fn = getattr(libc, "renameat2", None)
    if fn is None:
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    return fn(AT_FDCWD, os.fsencode(str(a)), AT_FDCWD, os.fsencode(str(b)), RENAME_EXCHANGE) == 0
