"""The Hub folder layout: Parquet per leaf, ``configs:`` for every config name, atomic write.

A *leaf* is the set of records sharing (task, subtask, lang, plang, split); it is written once,
to ``data/<task>[/<subtask>]/<lang>/<plang or 'unspecified'>/<split>-NNNNN-of-MMMMM.parquet``,
records sorted by id. A config names, per split, the leaf files it selects with ``data_files``
globs (``data/code_search/*/en/*/train-*.parquet`` for ``code_search.en``), as the Hub's
exemplar cards do: one pattern per task layout, ``*`` where the config leaves a level open.
Each pattern is checked, when written, to match exactly the config's files of that split among
all the files of the build (a glob never picks up a sibling or a child config's files); where it
would not, the files are listed instead. :func:`resolve_data_files` expands them again.
"""
from __future__ import annotations

import collections
import fnmatch
import json
import re
from pathlib import Path
from typing import Iterable

from . import record as rec_mod
from . import taxonomy
from .taxonomy import SPLITS

UNSPECIFIED = "unspecified"
ROWS_PER_SHARD = 200_000
#: The Hub repo a build is made for (``mulco build --repo-id``); snippets and the schema's ``$id`` name it.
DEFAULT_REPO_ID = "collama/mulco"
REPO_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
_SCHEMA_ID = re.compile(r'("\$id":\s*")https://huggingface\.co/datasets/[^/"]+/[^/"]+/(resolve/main/[^"]*")')


def leaf_dir(task: str, subtask: str | None, lang: str, plang: str | None) -> str:
    parts = ["data", task] + ([subtask] if subtask else []) + [lang, plang or UNSPECIFIED]
    return "/".join(parts)


def leaf_key(r: dict, split: str) -> tuple:
    return (r["task"], r["subtask"], r["lang"], r["plang"], split)


def _sort_key(key: tuple) -> tuple:
    return tuple("" if k is None else k for k in key)





def schema_text(repo_id: str = DEFAULT_REPO_ID) -> str:
    """``record.schema.json`` as published to ``repo_id`` (its ``$id`` points there)."""
    if not REPO_ID_RE.match(repo_id or ""):
        raise ValueError(f"--repo-id must be <namespace>/<name> (letters, digits, '-', '_', '.'), got {repo_id!r}")
    text = rec_mod.schema_text()
    new, n = _SCHEMA_ID.subn(lambda m: f"{m.group(1)}https://huggingface.co/datasets/{repo_id}/{m.group(2)}", text, count=1)
    if n != 1:
        raise ValueError(f"{rec_mod.SCHEMA_FILE}: no Hub $id to point at {repo_id}")
    return new


def repo_id_of(folder: Path) -> str | None:
    """The repo id a built folder was made for (from the ``$id`` of its ``record.schema.json``)."""
    try:
        sid = json.loads((Path(folder) / rec_mod.SCHEMA_FILE).read_text(encoding="utf-8")).get("$id", "")
    except (OSError, ValueError):
        return None
    m = re.match(r"https://huggingface\.co/datasets/([^/]+/[^/]+)/resolve/", sid)
    return m.group(1) if m else None




def config_table(leaves: dict[tuple, int], leaf_files: dict[tuple, list[str]], configs: list[str],
                 nbytes: dict[tuple, int]) -> list[dict]:
    """For each config: its name, per-split files and ``data_files`` patterns, record counts and
    Arrow bytes."""
    all_files = sorted(f for fs in leaf_files.values() for f in fs)
    entries = []
    for name in configs:
        sel = taxonomy.parse(name)
        splits: dict[str, list[str]] = {}
        keys: dict[str, list[tuple]] = {}
        counts: dict[str, int] = collections.Counter()
        sizes: dict[str, int] = collections.Counter()
        for key, n in leaves.items():
            if sel.matches(*key[:4]):
                splits.setdefault(key[4], []).extend(leaf_files[key])
                keys.setdefault(key[4], []).append(key[:4])
                counts[key[4]] += n
                sizes[key[4]] += nbytes[key]
        files = {s: sorted(splits[s]) for s in SPLITS if s in splits}
        entries.append({
            "config_name": name,
            "splits": files,
            "data_files": {s: data_file_patterns(sel, s, keys[s], files[s], all_files) for s in files},
            "num_examples": {s: counts[s] for s in SPLITS if s in counts},
            "num_bytes": {s: sizes[s] for s in SPLITS if s in sizes},
        })
    return entries


def glob_match(pattern: str, path: str) -> bool:
    """``path`` matches ``pattern`` as the Hub resolves ``data_files``: ``*`` stays inside one folder level."""
    pp, fp = pattern.split("/"), path.split("/")
    return len(pp) == len(fp) and all(fnmatch.fnmatchcase(f, p) for p, f in zip(pp, fp))


def data_file_patterns(sel: taxonomy.Selector, split: str, keys: Iterable[tuple], files: list[str],
                       all_files: list[str]) -> list[str]:
    """Globs selecting exactly ``files`` (the config's files of ``split``) among ``all_files``:
    one per task layout present, with ``*`` for each level the config leaves open. If they would
    match anything else, or miss a file, the files themselves are returned."""
    pats = set()
    for task, subtask, _lang, _plang in keys:
        parts = ["data", task] + ([sel.subtask or "*"] if subtask else [])
        parts += [sel.lang or "*", sel.plang or "*", f"{split}-*.parquet"]
        pats.add("/".join(parts))
    pats = sorted(pats)
    matched = [f for f in all_files if any(glob_match(p, f) for p in pats)]
    if matched != sorted(files) or any(not any(glob_match(p, f) for f in files) for p in pats):
        return sorted(files)
    return pats


def resolve_data_files(folder: Path, config: dict) -> dict[str, list[str]]:
    """Split -> the files (relative, sorted) a card's ``configs:`` entry names in ``folder``:
    its ``data_files`` patterns expanded as :func:`glob_match` does. A pattern that matches
    nothing stays in the list as it is (so a caller sees the missing file)."""
    folder = Path(folder)
    out: dict[str, list[str]] = {}
    for df in config.get("data_files") or []:
        paths = df["path"] if isinstance(df["path"], list) else [df["path"]]
        got: set[str] = set()
        for p in paths:
            if any(c in p for c in "*?["):
                hits = [q.relative_to(folder).as_posix() for q in folder.glob(p) if q.is_file()]
                got.update(hits or [p])
            else:
                got.add(p)
        out[df["split"]] = sorted(got)
    return out


def read_card_yaml(path: Path) -> dict:
    """The YAML header of a card (``{}`` when it has none), read by ``huggingface_hub.metadata_load``
    as the Hub reads it. A header that does not parse raises ``yaml.YAMLError``; one that is not a
    mapping, ``ValueError``."""
    from huggingface_hub import metadata_load

    return metadata_load(path) or {}


def read_configs(folder: Path) -> list[str]:
    """Config names of a built folder (from its card's YAML)."""
    return [c["config_name"] for c in read_card_yaml(Path(folder) / "README.md").get("configs", [])]
