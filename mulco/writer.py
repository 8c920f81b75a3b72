"""Writing a built folder: Parquet per leaf, ``record.schema.json``, the report, the quarantine, the
card and its charts, into a staging folder that is swapped into place when complete
(:mod:`mulco.fsops`). The layout it follows (leaf paths, configs, ``data_files`` globs) is
:mod:`mulco.hub`'s; the card is :mod:`mulco.card`'s, rendered from the figures counted here.
"""
from __future__ import annotations

import collections
import json
import os
import shutil
from pathlib import Path
from typing import Iterable

from . import record as rec_mod
from . import taxonomy
from .fsops import atomic_replace, clean_leftovers, fsync_tree
from .hub import DEFAULT_REPO_ID, ROWS_PER_SHARD, _sort_key, config_table, leaf_dir, leaf_key, schema_text


def staging_dir(out: Path) -> Path:
    """The (new, empty) temp folder next to ``out`` that :func:`write_folder` fills and swaps in."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(out)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return tmp


def write_parquet(rows, path: Path):
    """Write rows (dicts, or an Arrow table of the record schema) as one Parquet file; return the
    Arrow table written (its ``nbytes`` are the card's num_bytes; the card's figures are counted
    from it). A table is written as ``from_pylist`` of its rows would be: one chunk, the same buffers."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(rows, list):
        table = pa.Table.from_pylist(rows, schema=rec_mod.arrow_schema())
    else:
        table = _as_from_pylist(rows.combine_chunks())
    pq.write_table(table, path, compression="zstd", use_dictionary=True, write_statistics=True)
    return table


def _as_from_pylist(table):
    """``table`` with the buffers ``pa.Table.from_pylist`` would give it: a column without a null has
    no validity bitmap (a ``take`` keeps one), so ``nbytes``, the card's num_bytes, is the same."""
    import pyarrow as pa

    cols = []
    for col in table.columns:
        arr = col.chunk(0) if col.num_chunks == 1 else pa.concat_arrays(col.chunks)
        bufs = arr.buffers()
        if arr.null_count == 0 and bufs[0] is not None:
            arr = pa.Array.from_buffers(arr.type, len(arr), [None, *bufs[1:]], null_count=0, offset=arr.offset)
        cols.append(arr)
    return pa.Table.from_arrays(cols, schema=table.schema)


def _leaf_tables(records, tmp: Path):
    """(leaf key, its records as an Arrow table sorted by id) for every leaf, in :func:`_sort_key`
    order. ``records``: (split, record) pairs, or a :class:`mulco.build.Kept` whose records are on
    disk: those are sorted into one spill file per leaf in one pass over the store, and each leaf is
    read back alone, so only one leaf is ever in memory."""
    import pyarrow as pa
    import pyarrow.compute as pc

    schema = rec_mod.arrow_schema()
    if not hasattr(records, "store"):
        groups: dict[tuple, list[dict]] = collections.defaultdict(list)
        for split, r in records:
            groups[leaf_key(r, split)].append(r)
        for key in sorted(groups, key=_sort_key):
            rows = sorted(groups.pop(key), key=lambda r: r["id"])
            yield key, pa.Table.from_pylist(rows, schema=schema)
        return
    import numpy as np

    kept = records
    spill = tmp / ".leaves"
    spill.mkdir(exist_ok=True)
    n_splits = max(1, len(kept.splits.names))
    code = kept.leaf_codes.astype(np.int64) * n_splits + kept.splits.codes
    names = {}
    writers: dict[int, object] = {}
    cols = list(schema.names)
    try:
        idx = np.flatnonzero(kept.keep)
        for start, rb, local in kept.store.iter_batches(None, idx):
            c = code[local + start]
            rb = rb.select(cols)
            for k in np.unique(c).tolist():
                w = writers.get(k)
                if w is None:
                    leaf = kept.leaf_names[k // n_splits]
                    names[k] = (*leaf, kept.splits.names[k % n_splits])
                    w = writers[k] = pa.ipc.new_file(pa.OSFile(str(spill / f"{k}.arrow"), "wb"), rb.schema)
                w.write_batch(rb.take(local[c == k]))
        for w in writers.values():
            w.close()
        writers = {}
        for k in sorted(names, key=lambda k: _sort_key(names[k])):
            path = spill / f"{k}.arrow"
            with pa.OSFile(str(path), "rb") as f:
                table = pa.ipc.open_file(f).read_all()
            path.unlink()
            table = table.take(pc.sort_indices(table, sort_keys=[("id", "ascending")]))
            yield names[k], pa.Table.from_batches(table.to_batches(), schema=schema)
    finally:
        for w in writers.values():
            w.close()
        shutil.rmtree(spill, ignore_errors=True)
        if getattr(kept, "cleanup", None):
            kept.cleanup()


def quarantine_line(q: dict) -> str:
    """One line of ``quarantine.jsonl``."""
    return json.dumps(q, ensure_ascii=False, sort_keys=True) + "\n"


def write_folder(records: Iterable[tuple[str, dict]], out: Path, *, report: dict, quarantine: list[dict] | None,
                 sources: dict, tmp: Path | None = None, repo_id: str = DEFAULT_REPO_ID) -> tuple[dict, list[str]]:
    """Write the whole Hub folder to a temp folder next to ``out`` and swap it into place.
    ``tmp``: that folder, from :func:`staging_dir`, when ``quarantine.jsonl`` is already written
    in it (``quarantine`` None); it is removed on failure. ``repo_id``: the Hub repo the card's
    snippets and the schema's ``$id`` name."""
    from .card import write_card
    from .figures import Tally
    from .report import render_markdown

    out = Path(out)
    if tmp is None:
        tmp = staging_dir(out)
    try:
        leaf_files: dict[tuple, list[str]] = {}
        leaves: dict[tuple, int] = {}
        nbytes: dict[tuple, int] = {}
        tally = Tally()  # what the card shows about the records, counted from the tables as they are written
        for key, table in _leaf_tables(records, tmp):
            task, subtask, lang, plang, split = key
            d = leaf_dir(task, subtask, lang, plang)
            (tmp / d).mkdir(parents=True, exist_ok=True)
            n = table.num_rows
            n_shards = max(1, -(-n // ROWS_PER_SHARD))
            files = []
            nbytes[key] = 0
            for i in range(n_shards):
                rel = f"{d}/{split}-{i:05d}-of-{n_shards:05d}.parquet"
                shard = write_parquet(table.slice(i * ROWS_PER_SHARD, ROWS_PER_SHARD), tmp / rel)
                nbytes[key] += shard.nbytes
                tally.add(shard)
                del shard
                files.append(rel)
            del table
            leaf_files[key] = files
            leaves[key] = n
        configs = taxonomy.config_names(k[:4] for k in leaves)
        config_entries = config_table(leaves, leaf_files, configs, nbytes)
        (tmp / rec_mod.SCHEMA_FILE).write_text(schema_text(repo_id), encoding="utf-8")
        report = dict(report, leaves=[
            {"task": k[0], "subtask": k[1], "lang": k[2], "plang": k[3], "split": k[4], "records": n, "files": leaf_files[k],
             "num_bytes": nbytes[k]}
            for k, n in leaves.items()
        ])
        _write_json(tmp / "build_report.json", report)
        (tmp / "build_report.md").write_text(render_markdown(report) + "\n", encoding="utf-8")
        if quarantine is not None:
            with open(tmp / "quarantine.jsonl", "w", encoding="utf-8") as fh:
                fh.writelines(quarantine_line(q) for q in quarantine)
        write_card(tmp, config_entries, leaves, report, sources, tally.figures(), repo_id=repo_id)
        fsync_tree(tmp)
        atomic_replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return leaves, configs


def render_for_repo(folder: Path, repo_id: str) -> dict[str, str]:
    """``README.md`` and ``record.schema.json`` of the built ``folder`` rendered for the Hub repo
    ``repo_id`` (snippets, links and the schema's ``$id``), from what the build wrote: its
    ``build_report.json`` (leaves, sources, quality) and the figures of its Parquet files. For the
    repo the folder was built for, they are the files it holds, byte for byte."""
    from . import figures
    from .card import render_card

    folder = Path(folder)
    schema = schema_text(repo_id)  # checks repo_id first
    report = json.loads((folder / "build_report.json").read_text(encoding="utf-8"))
    leaves: dict[tuple, int] = {}
    leaf_files: dict[tuple, list[str]] = {}
    nbytes: dict[tuple, int] = {}
    for leaf in report["leaves"]:
        key = (leaf["task"], leaf["subtask"], leaf["lang"], leaf["plang"], leaf["split"])
        leaves[key], leaf_files[key], nbytes[key] = leaf["records"], list(leaf["files"]), leaf["num_bytes"]
    configs = taxonomy.config_names(k[:4] for k in leaves)
    entries = config_table(leaves, leaf_files, configs, nbytes)
    card = render_card(entries, leaves, report, report["sources"], folder, figures=figures.of_folder(folder),
                       repo_id=repo_id)
    return {"README.md": card, rec_mod.SCHEMA_FILE: schema}


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8")
