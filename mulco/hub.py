"""The Hub folder layout: Parquet per leaf, ``configs:`` for every config name, atomic write.

A *leaf* is the set of records sharing (task, subtask, lang, plang, split); it is written once,
to ``data/<task>[/<subtask>]/<lang>/<plang or 'unspecified'>/<split>-NNNNN-of-MMMMM.parquet``,
records sorted by id. A config lists, per split, the leaf files it selects.
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
from .sources.base import SPLITS

UNSPECIFIED = "unspecified"
ROWS_PER_SHARD = 200_000


def leaf_dir(task: str, subtask: str | None, lang: str, plang: str | None) -> str:
    parts = ["data", task] + ([subtask] if subtask else []) + [lang, plang or UNSPECIFIED]
    return "/".join(parts)


def leaf_key(r: dict, split: str) -> tuple:
    return (r["task"], r["subtask"], r["lang"], r["plang"], split)


def _sort_key(key: tuple) -> tuple:
    return tuple("" if k is None else k for k in key)


def write_parquet(rows: list[dict], path: Path) -> int:
    """Write rows as one Parquet file; return the Arrow size in bytes (the card's num_bytes)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows, schema=rec_mod.arrow_schema())
    pq.write_table(table, path, compression="zstd", use_dictionary=True, write_statistics=True)
    return table.nbytes


def staging_dir(out: Path) -> Path:
    """The (new, empty) temp folder next to ``out`` that :func:`write_folder` fills and swaps in."""
    from .build import clean_leftovers

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(out)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return tmp


def quarantine_line(q: dict) -> str:
    """One line of ``quarantine.jsonl``."""
    return json.dumps(q, ensure_ascii=False, sort_keys=True) + "\n"


def write_folder(records: Iterable[tuple[str, dict]], out: Path, *, report: dict, quarantine: list[dict] | None,
                 sources: dict, tmp: Path | None = None) -> tuple[dict, list[str]]:
    """Write the whole Hub folder to a temp folder next to ``out`` and swap it into place.
    ``tmp``: that folder, from :func:`staging_dir`, when ``quarantine.jsonl`` is already written
    in it (``quarantine`` None); it is removed on failure."""
    from .build import atomic_replace
    from .card import write_card

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
                nbytes[key] += write_parquet(rows[i * ROWS_PER_SHARD:(i + 1) * ROWS_PER_SHARD], tmp / rel)
                files.append(rel)
            leaf_files[key] = files
            leaves[key] = len(rows)
        del groups
        configs = taxonomy.config_names(k[:4] for k in leaves)
        config_entries = config_table(leaves, leaf_files, configs, nbytes)
        (tmp / rec_mod.SCHEMA_FILE).write_text(rec_mod.schema_text(), encoding="utf-8")
        report = dict(report, leaves=[
            {"task": k[0], "subtask": k[1], "lang": k[2], "plang": k[3], "split": k[4], "records": n, "files": leaf_files[k]}
            for k, n in leaves.items()
        ])
        _write_json(tmp / "build_report.json", report)
        from .report import render_markdown

        (tmp / "build_report.md").write_text(render_markdown(report) + "\n", encoding="utf-8")
        if quarantine is not None:
            with open(tmp / "quarantine.jsonl", "w", encoding="utf-8") as fh:
                fh.writelines(quarantine_line(q) for q in quarantine)
        write_card(tmp, config_entries, leaves, report, sources)
        _fsync_tree(tmp)
        atomic_replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return leaves, configs


def config_table(leaves: dict[tuple, int], leaf_files: dict[tuple, list[str]], configs: list[str],
                 nbytes: dict[tuple, int]) -> list[dict]:
    """For each config: its name, per-split files, record counts and Arrow bytes."""
    entries = []
    for name in configs:
        sel = taxonomy.parse(name)
        splits: dict[str, list[str]] = {}
        counts: dict[str, int] = collections.Counter()
        sizes: dict[str, int] = collections.Counter()
        for key, n in leaves.items():
            if sel.matches(*key[:4]):
                splits.setdefault(key[4], []).extend(leaf_files[key])
                counts[key[4]] += n
                sizes[key[4]] += nbytes[key]
        entries.append({
            "config_name": name,
            "splits": {s: sorted(splits[s]) for s in SPLITS if s in splits},
            "num_examples": {s: counts[s] for s in SPLITS if s in counts},
            "num_bytes": {s: sizes[s] for s in SPLITS if s in sizes},
        })
    return entries


def read_configs(folder: Path) -> list[str]:
    """Config names of a built folder (from its card's YAML)."""
    from .card import read_card_yaml

    return [c["config_name"] for c in read_card_yaml(Path(folder) / "README.md").get("configs", [])]


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def _fsync_tree(root: Path) -> None:
    for dirpath, _, files in os.walk(root):
        for f in files:
            fd = os.open(os.path.join(dirpath, f), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
