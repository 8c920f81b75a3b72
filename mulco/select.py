"""Select records of a built MulCo folder (or Hub repo) by config names, without overlap.

A built folder stores every record once, in one *leaf*: the Parquet files
``data/<task>[/<subtask>]/<lang>/<plang or 'unspecified'>/<split>-NNNNN-of-MMMMM.parquet``.
A config name selects a set of leaves, and leaves are disjoint, so a list of names selects the
*union* of their leaves: a record that two selected configs both contain is read once.

- :func:`resolve` turns names into a :class:`Selection` (leaves per name, their union, the leaf
  each name *owns* for weighting, and a fingerprint of the data) — for a local folder by listing
  ``data/``, for a Hub repo id through ``huggingface_hub`` (the same layout, files downloaded on
  demand into the HF cache, pinned to the commit the repo was at when resolved).
- :func:`read_table` reads the selected records (optionally only some licences) as a pyarrow
  Table; :func:`count_licenses` counts the ``license`` values present.

Nothing here imports torch; pyarrow and huggingface_hub are imported inside the functions.
"""
from __future__ import annotations

import collections
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from . import taxonomy
from .taxonomy import SPLITS, UnknownConfigError  # noqa: F401  (SPLITS: mulco.select's name too)

UNSPECIFIED = "unspecified"


class SelectionError(ValueError):
    """A data source that is not a MulCo folder, a name that selects nothing, licences that select nothing."""


class LicenceNote(UserWarning):
    """Some of the licences asked for select no record (the others do): a note, not an error
    (``--licenses`` is an allow-list). The ``mulco`` commands print it as a one-line note."""


@dataclass(frozen=True)
class Leaf:
    """One (task, subtask, lang, plang, split) group of records and its Parquet files
    (paths relative to the folder or repo root, e.g. ``data/code_search/cloze_test/en/python/train-00000-of-00001.parquet``)."""

    task: str
    subtask: str | None
    lang: str
    plang: str | None
    split: str
    files: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, str | None, str, str | None]:
        return (self.task, self.subtask, self.lang, self.plang)

    @property
    def name(self) -> str:
        """The most specific config name of this leaf (``code_generation.en`` when plang is unspecified)."""
        return taxonomy.format_name(taxonomy.Selector(*self.keys))


def parse_leaf_path(path: str) -> tuple[str, str | None, str, str | None, str] | None:
    """``(task, subtask, lang, plang, split)`` of a leaf Parquet path, or None if ``path`` is not one."""
    parts = path.replace(os.sep, "/").split("/")
    if not parts or parts[0] != "data" or len(parts) not in (5, 6) or not parts[-1].endswith(".parquet"):
        return None
    task = parts[1]
    if task not in taxonomy.TASKS:
        return None
    subtask = parts[2] if len(parts) == 6 else None
    if subtask is not None and subtask not in taxonomy.SUBTASKS[task]:
        return None
    lang, plang = parts[-3], parts[-2]
    split = parts[-1].split("-", 1)[0].removesuffix(".parquet")
    if lang not in taxonomy.LANGS or split not in SPLITS:
        return None
    if plang == UNSPECIFIED:
        plang = None
    elif plang not in taxonomy.PLANGS:
        return None
    return task, subtask, lang, plang, split


def group_leaves(paths: Iterable[str]) -> list[Leaf]:
    """Group leaf Parquet paths into :class:`Leaf` objects (other paths are ignored), sorted."""
    groups: dict[tuple, list[str]] = collections.defaultdict(list)
    for p in paths:
        key = parse_leaf_path(p)
        if key is not None:
            groups[key].append(p.replace(os.sep, "/"))
    return sorted((Leaf(*k, files=tuple(sorted(v))) for k, v in groups.items()), key=_leaf_order)


def _leaf_order(lf: Leaf) -> tuple:
    return tuple("" if x is None else x for x in (*lf.keys, lf.split))


@dataclass
class Selection:
    """What a list of config names selects in one split of a MulCo folder or Hub repo."""

    source: str                       # absolute folder path, or the Hub repo id
    revision: str | None              # the Hub commit sha (None for a local folder)
    split: str
    names: tuple[str, ...]            # the names asked for, duplicates removed, in order
    by_name: dict[str, tuple[Leaf, ...]]  # every leaf each name selects (names may overlap)
    owned: dict[str, tuple[Leaf, ...]]    # each selected leaf given to exactly one name (see resolve)
    endpoint: str | None = None
    token: str | bool | None = field(default=None, repr=False)  # never shown
    _local: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def is_hub(self) -> bool:
        return self.revision is not None

    @property
    def leaves(self) -> tuple[Leaf, ...]:
        """The union of the selected leaves, each once (disjoint, so no record twice)."""
        seen = {lf for group in self.owned.values() for lf in group}
        return tuple(sorted(seen, key=_leaf_order))

    def local_path(self, rel: str) -> str:
        """A local path of the file ``rel`` (downloaded into the HF cache for a Hub repo)."""
        if not self.is_hub:
            return str(Path(self.source) / rel)
        if rel not in self._local:
            from huggingface_hub import hf_hub_download

            self._local[rel] = hf_hub_download(self.source, rel, repo_type="dataset", revision=self.revision,
                                               endpoint=self.endpoint, token=self.token)
        return self._local[rel]

    def files(self, leaves: Iterable[Leaf] | None = None) -> list[str]:
        """Local paths of the Parquet files of ``leaves`` (default: all selected leaves)."""
        return [self.local_path(f) for lf in (self.leaves if leaves is None else leaves) for f in lf.files]

    def fingerprint(self) -> str:
        """A hash of what is selected: the commit sha and file list for a Hub repo, the bytes of the
        selected Parquet files for a local folder (any rebuild that changes a record changes it)."""
        h = hashlib.sha256()
        h.update(f"{self.split}\0{self.revision or ''}\0".encode())
        for lf in self.leaves:
            for rel in lf.files:
                h.update(rel.encode() + b"\0")
                if not self.is_hub:
                    with open(Path(self.source) / rel, "rb") as fh:
                        h.update(hashlib.file_digest(fh, "sha256").digest())
        return h.hexdigest()


def _dedupe(names: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for n in names:
        n = n.strip()
        if n and n not in out:
            out.append(n)
    return tuple(out)


def is_local(data: str | os.PathLike) -> bool:
    """True when ``data`` names a local path (absolute, relative with ./, or existing)."""
    s = str(data)
    return Path(s).exists() or s.startswith((".", "/", "~")) or s.count("/") != 1


def list_local(folder: str | os.PathLike) -> list[str]:
    """Relative paths of the leaf Parquet files under ``folder/data``; SelectionError if not a MulCo folder."""
    root = Path(folder).expanduser()
    if not root.exists():
        raise SelectionError(f"{folder}: no such MulCo folder (build one with `mulco build --raw-dir RAW --out {folder}`, "
                             f"or --sample for the bundled sample)")
    if not root.is_dir() or not (root / "data").is_dir():
        raise SelectionError(f"{folder}: not a MulCo folder (no data/ with Parquet leaves; build one with `mulco build`)")
    rels = [str(p.relative_to(root)).replace(os.sep, "/") for p in (root / "data").rglob("*.parquet")]
    if not any(parse_leaf_path(r) for r in rels):
        raise SelectionError(f"{folder}: not a MulCo folder (data/ holds no data/<task>/.../<split>-*.parquet leaves)")
    return rels


def check_source(data: str | os.PathLike) -> None:
    """Cheap check (no network, no reading of records): a local ``data`` must be a MulCo folder;
    a Hub repo id is checked when it is resolved."""
    if is_local(data):
        list_local(data)


def list_hub(repo_id: str, revision: str | None = None, endpoint: str | None = None,
             token: str | bool | None = None) -> tuple[str, list[str]]:
    """(commit sha, file paths) of a Hub dataset repo at ``revision`` (one API call)."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled, RepositoryNotFoundError, RevisionNotFoundError

    try:
        info = HfApi(endpoint=endpoint, token=token).dataset_info(repo_id, revision=revision)
    except RepositoryNotFoundError:
        raise SelectionError(f"{repo_id}: no such dataset repo on the Hub (or no access), and no such local folder") from None
    except RevisionNotFoundError:
        raise SelectionError(f"{repo_id}: no revision {revision!r}") from None
    except OfflineModeIsEnabled:
        raise SelectionError(f"{repo_id}: not a local folder, and the Hub is offline (HF_HUB_OFFLINE=1)") from None
    except (HfHubHTTPError, OSError) as e:
        raise SelectionError(f"{repo_id}: cannot list the Hub repo ({str(e).splitlines()[0]})") from None
    except Exception as e:  # the HTTP client's own connection errors (no network, DNS, TLS): one line too
        if type(e).__module__.split(".")[0] not in ("httpx", "httpx2", "httpcore", "httpcore2", "requests", "urllib3"):
            raise
        raise SelectionError(f"{repo_id}: cannot reach the Hub ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                             f"check the network, or pass a local `mulco build` folder") from None
    return info.sha, [s.rfilename for s in (info.siblings or [])]


def _list_source(data: str | os.PathLike, revision: str | None, endpoint: str | None,
                 token: str | bool | None) -> tuple[str, str | None, list[str]]:
    """(source, commit sha or None for a folder, file paths) of a built folder or a Hub repo id."""
    if is_local(data):
        return str(Path(data).expanduser().resolve()), None, list_local(data)
    source = str(data)
    sha, rels = list_hub(source, revision, endpoint, token)
    if not any(parse_leaf_path(r) for r in rels):
        raise SelectionError(f"{source}: not a MulCo dataset repo (no data/<task>/.../<split>-*.parquet files)")
    return source, sha, rels


def _select_leaves(selectors: dict, leaves: list[Leaf], missing: str, split: str, source: str) -> dict[str, tuple[Leaf, ...]]:
    """The leaves of ``split`` each name selects (``leaves``: those of every split); a name selecting
    none raises (saying which splits it has records in, else listing close names that do), or is left
    out under ``missing="skip"``."""
    here = [lf for lf in leaves if lf.split == split]
    available = taxonomy.config_names(lf.keys for lf in here)
    by_name: dict[str, tuple[Leaf, ...]] = {}
    for n, sel in selectors.items():
        chosen = tuple(lf for lf in here if sel.matches(*lf.keys))
        if chosen:
            by_name[n] = chosen
        elif missing != "skip":
            elsewhere = [s for s in SPLITS if any(lf.split == s and sel.matches(*lf.keys) for lf in leaves)]
            close = taxonomy.suggest(n, available)
            if elsewhere:
                hint = f"; it has records only in the {', '.join(elsewhere)} split{'s' if len(elsewhere) > 1 else ''}"
            elif close:
                hint = f"; close names that do: {', '.join(close)}"
            else:
                hint = f"; names with records there include: {', '.join(available[:6])}" if available else ""
            raise UnknownConfigError(f"config {n!r} selects no record in the {split!r} split of {source}{hint}")
    return by_name


def _owned(by_name: dict[str, tuple[Leaf, ...]], names: Sequence[str]) -> dict[str, tuple[Leaf, ...]]:
    """Each leaf goes to the most specific name selecting it (fewest leaves; ties: the earlier name);
    a name left with no leaf of its own raises SelectionError."""
    order = sorted(by_name, key=lambda n: (len(by_name[n]), names.index(n)))
    owner: dict[Leaf, str] = {}
    for n in order:
        for lf in by_name[n]:
            owner.setdefault(lf, n)
    owned = {n: tuple(lf for lf in by_name[n] if owner[lf] == n) for n in by_name}
    for n, group in owned.items():
        if not group:
            raise SelectionError(f"config {n!r} selects only records that {owner[by_name[n][0]]!r} already selects; keep one of them")
    return owned


def resolve(names: str | Sequence[str], data: str | os.PathLike | None = None, split: str = "train", *,
            revision: str | None = None, missing: str = "error", endpoint: str | None = None,
            token: str | bool | None = None) -> Selection:
    """Resolve config ``names`` in ``split`` of a built folder or Hub repo id ``data``
    (default: the Hub repo ``collama/mulco``).

    Unknown names raise :class:`~mulco.taxonomy.UnknownConfigError` listing close valid names (before
    any listing). A valid name with no record in this split raises too (listing the names that
    have records), unless ``missing="skip"``, which leaves it out.

    *Ownership* (for per-config weights): when names overlap, each leaf goes to the most specific
    name that selects it (the one selecting fewest leaves; ties: the earlier name), so
    ``code_search,code_search.en.python`` means "code_search.en.python, and the rest of code_search".
    A name left with no leaf of its own (it selects exactly what a more specific/earlier name does)
    raises SelectionError.
    """
    if missing not in ("error", "skip"):
        raise ValueError("missing must be 'error' or 'skip'")
    if split not in SPLITS:
        raise SelectionError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
    names = _dedupe([names] if isinstance(names, str) else names)
    if not names:
        raise SelectionError("no config name given")
    selectors = {n: taxonomy.parse(n) for n in names}  # unknown names fail here, at once
    source, sha, rels = _list_source("collama/mulco" if data is None else data, revision, endpoint, token)
    by_name = _select_leaves(selectors, group_leaves(rels), missing, split, source)
    owned = _owned(by_name, names)
    return Selection(source=source, revision=sha, split=split, names=tuple(by_name), by_name=by_name, owned=owned,
                     endpoint=endpoint, token=token)


def _norm(lic: str) -> str:
    return lic.strip().lower()


def count_licenses(selection: Selection, leaves: Iterable[Leaf] | None = None) -> collections.Counter:
    """Records per ``license`` value in the selected leaves (reads only that column)."""
    import pyarrow.parquet as pq

    out: collections.Counter = collections.Counter()
    for path in selection.files(leaves):
        col = pq.read_table(path, columns=["license"]).column("license")
        out.update(col.to_pylist())
    return out


def check_licenses(requested: Iterable[str], present: Iterable[str], notes: list[str] | None = None) -> list[str]:
    """The requested licences (an allow-list) that the data has, as spelled there (case-insensitive
    match). Those it lacks are a note (appended to ``notes``, else a :class:`LicenceNote` warning);
    none present is a SelectionError listing the licences present."""
    by_norm = {_norm(p): p for p in present}
    req = [r for r in (x.strip() for x in requested) if r]
    unknown = [r for r in req if _norm(r) not in by_norm]
    shown = ", ".join(sorted(by_norm.values())) or "none"
    if unknown and len(unknown) == len(req):
        raise SelectionError(f"licence(s) {', '.join(unknown)} not in the selected records; present: {shown}")
    spelled = sorted({by_norm[_norm(r)] for r in req if _norm(r) in by_norm})
    if unknown:
        note = (f"licence(s) {', '.join(unknown)} select no record here (present: {shown}); "
                f"keeping the records under {', '.join(spelled)}")
        if notes is not None:
            notes.append(note)
        else:
            import warnings

            warnings.warn(note, LicenceNote, stacklevel=2)
    return spelled


def read_table(selection: Selection, leaves: Iterable[Leaf] | None = None, licenses: Iterable[str] | None = None,
               columns: Sequence[str] | None = None):
    """The records of ``leaves`` (default: every selected leaf, each once) as one pyarrow Table,
    in leaf order then id order; ``licenses``: keep only records whose ``license`` is one of them
    (case-insensitive)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    paths = selection.files(leaves)
    cols = None if columns is None else list(dict.fromkeys([*columns, *(["license"] if licenses is not None else [])]))
    tables = [pq.read_table(p, columns=cols) for p in paths]
    if not tables:
        from .record import arrow_schema

        schema = arrow_schema()
        table = schema.empty_table() if cols is None else pa.schema([schema.field(c) for c in cols]).empty_table()
    else:
        table = pa.concat_tables(tables)
    if licenses is not None:
        wanted = pa.array(sorted({_norm(x) for x in licenses}))
        table = table.filter(pc.is_in(pc.utf8_lower(pc.utf8_trim_whitespace(table.column("license"))), value_set=wanted))
        if columns is not None and "license" not in columns:
            table = table.drop_columns(["license"])
    return table


__all__ = [
    "Leaf", "LicenceNote", "SPLITS", "Selection", "SelectionError", "check_licenses", "check_source", "count_licenses", "group_leaves",
    "list_hub", "list_local", "parse_leaf_path", "read_table", "resolve",
]
