"""Length distributions of a config's fields: ``mulco stats OUT CONFIG``.

For each of ``instruction``, ``input`` and ``output``: count, empty, mean, p50, p90, p99 and max of
the length in characters (Unicode code points) and, with a local tokenizer folder, in tokens
(no special tokens added). Percentiles are nearest-rank: ``pN`` is the smallest length that at
least N % of the records do not exceed, so every figure is a length that occurs. ``--plot``
writes a histogram PNG (matplotlib, imported only then).

Nothing is downloaded: the tokenizer is a folder (``tokenizer.json`` read with ``tokenizers``,
otherwise ``transformers.AutoTokenizer`` with ``local_files_only``).
"""
from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .select import SPLITS

FIELDS = ("instruction", "input", "output")
PERCENTILES = (50, 90, 99)


class StatsError(ValueError):
    """A bad request (tokenizer folder, plot path): one line says what."""


@dataclass(frozen=True)
class Dist:
    count: int
    empty: int
    mean: float
    p50: int
    p90: int
    p99: int
    max: int

    def to_json(self) -> dict:
        return {"count": self.count, "empty": self.empty, "mean": round(self.mean, 2), "p50": self.p50,
                "p90": self.p90, "p99": self.p99, "max": self.max}


def percentile(sorted_values: Sequence[int], p: float) -> int:
    """Nearest-rank percentile of ascending ``sorted_values`` (0 for none)."""
    n = len(sorted_values)
    if n == 0:
        return 0
    return sorted_values[max(0, math.ceil(p / 100 * n) - 1)]


def describe(values: Sequence[int]) -> Dist:
    v = sorted(values)
    n = len(v)
    return Dist(count=n, empty=sum(1 for x in v if x == 0), mean=(sum(v) / n if n else 0.0),
                p50=percentile(v, 50), p90=percentile(v, 90), p99=percentile(v, 99), max=(v[-1] if v else 0))


# --------------------------------------------------------------------------------------------
# Tokenizers (lazy imports, local folders only)


def load_tokenizer(path) -> "callable":
    """A function ``texts -> token counts`` for the tokenizer in folder (or tokenizer.json file) ``path``."""
    path = Path(path).expanduser()
    if not path.exists():
        raise StatsError(f"--tokenizer {path}: no such folder (give a local tokenizer folder; nothing is downloaded)")
    tj = path if path.is_file() else path / "tokenizer.json"
    if tj.is_file():
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise StatsError("--tokenizer needs the `tokenizers` package: pip install 'mulco[train]'") from None
        try:
            tok = Tokenizer.from_file(str(tj))
        except Exception as e:  # a corrupt file: tokenizers raises its own Exception type
            raise StatsError(f"--tokenizer {path}: cannot read {tj.name} ({' '.join(str(e).split())[:160]})") from None
        return lambda texts, done=None: _batched(
            texts, lambda b: [len(e.ids) for e in tok.encode_batch(b, add_special_tokens=False)], done=done)
    if path.is_file():
        raise StatsError(f"--tokenizer {path}: a file that is not a tokenizer.json; give the tokenizer's folder")
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise StatsError(f"--tokenizer {path}: no tokenizer.json there, and reading other tokenizers needs "
                         f"transformers: pip install 'mulco[train]'") from None
    try:
        tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as e:
        raise StatsError(f"--tokenizer {path}: not a tokenizer folder ({' '.join(str(e).split())[:160]})") from None
    return lambda texts, done=None: _batched(
        texts, lambda b: [len(ids) for ids in tok(b, add_special_tokens=False)["input_ids"]], done=done)


def _batched(texts, count, size: int = 4096, done=None) -> list[int]:
    """``count`` over ``texts`` in batches (the encodings of one batch are held, not all);
    ``done(n)`` after each batch (a progress bar)."""
    texts = list(texts)
    out: list[int] = []
    for i in range(0, len(texts), size):
        out += count(texts[i:i + size])
        if done is not None:
            done(len(texts[i:i + size]))
    return out


def _token_phase(total: int, progress: bool):
    """A tqdm bar on stderr while counting tokens (on a terminal, unless quiet)."""
    from .progress import Phase, on_terminal

    show = progress and on_terminal()
    return Phase("tokens", total=total, unit="texts", enabled=show,
                 log=(lambda m: print(m, file=sys.stderr)) if show else None)


# --------------------------------------------------------------------------------------------
# Stats


@dataclass
class StatsResult:
    source: str
    config: str
    splits: tuple[str, ...]
    licenses: list[str] | None
    records: int
    chars: dict[str, Dist]
    tokens: dict[str, Dist] | None
    tokenizer: str | None
    lengths: dict[str, dict[str, list[int]]]  # unit -> field -> lengths (for the plot)
    plot: str | None = None

    def to_json(self) -> dict:
        return {"source": self.source, "config": self.config, "splits": list(self.splits), "licenses": self.licenses,
                "records": self.records, "tokenizer": self.tokenizer,
                "chars": {f: d.to_json() for f, d in self.chars.items()},
                "tokens": None if self.tokens is None else {f: d.to_json() for f, d in self.tokens.items()},
                "plot": self.plot}


def compute(data, config: str, *, splits: Sequence[str] | None = None, licenses: Sequence[str] | None = None,
            tokenizer=None, revision: str | None = None, progress: bool = True) -> StatsResult:
    """Length distributions of ``config`` in ``splits`` (default: every split it has) of ``data``;
    ``progress``: a bar on stderr while tokens are counted (a terminal only)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from . import select, taxonomy

    taxonomy.parse(config)
    select.check_source(data)
    count_tokens = load_tokenizer(tokenizer) if tokenizer is not None else None
    wanted = tuple(splits) if splits else SPLITS
    for s in wanted:
        if s not in SPLITS:
            raise StatsError(f"unknown split {s!r}; choose from: {', '.join(SPLITS)}")
    sels = []
    for s in wanted:
        if splits:  # asked for: a split without records is an error naming what it has
            sels.append(select.resolve(config, data, s, revision=revision))
            continue
        sel = select.resolve(config, data, s, revision=revision, missing="skip")
        if sel.leaves:
            sels.append(sel)
    if not sels:  # the name has records nowhere: let resolve say so for train
        select.resolve(config, data, "train", revision=revision)
    spelled = None
    if licenses is not None:  # checked against every split of the config: a known licence may be absent here
        from .licenses import spell

        spelled = spell(config, data, None, licenses)
    tables = [select.read_table(sel, licenses=spelled, columns=list(FIELDS)) for sel in sels]
    table = pa.concat_tables(tables)
    if table.num_rows == 0:
        raise StatsError(f"config {config!r} has no {'/'.join(s.split for s in sels)} record under --licenses "
                         f"{','.join(licenses or [])}")
    lengths: dict[str, dict[str, list[int]]] = {"chars": {}, "tokens": {}}
    phase = _token_phase(table.num_rows * len(FIELDS), progress) if count_tokens is not None else None
    for f in FIELDS:
        lengths["chars"][f] = pc.utf8_length(table.column(f)).to_pylist()
        if count_tokens is not None:
            texts = table.column(f).to_pylist()
            counts = count_tokens([t or "" for t in texts], done=phase.update)
            lengths["tokens"][f] = [n if t else 0 for n, t in zip(counts, texts)]
    if phase is not None:
        phase.close()
    return StatsResult(source=sels[0].source, config=config, splits=tuple(s.split for s in sels), licenses=spelled,
                       records=table.num_rows, chars={f: describe(lengths["chars"][f]) for f in FIELDS},
                       tokens=None if count_tokens is None else {f: describe(lengths["tokens"][f]) for f in FIELDS},
                       tokenizer=None if tokenizer is None else str(tokenizer),
                       lengths={k: v for k, v in lengths.items() if v})


def table_text(result: StatsResult) -> str:
    from .table import render

    rows = []
    for unit, dists in (("chars", result.chars), ("tokens", result.tokens)):
        if dists is None:
            continue
        for f, d in dists.items():
            rows.append((f, unit, f"{d.count:,}", f"{d.empty:,}", f"{d.mean:,.1f}", f"{d.p50:,}", f"{d.p90:,}",
                         f"{d.p99:,}", f"{d.max:,}"))
    lic = f"; licences: {', '.join(result.licenses)}" if result.licenses else ""
    title = f"{result.config} ({'+'.join(result.splits)}) of {result.source}: {result.records:,} records{lic}"
    return render(["field", "unit", "count", "empty", "mean", "p50", "p90", "p99", "max"], rows, title=title)


# --------------------------------------------------------------------------------------------
# The plot


def check_plot_path(path, data=None) -> Path:
    """``path`` may receive a PNG: it ends in .png, is not a folder, its folder is writable, it is not
    inside the data folder, and an existing file there is a PNG (never overwrite anything else)."""
    from . import select

    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:  # before any work: the core install has no matplotlib
        raise StatsError("--plot needs matplotlib, which this install lacks: pip install 'mulco[charts]'")
    path = Path(path).expanduser()
    if path.suffix.lower() != ".png":
        raise StatsError(f"--plot {path}: give a file name ending in .png")
    if path.is_dir():
        raise StatsError(f"--plot {path} is a folder; give a file name ending in .png")
    if data is not None and select.is_local(data):
        root = Path(os.path.abspath(Path(data).expanduser())).resolve()
        target = Path(os.path.abspath(path)).resolve()
        if root in target.parents:
            raise StatsError(f"--plot {path} is inside the data folder {data}: refused; write it elsewhere")
    if path.exists():
        with open(path, "rb") as fh:
            if fh.read(8) != b"\x89PNG\r\n\x1a\n":
                raise StatsError(f"--plot {path} exists and is not a PNG: refusing to overwrite it")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise StatsError(f"--plot {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise StatsError(f"--plot {path}: cannot write into {parent} (permission denied)")
    return path


def plot(result: StatsResult, path) -> Path:
    """A histogram per field (and unit) into the PNG ``path``, written to a temp file and renamed."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    path = Path(path)
    units = [u for u in ("chars", "tokens") if u in result.lengths]
    fig, axes = plt.subplots(len(units), len(FIELDS), figsize=(4.2 * len(FIELDS), 3.2 * len(units)), squeeze=False)
    for r, unit in enumerate(units):
        dists = result.chars if unit == "chars" else result.tokens
        for c, f in enumerate(FIELDS):
            ax = axes[r][c]
            vals = result.lengths[unit][f]
            d = dists[f]
            # a long tail would squash the rest into one bar: lengths above 1.2 x p99 go into the last bar
            upper = max(1, min(d.max, math.ceil(d.p99 * 1.2)))
            shown = [min(v, upper) for v in vals]
            ax.hist(shown, bins=min(50, max(5, len(set(shown)))), color="#4C72B0" if unit == "chars" else "#DD8452")
            if upper < d.max:
                ax.annotate(f"last bar: >= {upper:,}\n(max {d.max:,})", xy=(0.98, 0.95), xycoords="axes fraction",
                            ha="right", va="top", fontsize=7)
            for p, style in ((d.p50, "-"), (d.p90, "--"), (d.p99, ":")):
                ax.axvline(p, color="black", linestyle=style, linewidth=1)
            ax.set_title(f"{f} ({unit})  p50={d.p50:,} p90={d.p90:,} p99={d.p99:,}", fontsize=9)
            ax.set_xlabel(f"length in {'characters' if unit == 'chars' else 'tokens'}", fontsize=8)
            ax.set_ylabel("records", fontsize=8)
            ax.tick_params(labelsize=7)
    lic = f", licences {', '.join(result.licenses)}" if result.licenses else ""
    fig.suptitle(f"MulCo {result.config} ({'+'.join(result.splits)}): {result.records:,} records{lic}\n"
                 f"lines: p50 solid, p90 dashed, p99 dotted", fontsize=10)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        plt.close(fig)
    result.plot = str(path)
    return path


__all__ = ["FIELDS", "Dist", "StatsError", "StatsResult", "compute", "describe", "percentile", "plot",
           "table_text", "check_plot_path", "load_tokenizer"]
