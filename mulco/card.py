"""The dataset card: YAML metadata generated from the build, body rendered from ``hub/card.md.jinja``.

:func:`write_card` writes, into the Hub folder being built:

* ``README.md``: the card (``configs:`` and ``dataset_info`` for every config, licenses, the
  record tables, examples, the quality summary, provenance and citations);
* ``LICENSE.md``: the license of every source in the build (the card's ``license:`` lists their
  Hub ids, ``other`` only for a license the Hub has no id for);
* ``assets/records.png`` and ``assets/lengths.png``: charts of the counts and of the lengths.

The card renders; it does not compute: the writer hands it the config table, the leaves, the
report and the :class:`~mulco.figures.Figures` it counted while writing the Parquet files. The
YAML header is dumped and read with ``huggingface_hub``'s own card classes. Everything is a
function of those, so a rebuild writes the same bytes (the charts too: fixed font, size and dpi,
no timestamp or software tag in the PNG).
"""
from __future__ import annotations

import collections
import functools
import hashlib
import io
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

from . import record as rec_mod
from . import sources as registry
from . import taxonomy
from .figures import Figures
from .hub import DEFAULT_REPO_ID, read_card_yaml  # noqa: F401  (read_card_yaml: mulco.card's name too)
from .steps.spec import total as _total
from .taxonomy import SPLITS
from .textio import fence_ticks

TEMPLATE = "card.md.jinja"
LICENSE_TEMPLATE = "LICENSE.md.jinja"
ASSETS = "assets"
CHART_COUNTS = f"{ASSETS}/records.png"
CHART_LENGTHS = f"{ASSETS}/lengths.png"
#: Characters of a field shown in an example record before it is cut.
EXAMPLE_CHARS = 700
PRETTY_NAME = "MulCo"
#: How the card writes a record without a programming language (``plang`` null), everywhere:
#: tables, example headers and the charts. Its Parquet files sit under ``.../unspecified/``.
NO_PLANG = "—"
#: The paper of the CoLLaMA project, whose instruction dataset MulCo is (its citation: SEED_CITATION).
PAPER = "CoLLaMA: A Multilingual Instruction Dataset and Large Language Model for Code"
#: Syntax-highlighting names of the programming languages, for the examples' code fences (the
#: plang names are the highlighters' names).
FENCE_LANG: Mapping[str, str] = {p: p for p in taxonomy.PLANGS}
#: Subtasks whose code field also holds prose, shown as text: query_to_code's input is a question
#: and numbered candidate snippets.
MIXED_INPUT = ("query_to_code",)
#: (task, subtask) -> the fields that hold only code in its records (the others are natural language).
CODE_FIELDS: Mapping[tuple, tuple[str, ...]] = {
    (k.task, k.subtask): () if k.subtask in MIXED_INPUT else k.code_fields for k in taxonomy.KINDS}
#: Records' ``license`` values (SPDX ids, lower-cased) -> the Hub's license ids.
HUB_LICENSES: Mapping[str, str] = {
    "apache-2.0": "apache-2.0", "mit": "mit", "cc-by-4.0": "cc-by-4.0", "cc-by-nc-4.0": "cc-by-nc-4.0",
    "cc-by-sa-4.0": "cc-by-sa-4.0", "cc-by-nc-sa-4.0": "cc-by-nc-sa-4.0", "c-uda-1.0": "c-uda", "c-uda": "c-uda",
    "bsd-3-clause": "bsd-3-clause", "cc0-1.0": "cc0-1.0", "gpl-3.0": "gpl-3.0",
}
#: (task, subtask) -> (the Hub's task category, its task id or None), as the CodeXGLUE cards on the Hub tag them.
HUB_TASKS: Mapping[tuple, tuple[str, str | None]] = {(k.task, k.subtask): k.hub_task for k in taxonomy.KINDS}
#: Source -> its ``source_datasets`` entry: the Hub dataset it extends, where there is one.
HUB_SOURCE_DATASETS: Mapping[str, str] = {
    "bigclonebench": "extended|google/code_x_glue_cc_clone_detection_big_clone_bench",
    "codealpaca": "extended|sahil2801/CodeAlpaca-20k",
    "codesearchnet": "extended|google/code_x_glue_ct_code_to_text",
    "codexglue_cloze": "extended|google/code_x_glue_cc_cloze_testing_maxmin",
    "codexglue_line_completion": "extended|google/code_x_glue_cc_code_completion_line",
    "codexglue_refinement": "extended|google/code_x_glue_cc_code_refinement",
    "codexglue_translation": "extended|google/code_x_glue_cc_code_to_code_trans",
    "devign": "extended|google/code_x_glue_cc_defect_detection",
}

#: The seed of this project (the CoLLaMA README's own citation).
SEED_CITATION = (
    "@misc{Hu2023CoLLaMA,\n"
    "  title = {CoLLaMA: A Multilingual Instruction Dataset and Large Language Model for Code},\n"
    "  author = {Gang Hu and Xi Wen and Xin Liu and Jimin Huang and Qianqian Xie},\n"
    "  year = {2023}\n"
    "}"
)

TASK_DESCRIPTIONS: Mapping[str, str] = taxonomy.TASK_WHAT
SUBTASK_DESCRIPTIONS: Mapping[str, str] = {k.subtask: k.what for k in taxonomy.KINDS if k.subtask}



# --------------------------------------------------------------------------------------------
# YAML metadata


def _size_category(n: int) -> str:
    for limit, label in [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")]:
        if n < limit:
            return label
    return "10M<n<100M"


def _built(report: dict, sources: Mapping) -> list[str]:
    """Names of the sources that produced data (built, and records kept), sorted."""
    return [name for name in sorted(sources) if _kept(report, name)]


def _kept(report: dict, name: str) -> bool:
    """Whether source ``name`` was built and kept records (a source that read rows but kept none
    is not in the build: no license, no citation)."""
    s = report["sources"][name]
    return s["status"] == "built" and s["records_kept"] > 0


def source_licenses(names: Iterable[str], found: Mapping[str, list[str]] | None = None) -> dict[str, str]:
    """License(s) per source: those its records carry where known, else its spec's."""
    out = {}
    for n in sorted(names):
        lic = list((found or {}).get(n) or [registry.get(n).SPEC.license])
        out[n] = ", ".join(lic)
    return out


def hub_license(license: str) -> str | None:
    """The Hub's license id for a record's ``license`` value (an SPDX id), or None if it has none."""
    return HUB_LICENSES.get(license.strip().lower())


def hub_licenses(licenses: Iterable[str]) -> list[str]:
    """The ``license:`` list of the card: the Hub id of every license present (``other`` for any
    license the Hub has no id for), sorted."""
    ids = {hub_license(x) or "other" for x in licenses}
    return sorted(ids, key=lambda i: (i == "other", i))


def _present(leaves: Mapping[tuple, int], i: int) -> set:
    return {k[i] for k, n in leaves.items() if n}


def hub_tasks(leaves: Mapping[tuple, int]) -> tuple[list[str], list[str]]:
    """(task_categories, task_ids) of the (task, subtask) pairs present."""
    cats, ids = set(), set()
    for key in {(k[0], k[1]) for k, n in leaves.items() if n}:
        cat, tid = HUB_TASKS.get(key, ("text-generation", None))
        cats.add(cat)
        if tid:
            ids.add(tid)
    if cats:
        cats.add("text-generation")  # every record is an instruction with a generated answer
    return sorted(cats), sorted(ids)


def card_metadata(config_entries: list[dict], leaves: dict[tuple, int], sources: Mapping, report: dict | None = None,
                  folder: Path | None = None, found_licenses: Mapping[str, list[str]] | None = None) -> dict:
    """The card's YAML, with only keys the Hub knows. With ``folder``, ``download_size`` (bytes of
    the Parquet files) is filled in."""
    total = sum(leaves.values())

    def download_size(e: dict) -> dict:
        if folder is None:
            return {}
        return {"download_size": sum((Path(folder) / f).stat().st_size for fs in e["splits"].values() for f in fs)}

    def data_files(e: dict) -> list[dict]:
        patterns = e.get("data_files") or e["splits"]
        return [{"split": s, "path": ps[0] if len(ps) == 1 else list(ps)} for s, ps in patterns.items()]

    feats = [{"name": n, "dtype": t} for n, t in rec_mod.dtypes().items()]
    built = _built(report or {}, sources)
    licenses = source_licenses(built, found_licenses)
    distinct = sorted({x.strip() for v in licenses.values() for x in v.split(",")})
    ids = hub_licenses(distinct)
    langs = [lang for lang in taxonomy.LANGS if lang in _present(leaves, 2)]
    cats, task_ids = hub_tasks(leaves)
    meta: dict[str, Any] = {
        "pretty_name": PRETTY_NAME,
        "license": ids or ["other"],
    }
    if "other" in meta["license"]:  # the Hub's way to name a license it has no id for
        meta["license_name"] = "mulco-per-source-licenses"
        meta["license_link"] = "LICENSE.md"
    hub_sources = sorted({HUB_SOURCE_DATASETS[n] for n in built if n in HUB_SOURCE_DATASETS})
    meta.update({
        "language": langs + (["code"] if total else []),
        "multilinguality": ["multilingual" if len(langs) > 1 else "monolingual"],
        **({"source_datasets": hub_sources} if hub_sources else {}),
        "task_categories": cats or ["text-generation"],
        **({"task_ids": task_ids} if task_ids else {}),
        "tags": ["code", "instruction-tuning", "code-generation", "code-summarization", "code-search"]
        + (["bilingual"] if len(langs) > 1 else []),
        "size_categories": [_size_category(total)],
        "configs": [
            {
                "config_name": e["config_name"],
                **({"default": True} if e["config_name"] == taxonomy.DEFAULT_CONFIG else {}),
                "data_files": data_files(e),
            }
            for e in config_entries
        ],
        "dataset_info": [
            {
                "config_name": e["config_name"],
                "features": feats,
                "splits": [{"name": s, "num_bytes": e["num_bytes"][s], "num_examples": n} for s, n in e["num_examples"].items()],
                **download_size(e),
                "dataset_size": sum(e["num_bytes"].values()),
            }
            for e in config_entries
        ],
    })
    return meta


# --------------------------------------------------------------------------------------------
# Tables


def count_table(leaves: dict[tuple, int]) -> list[dict]:
    """Rows of task × subtask × lang × plang with counts per split, sorted."""
    rows: dict[tuple, collections.Counter] = collections.defaultdict(collections.Counter)
    for (task, subtask, lang, plang, split), n in leaves.items():
        rows[(task, subtask or "", lang, plang or NO_PLANG)][split] += n
    return [
        {"task": k[0], "subtask": k[1], "lang": k[2], "plang": k[3], "train": c["train"],
         "validation": c["validation"], "test": c["test"], "total": sum(c.values())}
        for k, c in sorted(rows.items())
    ]


def task_lang_table(leaves: dict[tuple, int]) -> list[dict]:
    """Rows of task(.subtask) × lang with counts per split, in taxonomy order."""
    rows: dict[tuple, collections.Counter] = collections.defaultdict(collections.Counter)
    for (task, subtask, lang, _plang, split), n in leaves.items():
        rows[(task, subtask or "", lang)][split] += n
    order = _task_order()
    return [
        {"task": k[0], "subtask": k[1], "lang": k[2], "train": c["train"], "validation": c["validation"],
         "test": c["test"], "total": sum(c.values())}
        for k, c in sorted(rows.items(), key=lambda kv: (order.get((kv[0][0], kv[0][1] or None), 99), kv[0]))
    ]


def split_totals(leaves: dict[tuple, int]) -> dict[str, int]:
    c = collections.Counter()
    for key, n in leaves.items():
        c[key[4]] += n
    return {s: c[s] for s in SPLITS}


def _task_order() -> dict[tuple, int]:
    order, i = {}, 0
    for task in taxonomy.TASKS:
        order[(task, None)] = i
        i += 1
        for sub in taxonomy.SUBTASKS[task]:
            order[(task, sub)] = i
            i += 1
    return order


def taxonomy_rows() -> list[dict]:
    rows = []
    for task in taxonomy.TASKS:
        rows.append({"task": task, "subtask": "", "what": TASK_DESCRIPTIONS.get(task, "")})
        for sub in taxonomy.SUBTASKS[task]:
            rows.append({"task": task, "subtask": sub, "what": SUBTASK_DESCRIPTIONS.get(sub, "")})
    return rows


# --------------------------------------------------------------------------------------------
# Examples


def fence_lang(record: dict, name: str, text: str) -> str:
    """The info string of an example field's code fence: the record's programming language for a
    field that holds code (the target's for a translation's output), ``markdown`` for text that
    carries its own fences, else ``text``."""
    if "```" in text or "~~~" in text:
        return "markdown"
    if name in CODE_FIELDS.get((record.get("task"), record.get("subtask")), ()):
        plang = record.get("target_plang") if name == "output" and record.get("target_plang") else record.get("plang")
        return FENCE_LANG.get(plang or "", "text")
    return "text"


def example_rows(examples: dict[tuple, dict]) -> list[dict]:
    order = _task_order()
    out = []
    for key in sorted(examples, key=lambda k: (order.get((k[0], k[1]), 99), k[0], k[1] or "", k[2])):
        r = examples[key]
        fields = []
        for f in ("instruction", "input", "output"):
            if r.get(f):
                text = r[f].rstrip("\n")
                fields.append({"name": f, "lang": fence_lang(r, f, text), "text": _cut(text)})
        out.append({
            "title": (key[0] + (f" / {key[1]}" if key[1] else "")) + f" · {key[2]}",
            "record": r,
            "plang": (r.get("plang") or NO_PLANG) + (f" → {r['target_plang']}" if r.get("target_plang") else ""),
            "fields": fields,
        })
    return out


def _cut(text: str, n: int = EXAMPLE_CHARS) -> str:
    if len(text) <= n:
        return text
    return text[:n] + f"\n… ({len(text) - n:,} more characters)"


# --------------------------------------------------------------------------------------------
# Charts


def _require_matplotlib():
    try:
        import matplotlib
    except ImportError:
        raise ModuleNotFoundError("the dataset card's charts need matplotlib: pip install 'matplotlib>=3.8'") from None
    return matplotlib


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def _png_bytes(fig) -> bytes:
    """Deterministic PNG: no Software/date metadata; fixed dpi."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


#: PNGs drawn in this process, by what they show: a chart is a pure function of its figures, so a
#: second build of the same data (a rebuild, the builder class, the tests' many sample builds)
#: writes the same bytes without drawing again (drawing is ~1 s of a sample build's 1.7 s).
_PNG_MEMO: collections.OrderedDict[str, bytes] = collections.OrderedDict()
_PNG_MEMO_SIZE = 8


def chart_cache_dir() -> Path | None:
    """Where drawn charts are kept across runs: ``$MULCO_CACHE_DIR/charts``, else
    ``$XDG_CACHE_HOME/mulco/charts`` (``~/.cache/mulco/charts``); ``MULCO_CACHE_DIR=off`` keeps none."""
    import os

    from .fsops import user_cache_dir

    base = os.environ.get("MULCO_CACHE_DIR")
    if base == "off":
        return None
    return (Path(base) if base else user_cache_dir()) / "charts"


@functools.lru_cache(maxsize=None)
def _drawing_version() -> str:
    """What else the PNG bytes depend on: matplotlib's version and this module's code."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        mpl = version("matplotlib")
    except PackageNotFoundError:
        mpl = "none"
    return mpl + ":" + hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def _cached_png(key: str) -> bytes | None:
    folder = chart_cache_dir()
    try:
        data = (folder / f"{key}.png").read_bytes() if folder else None
    except OSError:
        return None
    return data if data and data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82") else None


def _keep_png(key: str, png: bytes) -> None:
    """Store a drawn chart for later runs (atomically; a cache that cannot be written is skipped)."""
    import os

    folder = chart_cache_dir()
    if folder is None:
        return
    tmp = folder / f".{key}.{os.getpid()}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(png)
        os.replace(tmp, folder / f"{key}.png")
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass


def _drawn(kind: str, data: Any, draw, path: Path) -> None:
    """Write the chart ``draw()`` makes (inside the chart style) to ``path``. A chart is a pure
    function of its data, matplotlib's version and this module, so it is drawn once per those: kept
    in this process and in :func:`chart_cache_dir` (drawing is ~1 s of a sample build's 1.7 s, plus
    importing matplotlib)."""
    key = hashlib.sha256(json.dumps([kind, data, _drawing_version()], sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    png = _PNG_MEMO.get(key) or _cached_png(key)
    if png is None:
        with _chart_style():
            png = _png_bytes(draw())
        _keep_png(key, png)
    _PNG_MEMO[key] = png
    _PNG_MEMO.move_to_end(key)
    while len(_PNG_MEMO) > _PNG_MEMO_SIZE:
        _PNG_MEMO.popitem(last=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)


def _chart_style():
    matplotlib = _require_matplotlib()
    return matplotlib.rc_context({
        "font.family": "DejaVu Sans",  # bundled with matplotlib: the same glyphs on every machine
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "svg.hashsalt": "mulco",
        "path.simplify": False,
    })


_LANG_COLORS = {"en": "#4C72B0", "zh": "#DD8452"}


def chart_counts(leaves: dict[tuple, int], path: Path) -> None:
    """Records per task/subtask and per programming language, one bar per language."""
    data = sorted(([list(k), n] for k, n in leaves.items()), key=repr)
    _drawn("counts", data, lambda: counts_figure(leaves), path)


def counts_figure(leaves: dict[tuple, int]):
    """The figure of :func:`chart_counts` (call it inside ``_chart_style()``)."""
    import numpy as np

    by_task: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    by_plang: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    order = _task_order()
    task_keys = sorted({(k[0], k[1]) for k in leaves}, key=lambda k: (order.get(k, 99), k[0], k[1] or ""))
    for (task, sub, lang, plang, _split), n in leaves.items():
        by_task[task + (f".{sub}" if sub else "")][lang] += n
        by_plang[plang or NO_PLANG][lang] += n
    tasks = [t + (f".{s}" if s else "") for t, s in task_keys]
    plangs = sorted(by_plang, key=lambda p: (p == NO_PLANG, p))
    fig = _figure(10, max(3.0, 0.35 * max(len(tasks), len(plangs)) + 1.5))
    for ax, labels, counts, title in (
        (fig.add_subplot(1, 2, 1), tasks, by_task, "Records per task"),
        (fig.add_subplot(1, 2, 2), plangs, by_plang, "Records per programming language"),
    ):
        y = np.arange(len(labels))
        h = 0.8 / len(taxonomy.LANGS)
        for i, lang in enumerate(taxonomy.LANGS):
            vals = [counts[lab][lang] for lab in labels]
            ax.barh(y + (i - (len(taxonomy.LANGS) - 1) / 2) * h, vals, height=h, label=lang, color=_LANG_COLORS.get(lang))
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_title(title)
        ax.set_xlabel("records (all splits)")
        ax.legend(title="lang", loc="lower right")
    fig.tight_layout()
    return fig


def chart_lengths(lengths: dict[str, dict[str, list[int]]], path: Path) -> None:
    """Histograms of prompt (instruction + input) and output length in characters, per task."""
    _drawn("lengths", lengths, lambda: lengths_figure(lengths), path)


def lengths_figure(lengths: dict[str, dict[str, list[int]]]):
    """The figure of :func:`chart_lengths` (call it inside ``_chart_style()``). Its one legend sits
    above both plots, outside them, so it never covers a peak."""
    import numpy as np

    tasks = [t for t in taxonomy.TASKS if t in lengths] + sorted(set(lengths) - set(taxonomy.TASKS))
    hi = max((max(v["prompt"] + v["output"], default=1) for v in lengths.values()), default=1)
    bins = np.logspace(0, max(1.0, np.ceil(np.log10(max(hi, 10)))), 41)
    fig = _figure(10, 3.9)
    for j, part in enumerate(("prompt", "output")):
        ax = fig.add_subplot(1, 2, j + 1)
        for t in tasks:
            vals = np.maximum(np.asarray(lengths[t][part], dtype=float), 1.0)
            weights = np.full(len(vals), 100.0 / max(1, len(vals)))  # % of the task's records
            ax.hist(vals, bins=bins, weights=weights, histtype="step", linewidth=1.4, label=t)
        ax.set_xscale("log")
        ax.set_xlabel("characters" + (" (instruction + input)" if part == "prompt" else ""))
        ax.set_ylabel("% of the task's records")
        ax.set_title(f"{part.capitalize()} length")
    if tasks:
        handles, labels = fig.axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="upper center", ncol=len(tasks), frameon=False, fontsize=9)
        fig.tight_layout(rect=(0, 0, 1, 0.9))
    else:
        fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# Quality summary (from the build's report: every source's summary, the steps, what they found)

_COUNTS = ("units_read", "units_kept", "units_quarantined", "records_made", "records_skipped", "records_dropped",
           "records_kept")


def quality_summary(report: dict) -> dict:
    """Totals, per-source rows, reasons, the steps and what each found (``details``)."""
    rows, reasons = [], collections.Counter()
    totals = collections.Counter()
    for name, s in sorted(report["sources"].items()):
        row = {"source": name, "status": s["status"], **{k: _total(s[k]) for k in _COUNTS}, "reconciles": s["reconciles"]}
        rows.append(row)
        totals.update({k: row[k] for k in _COUNTS})
        for what, key in (("quarantined", "quarantine_reasons"), ("skipped", "records_skipped"),
                          ("dropped", "records_dropped")):
            for reason, n in s[key].items():
                reasons[(what, reason)] += _total(n)
    steps = [{k: st[k] for k in ("step", "records_in", "dropped", "flagged")} for st in report.get("steps", [])]
    zh_skipped = sum(n for (what, reason), n in reasons.items() if what == "skipped" and "translat" in reason)
    return {
        "totals": dict(totals),
        "rows": rows,
        "reasons": [{"what": w, "reason": r, "count": n} for (w, r), n in sorted(reasons.items())],
        "details": step_details(report),
        "steps": steps,
        "warnings": report.get("warnings", []),
        "reconciles": report.get("reconciles"),
        "translator": report.get("translator"),
        "zh_skipped": zh_skipped,
        "mulco_version": report["mulco_version"],
        "raw_dir": report["raw_dir"],
    }


def step_details(report: dict) -> list[str]:
    """What each quality step found, in a sentence a reader can use (the numbers behind it are in
    ``build_report.json``): each step's own card part (:func:`mulco.steps.registry.card_parts`). A
    step that had nothing to look at reports only its settings: its counts are 0."""
    from .steps import registry

    return [line for part in registry.card_parts() for line in part(report)]


# --------------------------------------------------------------------------------------------
# Rendering


def _source_rows(report: dict, sources: Mapping, found: Mapping[str, list[str]] | None = None) -> list[dict]:
    from .report import CHECKS

    out = []
    prov = report.get("provenance", {})
    for name in sorted(sources):
        spec = registry.get(name).SPEC
        s = report["sources"][name]
        lic = list((found or {}).get(name) or [spec.license])
        files = [{"path": f["path"], "size": f["size"], "sha256": f["sha256"], "origin": f.get("url") or f.get("from") or "",
                  "from": f.get("from") or "", "check": f["check"], "checked": CHECKS[f["check"]]}
                 for f in prov.get(name, [])]
        commits = sorted({m for f in files for m in re.findall(r"/([0-9a-f]{40})/", f["origin"])})
        status = s["status"]
        present = _kept(report, name)
        out.append({
            "name": name, "title": spec.title, "url": spec.url, "commits": commits, "present": present,
            "records": s["records_kept"],
            "state": status if present or status != "built" else "built, no record kept",
            "license": ", ".join(lic), "hub_license": ", ".join(hub_license(x) or "other" for x in lic),
            "license_url": spec.license_url, "citation": spec.citation, "status": status,
            "files": s.get("files", []), "provenance": files, "message": s.get("message", ""),
            "produces": [t + (f".{st}" if st else "") for t, st in spec.produces],
        })
    return out


def citations(specs: list[dict]) -> list[dict]:
    """The BibTeX entries of the built sources, each once, labelled with the sources that use it
    (CodeXGLUE's entry serves seven sources)."""
    entries: dict[str, dict] = {}
    for s in specs:
        if not s["present"] or not s["citation"]:
            continue
        for entry in re.split(r"\n(?=@)", s["citation"].strip()):
            key = entry.split("{", 1)[1].split(",", 1)[0].strip() if "{" in entry else entry
            e = entries.setdefault(key, {"key": key, "bibtex": entry.strip(), "sources": []})
            e["sources"].append(s["title"])
    return list(entries.values())  # in the order of the sources' names


def limitations(report: dict, specs: list[dict], figures: Figures, leaves: Mapping[tuple, int]) -> dict:
    """What the uses and bias/risks/limitations sections say, computed from the build."""
    missing = [{"name": s["name"], "title": s["title"], "status": s["state"], "produces": s["produces"],
                "message": s["message"]} for s in specs if not s["present"]]
    listed = {s["name"] for s in specs}
    for name in registry.names():  # sources the build was not asked for (--sources)
        if name not in listed:
            spec = registry.get(name).SPEC
            missing.append({"name": name, "title": spec.title, "status": "not requested", "message": "",
                            "produces": [t + (f".{st}" if st else "") for t, st in spec.produces]})
    missing.sort(key=lambda m: m["name"])
    twins = []
    for (task, sub), (n_zh, n_twin) in figures.twins.items():
        twins.append({"task": task + (f".{sub}" if sub else ""), "zh": n_zh, "twins": n_twin,
                      "share": f"{100.0 * n_twin / n_zh:.0f}%" if n_zh else "-"})
    langs = collections.Counter()
    for k, n in leaves.items():
        langs[k[2]] += n
    no_plang = sum(n for k, n in leaves.items() if not k[3])
    built = [s for s in specs if s["present"]]
    return {"noncommercial": [s["title"] for s in built if "-nc" in s["license"].lower()],
            "cuda": [s["title"] for s in built if "c-uda" in s["license"].lower()],
            "missing": missing, "known": len(listed | set(registry.names())), "twins": twins, "twins_total": sum(t["twins"] for t in twins),
            "zh_total": sum(t["zh"] for t in twins), "langs": dict(langs), "no_plang": no_plang,
            "zh_origins": figures.origins.get("zh", {}), "zh_shares": zh_shares(figures, sum(leaves.values())),
            "mixture": mixture(figures, leaves)}


def mixture(figures: Figures, leaves: Mapping[tuple, int]) -> list[dict]:
    """What each task/subtask weighs in the build: its share of the records and of the output
    characters (what a model is trained to write), heaviest output first."""
    records = collections.Counter()
    for k, n in leaves.items():
        records[f"{k[0]}.{k[1]}" if k[1] else k[0]] += n
    n_rec, n_out = sum(records.values()), sum(figures.output_chars.values())
    if not n_rec or not n_out:
        return []
    rows = [{"task": t, "records": n, "of_records": f"{100.0 * n / n_rec:.1f}%",
             "of_output": f"{100.0 * figures.output_chars.get(t, 0) / n_out:.1f}%", "chars": figures.output_chars.get(t, 0)}
            for t, n in records.items()]
    return sorted(rows, key=lambda r: (-r["chars"], r["task"]))


#: how a ZH record's text came to be (``text_origin``), as the card words it
ORIGIN_WORDS = (("native", "native (written in Chinese by the source)"),
                ("template", "template (a Chinese instruction over an EN record's content)"),
                ("machine_translation", "machine-translated"))


def zh_shares(figures: Figures, n_build: int) -> list[dict]:
    """Each ``text_origin`` of the ZH records: its count and its share of the ZH records and of the build
    (every origin, zeros included; empty for a build without ZH records or without ``text_origin``)."""
    zh = figures.origins.get("zh", {})
    n_zh = sum(zh.values())
    if not n_zh:
        return []
    return [{"origin": o, "words": w, "n": zh.get(o, 0), "of_zh": f"{100.0 * zh.get(o, 0) / n_zh:.1f}%",
             "of_build": f"{100.0 * zh.get(o, 0) / max(n_build, 1):.1f}%"} for o, w in ORIGIN_WORDS]


def _env():
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False,
                             trim_blocks=False, lstrip_blocks=False)
    env.filters["n"] = lambda v: f"{v:,}" if isinstance(v, int) else str(v)
    env.filters["fence"] = fence_ticks
    env.filters["cell"] = lambda v: str(v).replace("|", "\\|").replace("\n", " ")
    return env


@functools.lru_cache(maxsize=None)
def compiled_template(name: str):
    """The card template ``name``, compiled once per process (compiling is ~0.1 s)."""
    return _env().from_string(_template(name))


def _template(name: str) -> str:
    return resources.files("mulco").joinpath("hub_files", name).read_text(encoding="utf-8")


def _licence_context(records: dict[str, int]) -> dict:
    """The card's "choosing by licence" table (records per licence) and the permissive licences."""
    from .listing import PERMISSIVE

    perm = {p.lower() for p in PERMISSIVE}
    rows = [{"license": lic, "records": n, "permissive": lic.lower() in perm} for lic, n in records.items()]
    return {"licence_rows": rows, "permissive": [r["license"] for r in rows if r["permissive"]]}


def render_card(config_entries: list[dict], leaves: dict[tuple, int], report: dict, sources: Mapping,
                folder: Path | None = None, *, figures: Figures | None = None, repo_id: str = DEFAULT_REPO_ID) -> str:
    """The whole README.md for the Hub repo ``repo_id``: the YAML header (dumped by
    ``huggingface_hub.DatasetCardData``) and the body. ``figures``: the examples, lengths and
    licenses the writer counted (none: no example, each source's spec license). With ``folder``
    the charts, the download sizes and ``build_report.md`` are referenced."""
    from huggingface_hub import DatasetCardData

    from .hub import schema_text
    from .report import CHECKS

    figures = figures or Figures()
    meta = card_metadata(config_entries, leaves, sources, report, folder, figures.licenses)
    examples = example_rows(figures.examples)
    configs = [e["config_name"] for e in config_entries]
    specs = _source_rows(report, sources, figures.licenses)
    built = [s for s in specs if s["present"]]
    read = [s for s in specs if s["provenance"]]
    body = compiled_template(TEMPLATE).render(
        repo_id=repo_id,
        pretty_name=PRETTY_NAME,
        paper=PAPER,
        urls=project_urls(),
        no_plang=NO_PLANG,
        seed_citation=SEED_CITATION,
        counts=count_table(leaves),
        task_lang=task_lang_table(leaves),
        split_totals=split_totals(leaves),
        total=sum(leaves.values()),
        configs=configs,
        example_configs=_example_configs(configs),
        taxonomy=taxonomy_rows(),
        langs=taxonomy.LANGS,
        plangs=taxonomy.PLANGS,
        examples=examples,
        charts={"counts": CHART_COUNTS, "lengths": CHART_LENGTHS} if folder is not None else {},
        quality=quality_summary(report),
        report_md=folder is not None and (Path(folder) / "build_report.md").exists(),
        specs=specs,
        built=built,
        read=read,
        licenses=sorted({x.strip() for s in built for x in s["license"].split(",")}),
        hub_licenses=meta["license"],
        **_licence_context(figures.license_records),
        citations=citations(specs),
        limits=limitations(report, specs, figures, leaves),
        emails=figures.emails,
        checks=[(k, v) for k, v in CHECKS.items() if any(f["check"] == k for b in read for f in b["provenance"])],
        schema=schema_text(repo_id).rstrip("\n"),
        schema_props=_schema_props(),
    )
    head = DatasetCardData(**meta).to_yaml(original_order=list(meta))
    return f"---\n{head}\n---\n{body}"


def project_urls() -> dict[str, str]:
    """The ``[project.urls]`` of the installed ``mulco`` (label lower-cased -> URL): the card's
    links to the code and the paper come from there, so nothing is guessed."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        entries = metadata("mulco").get_all("Project-URL") or []
    except PackageNotFoundError:
        return {}
    out = {}
    for entry in entries:
        label, _, url = entry.partition(",")
        if url.strip():
            out[label.strip().lower()] = url.strip()
    return out


def _schema_props() -> list[tuple[str, dict]]:
    out = []
    for name, prop in rec_mod.schema()["properties"].items():
        types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
        typ = " or ".join(types)
        if "enum" in prop:
            typ += ": " + ", ".join("null" if v is None else f"`{v}`" for v in prop["enum"])
        out.append((name, {"type": typ, "description": prop.get("description", "")}))
    return out


def _example_configs(configs: list[str]) -> dict[str, str]:
    """Config names used in the card's snippets: real names of this build where possible."""
    def first(pred, default):
        return next((c for c in configs if pred(c)), default)

    lang_cfg = first(lambda c: c in taxonomy.LANGS, "en")
    task_cfg = first(lambda c: c.count(".") == 1 and c.split(".")[1] in taxonomy.LANGS, "code_search.en")
    plang_cfg = first(lambda c: c.split(".")[-1] in taxonomy.PLANGS, "code_summarization.en.python")
    task_of_plang = task_cfg
    plang = "python"
    for c in configs:  # a task.lang config with a plang below it, for the filter snippet
        parts = c.split(".")
        if len(parts) == 3 and parts[1] in taxonomy.LANGS and parts[2] in taxonomy.PLANGS:
            task_of_plang, plang = f"{parts[0]}.{parts[1]}", parts[2]
            break
    return {"lang": lang_cfg, "task": task_cfg, "plang_config": plang_cfg, "filter_config": task_of_plang, "plang": plang}


def render_license(report: dict, sources: Mapping, found: Mapping[str, list[str]] | None = None) -> str:
    specs = [s for s in _source_rows(report, sources, found) if s["present"]]
    return compiled_template(LICENSE_TEMPLATE).render(specs=specs)


def write_card(folder: Path, config_entries: list[dict], leaves: dict[tuple, int], report: dict, sources: Mapping,
               figures: Figures, *, repo_id: str = DEFAULT_REPO_ID) -> None:
    """Write the card (``README.md``), ``LICENSE.md`` and the charts into the output folder.

    Called by :func:`mulco.writer.write_folder` after the Parquet files and ``build_report.json``
    are written, with the ``figures`` it counted from the tables it wrote.
    """
    folder = Path(folder)
    chart_counts(leaves, folder / CHART_COUNTS)
    chart_lengths(figures.lengths, folder / CHART_LENGTHS)
    (folder / "LICENSE.md").write_text(render_license(report, sources, figures.licenses), encoding="utf-8")
    card = render_card(config_entries, leaves, report, sources, folder, figures=figures, repo_id=repo_id)
    (folder / "README.md").write_text(card, encoding="utf-8")
