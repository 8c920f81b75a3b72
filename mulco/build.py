"""``mulco build``: raw sources -> records -> quality steps -> Hub-ready folder.

Every raw unit a source reads is either kept (it produced records) or quarantined with its
reason; every record made is either written, skipped (needs a translator) or dropped by a
step with its reason. :func:`build` returns the accounting, which the report and the summary
table print, and the output folder appears only when complete (atomic swap).
"""
from __future__ import annotations

import collections
import shutil
import sys
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from . import sources as registry
from .fsops import SWAP_CHECK as _SWAP_CHECK
from .fsops import atomic_replace, clean_leftovers  # noqa: F401  (mulco.build's names; export uses them)
from .sources.base import TRANSLATE_KEY, BadRow, MissingSourceFile, Rejected, excerpt, hash_split, rel
from .steps import registry as steps_registry
from .steps.pipeline import reason_key as _reason_key

SAMPLE_RAW = "sample/raw"
#: folders of the staging folder that are not part of the output: the records on disk
#: (:mod:`mulco.store`) and the steps' arrays on disk; removed before the swap
STORE = ".records"
SPILL = ".spill"


@dataclass
class _BuildSettings:
    raw_dir: Path | None = field(
        default=None,
        metadata={"help": "Folder with the raw sources (layout in docs/sources.md; `mulco sources --raw-dir DIR` says what "
                          "it holds). `mulco build` needs it, or --sample."},
    )
    sample: bool = field(default=False, metadata={
        "help": "Build the small sample bundled with mulco (about 190 records, to try the commands) instead of a "
                "--raw-dir. (In Python, BuildConfig(raw_dir=None) builds it too.)"})
    out: Path = field(default=Path("out/mulco"), metadata={
        "help": "Output folder: new, empty, or written by an earlier `mulco build` (replaced atomically when the build "
                "completes). Any other folder is refused unless --force; never inside or around --raw-dir."})
    force: bool = field(default=False, metadata={
        "help": "Replace --out even if it is a folder `mulco build` did not write (its contents are deleted)."})
    sources: list[str] | None = field(
        default=None, metadata={"choices": registry.names,
                                "help": "Only these sources (registry names). A named source that is missing is an error."}
    )
    workers: int = field(default=1, metadata={
        "help": "Processes converting sources in parallel (output is identical for any value).", "range": "[1, 256]"})
    threads: int = field(default=2, metadata={
        "help": "Threads for the corpus-wide quality steps (output is identical for any value).", "range": "[1, 256]"})
    strict: bool = field(default=False, metadata={"help": "Fail when a source is only partly present instead of skipping it."})
    progress: bool = field(default=True, metadata={
        "help": "Show progress: one line per phase on stderr (bars on a terminal); --no-progress (or -q) shows none."})
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
    repo_id: str = field(
        default="collama/mulco",
        metadata={"help": "Hub dataset repo the card is written for: its load snippets, links and the schema's $id name it "
                          "(`mulco publish --repo-id` re-renders them for another repo)."},
    )


@dataclass
class BuildConfig(*steps_registry.config_bases(), _BuildSettings):
    """Settings of ``mulco build``: where from and to, then the settings of each quality step
    (each documented once, in its step's config class, with its range; the classes come from
    :data:`mulco.steps.registry.STEPS`; see docs/quality.md)."""

    def __post_init__(self):
        from .args import check_choices, check_ranges

        if self.sample and self.raw_dir is not None:
            raise ValueError(f"--sample and --raw-dir {self.raw_dir}: give one of them (--sample builds the bundled sample)")
        check_ranges(self)
        check_choices(self)  # a typo in a list flag (--decontam-benchmarks, --parse-drop, --sources) is an error
        steps_registry.check_configs(self)  # e.g. --zh-twins, checked before any conversion
        from .hub import REPO_ID_RE

        if not REPO_ID_RE.match(self.repo_id or ""):
            raise ValueError(f"--repo-id {self.repo_id!r}: expected NAMESPACE/NAME (letters, digits, '.', '_', '-')")

    def quality_settings(self) -> dict:
        """The settings of the steps, by group (the report's ``settings``)."""
        return steps_registry.settings(self)


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
    records: list[tuple[str, dict]] = field(default_factory=list, repr=False)  # (split, record), without a store
    #: the store files holding this source's records (:mod:`mulco.store`) and their batch lengths,
    #: when the records were written to disk instead of ``records``
    parts: list[tuple[str, list[int]]] = field(default_factory=list, repr=False)
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
    steps: list = field(default_factory=list)  # StepResult per quality step, in order
    warnings: list[str] = field(default_factory=list)  # e.g. a benchmark that was not available
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase and step (never written)
    records_in: int = 0  # records that entered the quality steps


def sample_raw_dir() -> Path:
    return Path(str(resources.files("mulco").joinpath(SAMPLE_RAW)))


#: The origin (:func:`raw_origin`) of a build of the bundled sample.
SAMPLE_ORIGIN = "the bundled sample (--sample)"


def raw_origin(raw_dir: Path) -> str:
    """What the build marker records about the raw folder, without its path (no local path is written
    into the output): the bundled sample, or the folder's name and a hash of its absolute path. A
    build from another raw folder replaces the output only with --force (:func:`mulco.safeout.check_origin`)."""
    import hashlib

    resolved = Path(raw_dir).expanduser().resolve()
    if resolved == sample_raw_dir().resolve():
        return SAMPLE_ORIGIN
    digest = hashlib.sha256(str(resolved).encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return f"raw folder {resolved.name!r} #{digest}"


def _quarantine(res: SourceResult, file, line, reason, field=None, text="", weight=1, stage="read", record_id=None) -> None:
    """A raw unit (or record) of ``res`` set aside with its reason; read and convert stages count it."""
    res.quarantine.append({
        "source": res.name, "file": file, "line": line, "stage": stage, "reason": reason,
        "field": field, "record_id": record_id, "matched": None, "excerpt": text,
    })
    if stage in ("read", "convert"):
        res.units_quarantined += weight
        res.quarantine_reasons[_reason_key(reason)] += weight


def _find_files(mod, res: SourceResult, raw_dir: Path, strict: bool, explicit: bool) -> list | None:
    """The source's raw files, or None with ``res``'s status and message saying why there are none
    (absent, or skipped when partly present); a named source that is missing is an error."""
    try:
        files = mod.find(raw_dir)
    except MissingSourceFile as e:
        if strict or explicit:
            raise
        res.status, res.message = "skipped", str(e)
        return None
    if not files:
        if explicit:
            raise MissingSourceFile(res.name, raw_dir / mod.SPEC.patterns[0], mod.SPEC.expected)
        res.message = f"not found under {raw_dir} (expected {mod.SPEC.expected})"
        return None
    lacking = missing_companions(mod, raw_dir, files)
    if lacking and strict:
        raise MissingSourceFile(res.name, rel(raw_dir, lacking[0]), mod.SPEC.expected)
    return files


def missing_companions(mod, raw_dir: Path, files: list) -> list[Path]:
    """Files the source needs besides those it found (its module's optional ``missing_files``; e.g. the
    cloze test's answers): ``mulco sources`` calls the source partly present, ``--strict`` fails."""
    fn = getattr(mod, "missing_files", None)
    return list(fn(raw_dir, files)) if fn is not None else []


def check_strict_rows(results: list[SourceResult], raw_dir: Path) -> None:
    """``--strict``: a source that read rows but kept none of them is an error (not a warning)."""
    for res in results:
        if res.status == "built" and res.units_read and not res.units_kept:
            top = res.quarantine_reasons.most_common(1)
            why = f" (most: {top[0][0]}, {top[0][1]:,})" if top else ""
            raise ValueError(f"--strict: source {res.name} kept none of its {res.units_read:,} rows{why}; "
                             f"`mulco sources --raw-dir {raw_dir}` says what it lacks")


def _convert_unit(mod, res: SourceResult, unit, sink=None) -> None:
    """Convert one raw unit into ``res``'s records (or pending translations), or quarantine it;
    ``sink``: a :class:`mulco.store.PartWriter` taking the records instead of ``res.records``."""
    if isinstance(unit, Rejected):
        _quarantine(res, unit.file, unit.line, unit.reason, unit.field, unit.excerpt, unit.weight)
        return
    try:
        made = mod.to_records(unit)
    except BadRow as e:
        _quarantine(res, unit.file, unit.line, e.reason, e.field, excerpt(unit.data), unit.weight, stage="convert")
        return
    except Exception as e:  # a converter bug must not stop the build nor lose the row
        _quarantine(res, unit.file, unit.line, f"converter error: {type(e).__name__}: {e}", None,
                    excerpt(unit.data), unit.weight, stage="convert")
        return
    if not made:
        _quarantine(res, unit.file, unit.line, "no record: the row produced nothing", None, excerpt(unit.data),
                    unit.weight, stage="convert")
        return
    res.units_kept += unit.weight
    split = unit.split or hash_split(f"{res.name}\x1f{unit.file}\x1f{unit.line}")
    for r in made:
        res.records_made += 1
        if TRANSLATE_KEY in r:
            res.pending.append((split, r))
        elif sink is not None:
            sink.add(split, r)
        else:
            res.records.append((split, r))


def convert_source(name: str, raw_dir: Path, strict: bool = False, explicit: bool = False, progress: bool = True,
                   store: Path | None = None) -> SourceResult:
    """Read and convert one source: all its records and quarantined units, with counts. ``store``: a
    file to write the records to (:class:`mulco.store.PartWriter`, listed in ``parts``) instead of
    holding them in ``records``."""
    mod = registry.get(name)
    res = SourceResult(name)
    files = _find_files(mod, res, raw_dir, strict, explicit)
    if files is None:
        return res
    res.status = "built"
    res.files = [rel(raw_dir, p) for p in files]
    from tqdm.auto import tqdm

    bar = tqdm(desc=f"{name:>26}", unit=" rows", disable=None if progress else True, file=sys.stderr, leave=False)
    sink = None
    if store is not None:
        from .store import PartWriter

        sink = PartWriter(store)
    try:
        for unit in mod.read(raw_dir, files):
            res.units_read += unit.weight
            bar.update(unit.weight)
            _convert_unit(mod, res, unit, sink)
    finally:
        if sink is not None:
            sink.close()
    bar.close()
    if sink is not None and sink.rows:
        res.parts.append((str(store), sink.lengths))
    return res


def _convert_job(args):
    return convert_source(*args)


def _part(store_dir: Path | None, k: int, name: str, kind: str = "records") -> Path | None:
    """The store file of source number ``k`` (None without a store folder)."""
    return None if store_dir is None else store_dir / f"{k:03d}-{name}.{kind}.arrow"


def resolve_translations(res: SourceResult, translator, store: Path | None = None) -> None:
    """Fill records that need English->Chinese translation, or skip and count them. ``store``: the
    file the translated records go to when the source's records are on disk."""
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
    for _, r in res.pending:
        del r[TRANSLATE_KEY]
    if store is not None and (res.parts or not res.records):
        from .store import PartWriter

        sink = PartWriter(store)
        sink.extend(res.pending)
        sink.close()
        res.parts.append((str(store), sink.lengths))
    else:
        res.records.extend(res.pending)
    res.pending = []


def quality_steps(cfg: BuildConfig, raw_dir: Path | None, results: list[SourceResult] = ()) -> list:
    """The quality steps ``cfg`` turns on, in the order they run (:data:`mulco.steps.registry.STEPS`;
    docs/quality.md); ``results``: the sources' conversion results (which raw files were found)."""
    return steps_registry.make_steps(cfg, steps_registry.Inputs(raw_dir, {r.name: r.status for r in results}))


def _store_of(results: list[SourceResult]):
    """All sources' records as one :class:`mulco.store.RecordStore` (their store files in order, or,
    for sources converted without a store, their lists, which are emptied) and each record's source."""
    import numpy as np

    from .steps.pipeline import Labels
    from .store import PartWriter, RecordStore

    parts, lengths, owners = [], [], []
    for k, res in enumerate(results):
        if res.records:  # converted in memory (a caller without a store folder)
            sink = PartWriter(None)
            sink.extend(res.records)
            sink.close()
            res.parts.insert(0, (sink.buffer, sink.lengths))
            res.records = []
        for src, lens in res.parts:
            parts.append(src)
            lengths.append(lens)
            owners.append(np.full(sum(lens), k, dtype=np.int16))
    store = RecordStore(parts, lengths)
    codes = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int16)
    return store, Labels(codes, [r.name for r in results])


def _quarantine_row(res: SourceResult, d, r: dict) -> dict:
    """The quarantine line of record ``r`` that step ``d.step`` dropped; counted in ``res``."""
    key = _reason_key(d.reason)
    res.records_dropped[d.step if key == d.step else f"{d.step}: {key}"] += 1
    file, _, line = str(r.get("source_id", "")).rpartition(":")
    return {"source": res.name, "file": file, "line": line, "stage": d.step, "reason": d.reason,
            "field": None, "record_id": r.get("id"), "matched": d.matched, "excerpt": excerpt(r.get("output"))}


def _account_drops(results: list[SourceResult], store, owners, dropped, quarantine=None) -> None:
    """Count the drops per source and send each dropped record to its source's quarantine (or write
    it, after what the source's conversion quarantined, to the ``quarantine`` file), reading the
    dropped records' id, provenance and output column by column."""
    import numpy as np

    from .writer import quarantine_line

    drop_idx = np.fromiter(iter(dropped), dtype=np.int64)
    of = owners.codes[drop_idx] if len(drop_idx) else np.zeros(0, dtype=np.int16)
    for k, res in enumerate(results):  # records are in source order: the drops of source k follow its own quarantine
        if quarantine is not None:
            quarantine.writelines(quarantine_line(q) for q in res.quarantine)
            res.quarantine = []
        mine = drop_idx[of == k]
        if not len(mine):
            continue
        recs = store.iter_records(mine, ("id", "source_id", "output"))
        for (i, d), (j, r) in zip(dropped.in_order(mine), recs):
            assert i == j, (i, j)  # the same records, in the same order
            q = _quarantine_row(res, d, r)
            if quarantine is not None:
                quarantine.write(quarantine_line(q))
            else:
                res.quarantine.append(q)


@dataclass
class Kept:
    """The records a build writes: its store, which records are kept, and their (final) splits."""

    store: Any  # mulco.store.RecordStore
    keep: Any  # numpy bool per record
    splits: Any  # mulco.steps.pipeline.Labels
    leaf_codes: Any  # numpy int per record: index into leaf_names
    leaf_names: list  # (task, subtask, lang, plang)
    cleanup: Any = None  # called once the writer has read every record (removes the store files)

    def __len__(self) -> int:
        return int(self.keep.sum())


def apply_quality(results: list[SourceResult], cfg: BuildConfig, raw_dir: Path | None, log=None, quarantine=None,
                  spill_dir: Path | None = None):
    """Run the quality steps over the records of all sources; count drops per source and send the
    dropped records to each source's quarantine (with the step, the reason and what they matched).

    ``quarantine``: a text file to write every source's quarantine to instead (``quarantine.jsonl``
    lines, source by source: what its conversion quarantined, then its dropped records), so a large
    build never holds them; each source's ``quarantine`` list is then emptied. ``spill_dir``: where
    the steps keep their large arrays on disk (default: a temporary folder).

    Returns (step results, records in per leaf, :class:`Kept`); each source's ``records_kept`` is set."""
    import numpy as np

    from .steps.pipeline import Corpus, run_steps

    steps = quality_steps(cfg, raw_dir, results)
    store, owners = _store_of(results)
    corpus = Corpus(store, sources=owners, threads=max(1, cfg.threads),
                    feature_args=steps_registry.feature_args(cfg), spill_dir=spill_dir)
    if not any(getattr(s, "reads_anchors", False) for s in steps):
        corpus.keep_anchors([])  # no step reads the anchors: keep none
    step_results, dropped = run_steps(corpus, steps, log=log)
    counts = np.bincount(corpus.leaf_codes, minlength=len(corpus.leaf_names)) if len(corpus) else []
    leaf_in = collections.Counter({leaf: int(c) for leaf, c in zip(corpus.leaf_names, counts)})
    keep = corpus.alive.copy()
    keep[dropped.step >= 0] = False
    _account_drops(results, store, owners, dropped, quarantine)
    per_source = np.bincount(owners.codes[keep], minlength=len(results)) if len(keep) else [0] * len(results)
    for res, n in zip(results, per_source):
        res.records_kept = int(n)
    kept = Kept(store, keep, corpus.splits, corpus.leaf_codes, corpus.leaf_names)
    del corpus, dropped
    return step_results, leaf_in, kept


class NothingBuilt(ValueError):
    """A build that found no source or kept no record: an error, and the old output is kept."""




def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def check_raw_dir(raw_dir: Path) -> None:
    """The raw folder exists and is a folder (one line naming it otherwise)."""
    if raw_dir.exists() and not raw_dir.is_dir():
        raise NotADirectoryError(f"--raw-dir {raw_dir} is a file, not a folder (expected the folder holding the raw "
                                 f"sources; see docs/sources.md)")
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"raw folder {raw_dir} does not exist (expected the raw sources; see docs/sources.md)")


def _convert_all(jobs: list, cfg: BuildConfig, log, store_dir: Path | None = None) -> list[SourceResult]:
    """Convert every source; on a terminal one bar over the sources (with rows and records so far),
    elsewhere one line when done. Worker processes draw no bars of their own. ``store_dir``: the
    folder the records are written to (one store file per source) instead of being returned."""
    from .progress import Phase

    phase = Phase("convert", total=len(jobs), unit="sources", enabled=cfg.progress and log is not None, log=log)
    rows = made = 0

    def done(res: SourceResult) -> None:
        nonlocal rows, made
        rows += res.units_read
        made += res.records_made
        phase.update(1, f"{rows:,} rows -> {made:,} records")

    results = []
    if cfg.workers > 1 and len(jobs) > 1:
        from concurrent.futures import ProcessPoolExecutor

        jobs = [(n, raw, strict, explicit, False, _part(store_dir, k, n)) for k, (n, raw, strict, explicit, _) in enumerate(jobs)]
        with ProcessPoolExecutor(max_workers=cfg.workers) as pool:
            for res in pool.map(_convert_job, jobs):
                results.append(res)
                done(res)
    else:
        for k, j in enumerate(jobs):
            results.append(convert_source(*j[:4], progress=phase.bars, store=_part(store_dir, k, j[0])))
            done(results[-1])
    found = sum(r.status == "built" for r in results)
    phase.close(f"{found} of {len(jobs)} sources found, {rows:,} rows read -> {made:,} records")
    return results


def _forbidden(cfg: BuildConfig, raw_dir: Path) -> list[tuple[str, Path]]:
    """The folders and files ``--out`` must not be, nor hold, nor be inside: the build's inputs."""
    forbidden = [("--raw-dir", raw_dir)]
    for extra in (*steps_registry.input_paths(cfg), cfg.translator_cache):
        if extra:
            forbidden.append(("an input of the build", Path(extra)))
    return forbidden


def _jobs(cfg: BuildConfig, raw_dir: Path) -> list[tuple]:
    """One conversion job per source, in registry order whatever order (or repetition) --sources
    used: the output must not depend on it. Unknown names fail early with close matches."""
    names = sorted(set(cfg.sources)) if cfg.sources else registry.names()
    for n in names:
        registry.get(n)
    explicit = cfg.sources is not None
    return [(n, raw_dir, cfg.strict, explicit, cfg.progress) for n in names]


def _check_kept(results: list[SourceResult], kept: Kept, out: Path, raw_dir: Path) -> None:
    """None kept is an error."""
    if not len(kept):
        made = sum(r.records_made for r in results)
        skipped = sum(sum(r.records_skipped.values()) for r in results)
        raise NothingBuilt(
            f"0 records left to write ({made:,} made, {skipped:,} skipped for want of a translator, "
            f"{made - skipped:,} dropped by the quality steps): nothing was written{_kept(out)}; "
            f"`mulco sources --raw-dir {raw_dir}` shows what is expected where")


def _staging(out: Path) -> Path:
    from .writer import staging_dir

    try:
        return staging_dir(out)  # the quarantine goes straight to its file there
    except OSError as e:  # name the user's folder, not the hidden staging one
        raise OSError(e.errno, f"cannot write the new output next to {out} ({e.strerror or e}); "
                               f"nothing was changed") from None


def _quality_and_report(results, cfg: BuildConfig, raw_dir: Path, out: Path, tmp: Path, translator, log, timings: dict):
    """Run the quality steps (the quarantine written into ``tmp``) and make the report:
    (the :class:`Kept` records to write, sources by name, report, step results, records in per leaf)."""
    from .progress import Phase
    from .report import make_report
    from .safeout import write_marker

    steps_phase = Phase("quality", total=None, unit="steps", enabled=log is not None, log=log, bar=False)
    with open(tmp / "quarantine.jsonl", "w", encoding="utf-8") as qf:
        step_results, leaf_in, all_records = apply_quality(results, cfg, raw_dir, log=steps_phase.line, quarantine=qf,
                                                           spill_dir=tmp / SPILL)
    shutil.rmtree(tmp / SPILL, ignore_errors=True)
    for st in step_results:
        timings[f"step:{st.name}"] = st.seconds
    _check_kept(results, all_records, out, raw_dir)
    by_source = {res.name: res for res in results}
    report = make_report(raw_dir=raw_dir, sample=raw_dir.resolve() == sample_raw_dir().resolve(), by_source=by_source,
                         translator=translator, steps=step_results, leaf_in=leaf_in,
                         settings=cfg.quality_settings(), version=_version(),
                         local_paths=[*steps_registry.input_paths(cfg), cfg.translator_cache])
    report.setdefault("warnings", []).extend(source_warnings(by_source.values()))
    write_marker(tmp, "build", _version(), origin=raw_origin(raw_dir))
    return all_records, by_source, report, step_results, leaf_in


def _check_out(out: Path, cfg: BuildConfig, forbidden: list, raw_dir: Path) -> None:
    """``out`` may be replaced (:func:`mulco.safeout.prepare_output`), and holds no build of another raw folder
    (unless --force)."""
    from .safeout import check_origin, prepare_output

    prepare_output(out, force=cfg.force, forbidden=forbidden)
    check_origin(out, raw_origin(raw_dir), force=cfg.force)


def _write(all_records, out: Path, tmp: Path, report: dict, by_source: dict, cfg: BuildConfig, forbidden: list,
           raw_dir: Path):
    """Write the folder from ``tmp`` and swap it in (checking again that ``out`` may be replaced);
    an error names ``out``, and the old output is left as it was."""
    from .safeout import UnsafeOutputError
    from .writer import write_folder

    token = _SWAP_CHECK.set(lambda: _check_out(out, cfg, forbidden, raw_dir))
    all_records.cleanup = lambda: shutil.rmtree(tmp / STORE, ignore_errors=True)  # not part of the output
    try:
        return write_folder(all_records, out, report=report, quarantine=None, sources=by_source, tmp=tmp,
                            repo_id=cfg.repo_id)
    except OSError as e:
        if isinstance(e, UnsafeOutputError) or not e.filename or not str(e.filename).startswith(str(tmp)):
            raise
        raise OSError(e.errno, f"writing {out} failed ({e.strerror or e}); the previous output was left as it was") from None
    finally:
        _SWAP_CHECK.reset(token)


def build(cfg: BuildConfig, translator=None, log=_stderr) -> BuildResult:
    """Build MulCo from ``cfg.raw_dir`` into ``cfg.out``; see the module docstring.

    ``log`` gets the progress lines (one per phase; None: silent). Raises :class:`NothingBuilt`
    when no source is found or no record is left, and
    :class:`mulco.safeout.UnsafeOutputError` when ``cfg.out`` may not be replaced (see
    :func:`mulco.safeout.prepare_output`); in every failure the old output is left as it was."""
    if not cfg.progress:
        log = None
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    raw_dir = Path(cfg.raw_dir) if cfg.raw_dir else sample_raw_dir()
    check_raw_dir(raw_dir)
    out = Path(cfg.out)
    forbidden = _forbidden(cfg, raw_dir)
    _check_out(out, cfg, forbidden, raw_dir)
    tmp = _staging(out)  # the records go to disk there as they are made
    try:
        store_dir = tmp / STORE
        store_dir.mkdir()
        results = _convert_all(_jobs(cfg, raw_dir), cfg, log, store_dir)
        if not any(r.status == "built" for r in results):
            raise NothingBuilt(f"no source found under {raw_dir}: nothing was built{_kept(out)}; "
                               f"`mulco sources --raw-dir {raw_dir}` shows what is expected where (docs/sources.md)")
        if cfg.strict:
            check_strict_rows(results, raw_dir)
        for k, res in enumerate(results):
            resolve_translations(res, translator, store=_part(store_dir, k, res.name, "translated"))
        timings["convert"] = time.perf_counter() - t0
        all_records, by_source, report, step_results, leaf_in = _quality_and_report(
            results, cfg, raw_dir, out, tmp, translator, log, timings)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    t1 = time.perf_counter()
    leaves, configs = _write(all_records, out, tmp, report, by_source, cfg, forbidden, raw_dir)
    timings["write"] = time.perf_counter() - t1
    if log is not None:
        n_files = sum(1 for _ in out.glob("data/**/*.parquet"))
        log(f"write: {sum(leaves.values()):,} records in {len(configs)} configs, {n_files} Parquet files -> {out} "
            f"({timings['write']:.1f} s)")
    seconds = time.perf_counter() - t0
    for res in results:  # free memory; keep the counts
        res.records, res.quarantine, res.parts = [], [], []
    return BuildResult(out=out, sources=by_source, leaves=leaves, configs=configs, seconds=seconds, report=report,
                       steps=step_results, warnings=list(report.get("warnings", [])), timings=timings,
                       records_in=sum(leaf_in.values()))


#: glibc's ``M_ARENA_MAX`` (mallopt) and the arenas ``mulco build`` allows
_M_ARENA_MAX, ARENAS = -8, 2


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Let glibc's malloc use at most ``arenas`` arenas in this process (what ``MALLOC_ARENA_MAX``
    does), called by ``mulco build`` before any thread starts. The feature threads' numpy
    temporaries otherwise get an arena per thread whose freed pages stay resident: on a 250k-record
    build the peak tree PSS was ~700 MB with the default arenas and ~550 MB with two. Does nothing
    where malloc is not glibc's or ``MALLOC_ARENA_MAX`` is set; returns whether it applied."""
    import ctypes
    import ctypes.util
    import os

    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_ARENA_MAX, int(arenas)))
    except (OSError, AttributeError):
        return False


def _kept(out: Path) -> str:
    return f" and {out} was left as it was" if out.exists() else ""


def source_warnings(results) -> list[str]:
    """One warning per source that read rows but kept no record (e.g. every row lacked an answer)."""
    out = []
    for res in results:
        if res.status == "built" and res.units_read and not res.records_kept:
            why = (res.quarantine_reasons.most_common(1) or res.records_dropped.most_common(1)
                   or res.records_skipped.most_common(1))
            because = f" (most: {why[0][0]}, {why[0][1]:,})" if why else ""
            out.append(f"source {res.name} read {res.units_read:,} rows but kept no record{because}; "
                       f"see quarantine.jsonl")
    return out


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mulco")
    except PackageNotFoundError:
        return "0+unknown"


