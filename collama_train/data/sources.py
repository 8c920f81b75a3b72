"""Where the records come from and how many of each config are trained: a MulCo selection
(``--data``, ``--configs``, ``--licenses``) or the seed's Alpaca JSON list (``--data_path``), and
the mixture counts with seeded over- and under-sampling (docs/data-pipeline.md §1-2)."""
from __future__ import annotations

import collections
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import mulco

from .arguments import DataArguments, DataError

#: The one config name of a ``--data_path`` JSON list.
SEED_COMPAT_NAME = "data_path"


def mixture_counts(natural: dict[str, int], weights: dict[str, float | None], max_samples: int | None = None) -> dict[str, int]:
    """Records each config contributes to the mixture (see the module docstring for the rule).

    ``natural``: records per config (after filters); ``weights``: None = natural size.
    Counts are rounded with the largest-remainder method so they add up to the total."""
    names = list(natural)
    weighted = [n for n in names if weights.get(n) is not None]
    plain = [n for n in names if weights.get(n) is None]
    if not weighted:
        target = {n: float(natural[n]) for n in names}
    elif not plain:
        total = sum(natural.values())
        wsum = sum(weights[n] for n in weighted)
        target = {n: total * weights[n] / wsum for n in names}
    else:
        wsum = sum(weights[n] for n in weighted)
        if wsum >= 1:
            raise DataError(f"--configs: the weights of {', '.join(weighted)} sum to {wsum:g}; with configs without "
                            f"a weight ({', '.join(plain)}) they are shares of the mixture and must sum below 1")
        rest = sum(natural[n] for n in plain)
        total = rest / (1 - wsum)
        target = {n: (float(natural[n]) if n in plain else total * weights[n]) for n in names}
    total = sum(target.values())
    if max_samples is not None and total > max_samples:
        target = {n: v * max_samples / total for n, v in target.items()}
        total = float(max_samples)
    return _round_counts(target, round(total))


def _round_counts(target: dict[str, float], total: int) -> dict[str, int]:
    floors = {n: int(math.floor(v)) for n, v in target.items()}
    left = total - sum(floors.values())
    for n in sorted(target, key=lambda n: (-(target[n] - floors[n]), list(target).index(n)))[:max(left, 0)]:
        floors[n] += 1
    return floors


def sample_indices(n: int, count: int, rng) -> list[int]:
    """``count`` row indices out of ``n``: every row ``count // n`` times, then a sample without
    replacement of the rest (under-sampling when count < n)."""
    import numpy as np

    if n == 0 or count == 0:
        return []
    reps, rem = divmod(count, n)
    parts = [np.tile(np.arange(n), reps)] if reps else []
    if rem:
        parts.append(np.sort(rng.choice(n, size=rem, replace=False)))
    return np.concatenate(parts).tolist()


# ---------------------------------------------------------------- reading records


@dataclass
class Source:
    """The records of each config (after the licence filter), in owning-config order."""

    kind: str                      # "mulco" | "json"
    description: dict
    fingerprint: str
    loader: Callable[[], dict[str, Any]] | None = None  # -> config: pyarrow Table (instruction, input, output)


def json_source(path: str) -> Source:
    p = Path(path).expanduser()
    data = p.read_bytes()
    fp = hashlib.sha256(data).hexdigest()

    def load():
        try:
            recs = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise DataError(f"--data_path {path}: not a JSON file ({str(e).splitlines()[0]})") from None
        if not isinstance(recs, list):
            raise DataError(f"--data_path {path}: expected a JSON list of records, got {type(recs).__name__}")
        cols: dict[str, list] = {"instruction": [], "input": [], "output": []}
        for i, r in enumerate(recs):
            if not isinstance(r, dict):
                raise DataError(f"--data_path {path}: record {i} is not an object")
            for k in ("instruction", "output"):
                if not isinstance(r.get(k), str):
                    raise DataError(f"--data_path {path}: record {i} has no string field {k!r}")
            if r.get("input") is not None and not isinstance(r["input"], str):
                raise DataError(f"--data_path {path}: record {i} field 'input' is not a string")
            cols["instruction"].append(r["instruction"])
            cols["input"].append(r.get("input") or "")
            cols["output"].append(r["output"])
        if not recs:
            raise DataError(f"--data_path {path}: the list is empty")
        import pyarrow as pa

        return {SEED_COMPAT_NAME: pa.table(cols)}

    return Source("json", {"data_path": str(p.resolve()), "sha256": fp}, fp, loader=load)


def _select(args: DataArguments, names: list[str], split: str, missing: str = "error"):
    try:
        return mulco.resolve(names, args.data, split, missing=missing)
    except (mulco.SelectionError, mulco.UnknownConfigError) as e:
        raise DataError(str(e)) from None


def mulco_source(args: DataArguments, names: list[str], split: str, licenses: list[str] | None,
                  missing: str = "error") -> tuple[Source, Any, list[str] | None]:
    sel = _select(args, names, split, missing)
    spelled = None
    if licenses is not None:  # licence column only: cheap, and every problem is found before any text is read
        per_name = {n: mulco.count_licenses(sel, g) for n, g in sel.owned.items()}
        present = sum(per_name.values(), collections.Counter())
        try:
            spelled = mulco.check_licenses(licenses, present)
        except mulco.SelectionError as e:
            raise DataError(f"{split} split: {e}") from None
        keep = {n: sum(c[x] for x in spelled) for n, c in per_name.items()}
        if not any(keep.values()):
            raise DataError(f"the mixture is empty: no selected record is under --licenses {args.licenses} "
                            f"(present: {', '.join(sorted(present))})")
        empty = [n for n, k in keep.items() if k == 0]
        if empty and missing == "error":
            n = empty[0]
            raise DataError(f"config {n!r} has no record under --licenses {args.licenses} (its records are under: "
                            f"{', '.join(sorted(per_name[n]))}); drop it or add a licence")
    desc = {"data": sel.source, "revision": sel.revision, "split": split, "configs": list(sel.names),
            "leaves": {n: [lf.name for lf in g] for n, g in sel.owned.items()}}
    fp = sel.fingerprint()

    def load():
        out = {}
        for name, leaves in sel.owned.items():
            out[name] = mulco.read_table(sel, leaves, licenses=spelled, columns=["instruction", "input", "output"])
        return out

    return Source("mulco", desc, fp, loader=load), sel, spelled
