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


def write_parquet(rows: list[dict], path: Path):
    """Write rows as one Parquet file; return the Arrow table written (its ``nbytes`` are the
    card's num_bytes; the card's figures are counted from it)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows, schema=rec_mod.arrow_schema())
    pq.write_table(table, path, compression="zstd", use_dictionary=True, write_statistics=True)
    return table


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
        groups: dict[tuple, list[dict]] = collections.defaultdict(list)
        for split, r in records:
            groups[leaf_key(r, split)].append(r)
        leaf_files: dict[tuple, list[str]] = {}
        leaves: dict[tuple, int] = {}
        nbytes: dict[tuple, int] = {}
        tally = Tally()  # what the card shows about the records, counted from the tables as they are written
        for key in sorted(groups, key=_sort_key):
            rows = sorted(groups[key], key=lambda r: r["id"])
            task, subtask, lang, plang, split = key
            d = leaf_dir(task, subtask, lang, plang)
            (tmp / d).mkdir(parents=True, exist_ok=True)
            n_shards = max(1, -(-len(rows) // ROWS_PER_SHARD))
            files = []
            nbytes[key] = 0
            for i in range(n_shards):
                rel = f"{d}/{split}-{i:05d}-of-{n_shards:05d}.parquet"
                table = write_parquet(rows[i * ROWS_PER_SHARD:(i + 1) * ROWS_PER_SHARD], tmp / rel)
                nbytes[key] += table.nbytes
                tally.add(table)
                del table
                files.append(rel)
            leaf_files[key] = files
            leaves[key] = len(rows)
        del groups
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
