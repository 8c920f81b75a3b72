"""Export configs of a built MulCo folder (or Hub repo) in the formats training tools read.

``mulco export OUT_OR_REPO --format FMT --configs A,B [--licenses …] [--split …] --dest DIR`` writes,
for every config and split, one file ``DIR/<config>/<split>.<ext>`` with the records that
``mulco.load(config, split=split, licenses=…)`` gives, in the same order, plus what the tool
needs to find them:

==============  ==========================================================================
``llamafactory``  ``<config>/<split>.json`` (a JSON list of instruction/input/output) and
                  ``dataset_info.json`` with one entry per config and split (alpaca formatting,
                  columns mapped) — put ``dataset_dir: DIR`` and ``dataset: <entry>`` in the
                  LLaMA-Factory YAML.
``axolotl``       ``<config>/<split>.jsonl`` and two ``datasets:`` snippets (``type: alpaca``):
                  ``axolotl.yaml`` pointing at the files, ``axolotl_hub.yaml`` pointing at the
                  Hub repo with ``name: <config>``. Non-train splits go under ``test_datasets:``.
``trl``           ``<config>/<split>.jsonl`` of ``{"prompt", "completion"}``: the seed's Alpaca
                  prompt (``mulco/data/alpaca_prompt.yaml``) and the output (TRL adds the EOS).
``alpaca-json``   ``<config>/<split>.json``: one JSON list of ``{instruction, input, output}``
                  (indent 4), like the seed's ``MID_all_data.json``, for Stanford-Alpaca ``train.py``.
``jsonl``         ``<config>/<split>.jsonl``: every field of the record (metadata included).
==============  ==========================================================================

The destination follows :mod:`mulco.safeout` (new, empty or written by an earlier export, else
refused unless ``force``; never the data folder, inside it or around it); everything is written
into a temp folder beside it and swapped in when complete, so a failure leaves the old
destination as it was. The same input gives byte-identical files.
"""
from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .safeout import EXPORT_MARKER
from .select import SPLITS, SelectionError

#: Formats, in the order the help lists them.
FORMATS = ("llamafactory", "axolotl", "trl", "alpaca-json", "jsonl")
#: The marker an export writes into its destination (so the next export may replace it).
MARKER = EXPORT_MARKER
ALPACA_FIELDS = ("instruction", "input", "output")
DATASET_INFO = "dataset_info.json"
AXOLOTL_LOCAL = "axolotl.yaml"
AXOLOTL_HUB = "axolotl_hub.yaml"
DEFAULT_REPO_ID = "collama/mulco"


class ExportError(ValueError):
    """A bad request (format, config, split, licence): one line says what and what is allowed."""


@dataclass(frozen=True)
class WrittenFile:
    path: str                 # relative to the destination, with '/'
    config: str | None        # None for the files that describe others (dataset_info.json, …)
    split: str | None
    records: int | None
    bytes: int


@dataclass
class ExportResult:
    dest: str
    format: str
    source: str
    revision: str | None
    splits: tuple[str, ...]
    licenses: list[str] | None
    files: list[WrittenFile] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (config, split, why) not exported
    notes: list[str] = field(default_factory=list)      # e.g. a licence of the allow-list that selects nothing
    warnings: list[str] = field(default_factory=list)   # e.g. two configs sharing records

    @property
    def records(self) -> int:
        return sum(f.records or 0 for f in self.files)

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self.files)

    def to_json(self) -> dict:
        return {"dest": self.dest, "format": self.format, "source": self.source, "revision": self.revision,
                "splits": list(self.splits), "licenses": self.licenses, "records": self.records, "bytes": self.bytes,
                "files": [f.__dict__ for f in self.files],
                "skipped": [{"config": c, "split": s, "why": w} for c, s, w in self.skipped],
                "notes": self.notes, "warnings": self.warnings}


# --------------------------------------------------------------------------------------------
# Small pure helpers (also used by the tests)


@lru_cache(maxsize=1)
def alpaca_prompts() -> dict[str, str]:
    """The seed's two Alpaca prompt strings: ``{"prompt_input": …, "prompt_no_input": …}``."""
    import yaml

    data = yaml.safe_load(resources.files("mulco").joinpath("data", "alpaca_prompt.yaml").read_text(encoding="utf-8"))
    return {k: data[k] for k in ("prompt_input", "prompt_no_input")}


def alpaca_prompt(record: dict) -> str:
    """The seed's prompt for ``record`` (with or without its input)."""
    p = alpaca_prompts()
    if record.get("input"):
        return p["prompt_input"].format_map({"instruction": record["instruction"], "input": record["input"]})
    return p["prompt_no_input"].format_map({"instruction": record["instruction"]})


def check_format(fmt: str) -> str:
    if fmt in FORMATS:
        return fmt
    close = difflib.get_close_matches(fmt, FORMATS, n=1)
    raise ExportError(f"unknown format {fmt!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                      + f"; choose one of: {', '.join(FORMATS)}")


def split_list(spec: str | Sequence[str] | None) -> list[str]:
    """``"a,b"`` or ``["a", "b,c"]`` -> ``["a", "b", "c"]`` (empty parts dropped, order kept, no duplicates)."""
    if spec is None:
        return []
    parts = [spec] if isinstance(spec, str) else list(spec)
    out: list[str] = []
    for p in parts:
        for x in str(p).split(","):
            x = x.strip()
            if x and x not in out:
                out.append(x)
    return out


def check_splits(splits: Iterable[str]) -> tuple[str, ...]:
    splits = tuple(splits) or ("train",)
    bad = [s for s in splits if s not in SPLITS]
    if bad:
        raise ExportError(f"unknown split {bad[0]!r}; choose from: {', '.join(SPLITS)}")
    return splits


def json_list(rows: Iterable[dict]) -> Iterable[str]:
    """Chunks of ``json.dumps(list(rows), ensure_ascii=False, indent=4)``, streamed (same bytes)."""
    first = True
    for r in rows:
        body = json.dumps(r, ensure_ascii=False, indent=4).replace("\n", "\n    ")
        yield ("[\n    " if first else ",\n    ") + body
        first = False
    yield "[]" if first else "\n]"


def json_lines(rows: Iterable[dict]) -> Iterable[str]:
    for r in rows:
        yield json.dumps(r, ensure_ascii=False) + "\n"


def entry_name(config: str, split: str) -> str:
    """The dataset_info.json key of one exported file: ``code_search.en.train``."""
    return f"{config}.{split}"


def rel_file(config: str, split: str, fmt: str) -> str:
    return f"{config}/{split}.{'json' if fmt in ('llamafactory', 'alpaca-json') else 'jsonl'}"


def repo_id_of(folder: Path) -> str | None:
    """The Hub repo a local build was made for (the ``$id`` of its ``record.schema.json``)."""
    import re

    try:
        sid = json.loads((Path(folder) / "record.schema.json").read_text(encoding="utf-8")).get("$id", "")
    except (OSError, ValueError, AttributeError):
        return None
    m = re.search(r"/datasets/([^/]+/[^/]+)/resolve/", str(sid))
    return m.group(1) if m else None


# --------------------------------------------------------------------------------------------
# Rows per format


def _rows(table, fmt: str) -> Iterable[dict]:
    cols = {c: table.column(c).to_pylist() for c in table.column_names}
    n = table.num_rows
    if fmt == "jsonl":
        names = table.column_names
        return ({c: cols[c][i] for c in names} for i in range(n))
    if fmt == "trl":
        return ({"prompt": alpaca_prompt({k: cols[k][i] for k in ALPACA_FIELDS}), "completion": cols["output"][i]}
                for i in range(n))
    return ({k: cols[k][i] for k in ALPACA_FIELDS} for i in range(n))


def _stream(sel, leaves, licenses, fmt: str, counter: list) -> Iterable[dict]:
    """The rows of ``leaves`` one leaf at a time (memory: one leaf, not the config); ``counter[0]``
    counts them."""
    from . import select

    columns = None if fmt == "jsonl" else list(ALPACA_FIELDS)
    for leaf in leaves:
        table = select.read_table(sel, [leaf], licenses=licenses, columns=columns)
        counter[0] += table.num_rows
        yield from _rows(table, fmt)


def _dataset_info(entries: list[tuple[str, str, str]], root: Path | None = None) -> dict:
    """LLaMA-Factory's dataset_info.json (its data/README.md; read by ``llamafactory.data.parser``):
    a file dataset is loaded with ``load_dataset("json", data_files=[file])``, whose only split is
    ``train`` whichever MulCo split the file holds; so ``split`` is ``train`` and the MulCo split is
    in the entry name and the file name. ``file_name`` is relative to the export (``dataset_dir:
    DEST``), or absolute under ``root`` (LLaMA-Factory joins it to its ``dataset_dir`` with
    ``os.path.join``, which keeps an absolute path: the entries can be merged into its own
    ``data/dataset_info.json``)."""
    info = {}
    for config, split, rel in entries:
        info[entry_name(config, split)] = {
            "file_name": str(root / rel) if root is not None else rel,
            "formatting": "alpaca",
            "columns": {"prompt": "instruction", "query": "input", "response": "output"},
            "split": "train",
        }
    return info


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar


def _axolotl_sections(entries: list[tuple[str, str, str]]):
    """axolotl's two lists: the train split under ``datasets``, every other split under ``test_datasets``."""
    for key, wanted in (("datasets", lambda s: s == "train"), ("test_datasets", lambda s: s != "train")):
        chosen = [e for e in entries if wanted(e[1])]
        if chosen:
            yield key, chosen


def _axolotl_local(dest: Path, entries: list[tuple[str, str, str]]) -> str:
    lines = ["# axolotl: the exported MulCo files (written by `mulco export --format axolotl`).",
             "# Paste into your axolotl config; train split -> datasets, other splits -> test_datasets."]
    for key, chosen in _axolotl_sections(entries):
        lines.append(f"{key}:")
        for config, split, rel in chosen:
            lines += [f"  - path: {_q(str(dest / rel))}  # {config} / {split}", "    ds_type: json",
                      "    split: train", "    type: alpaca"]
    return "\n".join(lines) + "\n"


def _axolotl_hub(repo_id: str, revision: str | None, entries: list[tuple[str, str, str]]) -> str:
    lines = [f"# axolotl: the same configs straight from the Hub repo {repo_id} (name = the MulCo config).",
             "# Note: the Hub copy has every licence; the --licenses filter applies to the exported files only."]
    for key, chosen in _axolotl_sections(entries):
        lines.append(f"{key}:")
        for config, split, _ in chosen:
            lines += [f"  - path: {_q(repo_id)}", f"    name: {_q(config)}", f"    split: {split}"]
            if revision:
                lines.append(f"    revision: {revision}")
            lines.append("    type: alpaca")
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=4)
def _card_yaml(path: str, mtime_ns: int) -> dict:
    from .hub import read_card_yaml

    return read_card_yaml(Path(path))


def _load_order(sel, config: str) -> list:
    """The selected leaves in the order ``datasets.load_dataset(folder, config)`` reads them (so an
    export is ``mulco.load`` record for record): the card's ``data_files`` patterns of the config
    in their order, each pattern's files sorted by path. Without a card: sorted by path."""
    import fnmatch

    leaves = sorted(sel.leaves, key=lambda lf: lf.files[0])
    try:
        card = Path(sel.local_path("README.md"))
        meta = _card_yaml(str(card), card.stat().st_mtime_ns)
        (entry,) = [c for c in meta["configs"] if c["config_name"] == config]
        (paths,) = [d["path"] for d in entry["data_files"] if d["split"] == sel.split]
        patterns = [paths] if isinstance(paths, str) else list(paths)
    except Exception:  # no card, or not the shape mulco writes: path order is what datasets uses then
        return leaves

    def rank(lf):
        hits = [i for i, pat in enumerate(patterns) if fnmatch.fnmatchcase(lf.files[0], pat)]
        return (hits[0] if hits else len(patterns), lf.files[0])

    return sorted(leaves, key=rank)


# --------------------------------------------------------------------------------------------
# The export


@dataclass
class Plan:
    """What an export will write: the selection of each (config, split) that has records, the
    licences as spelled in the data (None: all), and what is left out and why."""

    sels: dict
    spelled: list[str] | None
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _check_names(data, configs: Sequence[str]) -> None:
    """Unknown config names fail before anything is read; for a local folder the close names
    suggested are names the folder has."""
    from . import select, taxonomy

    for c in configs:
        try:
            taxonomy.parse(c)
        except taxonomy.UnknownConfigError:
            if not select.is_local(data):
                raise
            have = taxonomy.config_names(lf.keys for lf in select.group_leaves(select.list_local(data)))
            close = taxonomy.suggest(c, have)
            raise taxonomy.UnknownConfigError(
                f"unknown config {c!r}" + (f"; close names {data} has: {', '.join(close)}" if close else "")
                + f" (`mulco configs {data}` lists them all)") from None


def plan(data, configs: Sequence[str], splits: Sequence[str], licenses: Sequence[str] | None,
         revision: str | None = None, endpoint: str | None = None) -> Plan:
    """Resolve every (config, split) and check the licences, reading only the licence column. A
    (config, split) without records (no such split, or none under ``licenses``) is skipped and
    listed; a config with records in none of ``splits``, and an export left with nothing, are errors.
    ``licenses`` is an allow-list: a licence that selects nothing is a note."""
    from . import select

    if not configs:
        raise ExportError("no config given (--configs NAME[,NAME…]; `mulco configs OUT` lists them)")
    _check_names(data, configs)
    select.check_source(data)
    out = Plan({}, None)
    for c in configs:
        found = {s: select.resolve(c, data, s, revision=revision, missing="skip", endpoint=endpoint) for s in splits}
        if not any(sel.leaves for sel in found.values()):
            select.resolve(c, data, splits[0], revision=revision, endpoint=endpoint)  # raises, saying which splits it has
        for s, sel in found.items():
            if sel.leaves:
                out.sels[(c, s)] = sel
            else:
                out.skipped.append((c, s, f"no {s} split"))
    if licenses is not None:
        _plan_licenses(out, licenses)
    return out


def _plan_licenses(out: Plan, licenses: Sequence[str]) -> None:
    """Keep in ``out`` only the (config, split) with records under ``licenses`` (the others are skipped);
    a licence that selects nothing is a note; nothing left is an error."""
    from . import select

    per = {k: select.count_licenses(sel) for k, sel in out.sels.items()}
    present = sorted({lic for cnt in per.values() for lic in cnt})
    configs = list(dict.fromkeys(c for c, _ in out.sels))
    try:
        out.spelled = select.check_licenses(licenses, present, notes=out.notes)
    except SelectionError as e:
        raise SelectionError(f"--licenses, {', '.join(configs)}: {e}") from None
    for (c, s), cnt in per.items():
        if not any(cnt.get(x) for x in out.spelled):
            del out.sels[(c, s)]
            out.skipped.append((c, s, f"no record under --licenses {','.join(licenses)} "
                                      f"(its records are under: {', '.join(sorted(cnt))})"))
    if not out.sels:
        raise ExportError(f"nothing to export: no record of {', '.join(configs)} is under --licenses "
                          f"{','.join(licenses)} in the splits asked for (present: {', '.join(present)})")


def overlaps(sels: dict) -> list[str]:
    """A warning per two exported configs that share records (one contains the other, or they
    intersect), with the count per split: the files hold those records twice."""
    import pyarrow.parquet as pq

    shared: dict[tuple[str, str], dict[str, int]] = {}
    keys = list(sels)
    for i, (a, split) in enumerate(keys):
        for b, split_b in keys[i + 1:]:
            common = set(sels[(a, split)].leaves) & set(sels[(b, split_b)].leaves) if split == split_b and a != b else set()
            if common:
                n = sum(pq.ParquetFile(sels[(a, split)].local_path(f)).metadata.num_rows for lf in common for f in lf.files)
                shared.setdefault((a, b), {})[split] = n
    return [f"configs {a} and {b} share records ({', '.join(f'{n:,} {s}' for s, n in per.items())}): the export holds "
            f"them twice, and a tool reading both files trains on them twice; export only one of them, or configs that "
            f"do not overlap (`collama-train --configs {a},{b}` uses each record once)" for (a, b), per in shared.items()]


def export(data, fmt: str, configs: Sequence[str], dest, *, splits: Sequence[str] = ("train",),
           licenses: Sequence[str] | None = None, force: bool = False, revision: str | None = None,
           repo_id: str | None = None, endpoint: str | None = None,
           log: Callable[[str], None] | None = None, absolute_paths: bool = False) -> ExportResult:
    """Export ``configs`` (each with every split in ``splits`` it has) of ``data`` (a built folder or a Hub
    repo id) as ``fmt`` into the folder ``dest``, atomically; the result lists what was skipped (a split
    a config lacks, none of its records under ``licenses``), notes and warnings (configs that share
    records). ``absolute_paths``: llamafactory's ``dataset_info.json`` names the files by absolute path.
    Raises :class:`ExportError`,
    :class:`mulco.select.SelectionError`, :class:`mulco.taxonomy.UnknownConfigError` or
    :class:`mulco.safeout.UnsafeOutputError` (one line each) before anything is written."""
    from . import select
    from .fsops import atomic_replace
    from .safeout import prepare_output, write_marker

    fmt = check_format(fmt)
    configs = split_list(configs)
    splits = check_splits(split_list(splits))
    licenses = None if licenses is None else split_list(licenses)
    if licenses is not None and not licenses:
        raise ExportError("--licenses is empty; give licences like 'MIT,Apache-2.0' or leave it out")
    dest = Path(dest).expanduser()
    local = select.is_local(data)
    forbidden = [("the data folder", Path(data).expanduser())] if local else []
    prepare_output(dest, marker=MARKER, force=force, forbidden=forbidden, flag="--dest", command="export")
    p = plan(data, configs, splits, licenses, revision, endpoint)
    sels, spelled = p.sels, p.spelled
    first = next(iter(sels.values()))
    if repo_id is None:
        repo_id = first.source if first.is_hub else (repo_id_of(Path(data).expanduser()) or DEFAULT_REPO_ID)
    result = ExportResult(dest=str(dest), format=fmt, source=first.source, revision=first.revision,
                          splits=splits, licenses=spelled, skipped=p.skipped, notes=p.notes, warnings=overlaps(sels))

    tmp = _fresh_tmp(dest)
    try:
        entries = _write_files(tmp, sels, fmt, spelled, result, log)
        extra: dict[str, str] = {}
        if fmt == "llamafactory":
            root = dest.resolve() if absolute_paths else None
            extra[DATASET_INFO] = json.dumps(_dataset_info(entries, root), ensure_ascii=False, indent=2) + "\n"
        elif fmt == "axolotl":
            extra[AXOLOTL_LOCAL] = _axolotl_local(dest.resolve(), entries)
            extra[AXOLOTL_HUB] = _axolotl_hub(repo_id, first.revision, entries)
        for name, text in extra.items():
            (tmp / name).write_text(text, encoding="utf-8", newline="\n")
            result.files.append(WrittenFile(name, None, None, None, (tmp / name).stat().st_size))
        from . import __version__

        write_marker(tmp, "export", __version__, marker=MARKER)
        atomic_replace(tmp, dest)
    except BaseException as e:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError) and not isinstance(e, ExportError):
            raise ExportError(f"--dest {dest}: cannot write the export ({e.strerror or e}); "
                              f"nothing was changed there") from None
        raise
    return result


def _fresh_tmp(dest: Path) -> Path:
    """An empty temporary folder next to ``dest`` (leftovers of an interrupted export are removed)."""
    from .fsops import clean_leftovers

    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        clean_leftovers(dest)
        if tmp.exists():
            import shutil

            shutil.rmtree(tmp)
        tmp.mkdir()
    except OSError as e:
        raise ExportError(f"--dest {dest}: cannot write there ({e.strerror or e})") from None
    return tmp


def _write_files(tmp: Path, sels: dict, fmt: str, spelled: list[str] | None, result: ExportResult,
                 log: Callable[[str], None] | None) -> list[tuple[str, str, str]]:
    """One JSON(L) file per (config, split) under ``tmp``, each added to ``result``; returns
    ``(config, split, relative path)`` of each."""
    entries: list[tuple[str, str, str]] = []
    for (config, split), sel in sels.items():
        rel = rel_file(config, split, fmt)
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        counter = [0]
        rows = _stream(sel, _load_order(sel, config), spelled, fmt, counter)
        chunks = json_list(rows) if rel.endswith(".json") else json_lines(rows)
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            for chunk in chunks:
                fh.write(chunk)
        entries.append((config, split, rel))
        result.files.append(WrittenFile(rel, config, split, counter[0], path.stat().st_size))
        if log:
            log(f"{rel}: {counter[0]} records")
    return entries


def summary_table(result: ExportResult) -> str:
    """What an export wrote: one row per file (records and bytes), and a total."""
    from .table import render

    rows = [(f.config or "", f.split or "", f.path, "" if f.records is None else f"{f.records:,}", f"{f.bytes:,}")
            for f in result.files]
    rows.append(("total", "", f"{len(result.files)} files", f"{result.records:,}", f"{result.bytes:,}"))
    lic = f"; licences: {', '.join(result.licenses)}" if result.licenses else ""
    title = f"{result.format} export of {result.source} into {result.dest}{lic}"
    text = render(["config", "split", "file", "records", "bytes"], rows, title=title)
    if result.skipped:
        text += "\n\n" + render(["config", "split", "skipped because"], result.skipped, title="Not exported")
    return text


__all__ = ["FORMATS", "MARKER", "ExportError", "ExportResult", "Plan", "WrittenFile", "alpaca_prompt", "alpaca_prompts",
           "export", "summary_table", "SelectionError"]
