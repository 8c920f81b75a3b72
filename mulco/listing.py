"""What ``mulco configs``, ``show`` and ``sources`` print, as data: the table rows and the ``--json``
documents for scripts, plus the record counts per licence of every config of a built folder
(read from the ``license`` column of each leaf once)."""
from __future__ import annotations

import collections
import json
from pathlib import Path

from .select import SPLITS


def print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


def leaf_licences(folder: Path) -> list[tuple[tuple, collections.Counter]]:
    """``[(leaf keys (task, subtask, lang, plang), Counter of licences), …]`` over every split."""
    import pyarrow.parquet as pq

    from .select import group_leaves, list_local

    folder = Path(folder)
    out: dict[tuple, collections.Counter] = collections.defaultdict(collections.Counter)
    for leaf in group_leaves(list_local(folder)):
        for f in leaf.files:
            out[leaf.keys].update(pq.read_table(folder / f, columns=["license"]).column("license").to_pylist())
    return sorted(out.items(), key=lambda kv: tuple("" if x is None else x for x in kv[0]))


def config_licences(folder: Path, names: list[str]) -> dict[str, dict[str, int]]:
    """Config name -> {licence: records over all splits}, licences sorted."""
    from .taxonomy import parse

    leaves = leaf_licences(folder)
    out = {}
    for name in names:
        sel = parse(name)
        total: collections.Counter = collections.Counter()
        for keys, cnt in leaves:
            if sel.matches(*keys):
                total.update(cnt)
        out[name] = dict(sorted(total.items()))
    return out


def configs_listing(folder: Path, meta: dict) -> tuple[list[str], list[tuple], dict]:
    """(table headers, rows, the ``--json`` document) of ``mulco configs``: records per split and
    per licence (all splits) of every config the card lists."""
    names = [c["config_name"] for c in meta["configs"]]
    sizes = {d["config_name"]: {s["name"]: s["num_examples"] for s in d["splits"]} for d in meta.get("dataset_info", [])}
    lic = config_licences(folder, names)
    all_lic = sorted({x for v in lic.values() for x in v})
    headers = ["config", *SPLITS, *all_lic]
    rows = [(n, *(sizes.get(n, {}).get(s, 0) for s in SPLITS), *(lic[n].get(x, 0) for x in all_lic)) for n in names]
    doc = {"folder": str(folder), "licenses": all_lic,
           "configs": [{"name": n, "splits": {s: sizes.get(n, {}).get(s, 0) for s in SPLITS}, "licenses": lic[n]}
                       for n in names]}
    return headers, rows, doc


def show_json(config: str, split: str, rows) -> dict:
    """The ``--json`` document of ``mulco show``: the records, every field."""
    return {"config": config, "split": split, "records": [dict(r) for r in rows]}


def sources_json(headers: list[str], rows: list[tuple]) -> dict:
    """The ``--json`` document of ``mulco sources`` from its table rows."""
    keys = {"source": "source", "license": "license", "expected under the raw folder": "expected", "present": "present"}
    return {"sources": [{keys.get(h, h): v for h, v in zip(headers, r)} for r in rows]}


#: Licences that allow commercial use with attribution only (SPDX ids, as records spell them); the
#: card's "choosing by licence" example keeps these. C-UDA and the NC licences are not among them.
PERMISSIVE = ("0BSD", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "CC-BY-4.0", "CC0-1.0", "MIT", "Unlicense")


def licence_splits(folder: Path) -> list[dict]:
    """Per licence present in a built folder: records per split and in all, and whether it is in
    :data:`PERMISSIVE` — what the card's "choosing by licence" table shows."""
    import pyarrow.parquet as pq

    from .select import group_leaves, list_local

    folder = Path(folder)
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for leaf in group_leaves(list_local(folder)):
        for f in leaf.files:
            for lic in pq.read_table(folder / f, columns=["license"]).column("license").to_pylist():
                counts[lic][leaf.split] += 1
    perm = {p.lower() for p in PERMISSIVE}
    return [{"license": lic, "total": sum(c.values()), **{s: c.get(s, 0) for s in SPLITS},
             "permissive": lic.lower() in perm} for lic, c in sorted(counts.items())]
