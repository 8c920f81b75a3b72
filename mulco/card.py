"""The dataset card: YAML metadata generated from the build, body rendered from ``hub/card.md.jinja``.

:func:`write_card` writes, into the Hub folder being built:

* ``README.md``: the card (``configs:`` and ``dataset_info`` for every config, licenses, the
  record tables, examples, the quality summary, provenance and citations);
* ``LICENSE.md``: the license of every source (the card says ``license: other`` and links it);
* ``assets/records.png`` and ``assets/lengths.png``: charts of the counts and of the lengths.

Everything is a function of the built folder and the report, so a rebuild writes the same bytes
(the charts too: fixed font, size and dpi, no timestamp or software tag in the PNG).
"""
from __future__ import annotations

import collections
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from . import record as rec_mod
from . import sources as registry
from . import taxonomy
from .sources.base import SPLITS

TEMPLATE = "card.md.jinja"
LICENSE_TEMPLATE = "LICENSE.md.jinja"
ASSETS = "assets"
CHART_COUNTS = f"{ASSETS}/records.png"
CHART_LENGTHS = f"{ASSETS}/lengths.png"
#: Characters of a field shown in an example record before it is cut.
EXAMPLE_CHARS = 700
REPO_ID = "collama/mulco"

#: The seed of this project (the CoLLaMA README's own citation).
SEED_CITATION = (
    "@misc{Hu2023CoLLaMA,\n"
    "  title = {CoLLaMA: A Multilingual Instruction Dataset and Large Language Model for Code},\n"
    "  author = {Gang Hu and Xi Wen and Xin Liu and Jimin Huang and Qianqian Xie},\n"
    "  year = {2023}\n"
    "}"
)

TASK_DESCRIPTIONS: Mapping[str, str] = {
    "code_generation": "write code from a natural-language description",
    "code_summarization": "describe in natural language what a piece of code does",
    "code_search": "judge, find or change code given code or a query (the subtasks below)",
}
SUBTASK_DESCRIPTIONS: Mapping[str, str] = {
    "clone_detection": "are two code fragments semantically equivalent?",
    "defect_detection": "does a function contain a defect (e.g. a vulnerability)?",
    "cloze_test": "fill in the masked token of a code fragment",
    "code_completion": "complete the next line of code",
    "code_repair": "fix a buggy method",
    "code_translation": "translate code from one programming language to another",
    "query_to_code": "which code fragment answers a natural-language question?",
}

#: Report keys the card shows in their own way; other keys are summarised generically.
_KNOWN_REPORT_KEYS = {"mulco_version", "raw_dir", "translator", "sources", "leaves", "warnings", "steps", "totals",
                      "reconciles"}
#: Report keys too detailed for the card (they stay in build_report.json / .md).
_SKIPPED_REPORT_KEYS = {"configs", "settings"}


# --------------------------------------------------------------------------------------------
# YAML metadata


def _size_category(n: int) -> str:
    for limit, label in [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")]:
        if n < limit:
            return label
    return "10M<n<100M"


def _built(report: dict, sources: Mapping) -> list[str]:
    """Names of the sources that produced data, sorted."""
    out = []
    for name in sorted(sources):
        status = (report.get("sources", {}).get(name) or {}).get("status")
        if status is None:
            status = getattr(sources[name], "status", None)
        if status == "built":
            out.append(name)
    return out


def source_licenses(names: Iterable[str], found: Mapping[str, list[str]] | None = None) -> dict[str, str]:
    """License(s) per source: those its records carry where known, else its spec's."""
    out = {}
    for n in sorted(names):
        lic = list((found or {}).get(n) or [registry.get(n).SPEC.license])
        out[n] = ", ".join(lic)
    return out


def card_metadata(config_entries: list[dict], leaves: dict[tuple, int], sources: Mapping, report: dict | None = None,
                  folder: Path | None = None, found_licenses: Mapping[str, list[str]] | None = None) -> dict:
    """The card's YAML. With ``folder``, ``download_size`` (bytes of the Parquet files) is filled in."""
    total = sum(leaves.values())

    def download_size(e: dict) -> dict:
        if folder is None:
            return {}
        return {"download_size": sum((Path(folder) / f).stat().st_size for fs in e["splits"].values() for f in fs)}

    feats = [{"name": n, "dtype": t} for n, t in rec_mod.dtypes().items()]
    licenses = source_licenses(_built(report or {}, sources), found_licenses)
    distinct = sorted({x.strip() for v in licenses.values() for x in v.split(",")})
    return {
        "pretty_name": "MulCo",
        "license": "other",
        "license_name": "mulco-per-source-licenses",
        "license_link": "LICENSE.md",
        "license_details": (
            "Each record keeps the license of the source it was made from (field `license`): "
            + ", ".join(distinct) + ". See LICENSE.md."
        ) if distinct else "No source built.",
        "source_licenses": licenses,
        "language": ["en", "zh"],
        "multilinguality": ["multilingual"],
        "task_categories": ["text-generation"],
        "tags": ["code", "instruction-tuning", "code-generation", "code-summarization", "code-search", "bilingual"],
        "size_categories": [_size_category(total)],
        "configs": [
            {
                "config_name": e["config_name"],
                **({"default": True} if e["config_name"] == taxonomy.DEFAULT_CONFIG else {}),
                "data_files": [{"split": s, "path": files} for s, files in e["splits"].items()],
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
    }


# --------------------------------------------------------------------------------------------
# Tables


def count_table(leaves: dict[tuple, int]) -> list[dict]:
    """Rows of task × subtask × lang × plang with counts per split, sorted."""
    rows: dict[tuple, collections.Counter] = collections.defaultdict(collections.Counter)
    for (task, subtask, lang, plang, split), n in leaves.items():
        rows[(task, subtask or "", lang, plang or "-")][split] += n
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
# Reading the written Parquet files: examples and lengths


def _parquet_files(folder: Path) -> list[Path]:
    return sorted((folder / "data").rglob("*.parquet"), key=lambda p: p.relative_to(folder).as_posix())


@dataclass
class Scan:
    """What the card reads from the written Parquet files."""

    #: (task, subtask, lang) -> the record with the smallest id (the same on every rebuild).
    examples: dict[tuple, dict] = field(default_factory=dict)
    #: task -> {"prompt": [chars of instruction + input], "output": [chars of output]}.
    lengths: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    #: source -> licenses its records carry.
    licenses: dict[str, list[str]] = field(default_factory=dict)


def scan_records(folder: Path) -> Scan:
    """One pass over the Parquet files of ``folder``: examples, lengths and licenses."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    examples: dict[tuple, dict] = {}
    lengths: dict[str, dict[str, list[int]]] = collections.defaultdict(lambda: {"prompt": [], "output": []})
    licenses: dict[str, set] = collections.defaultdict(set)
    for path in _parquet_files(folder):
        table = pq.read_table(path)
        if table.num_rows == 0:
            continue
        prompt = pc.add(pc.utf8_length(table["instruction"]), pc.utf8_length(table["input"])).to_pylist()
        output = pc.utf8_length(table["output"]).to_pylist()
        tasks = table["task"].to_pylist()
        for t, p, o in zip(tasks, prompt, output):
            lengths[t]["prompt"].append(p)
            lengths[t]["output"].append(o)
        pairs = pc.unique(pc.binary_join_element_wise(table["source"], table["license"], "\x1f")).to_pylist()
        for pair in pairs:
            src, lic = pair.split("\x1f", 1)
            licenses[src].add(lic)
        ids = table["id"].to_pylist()
        subs = table["subtask"].to_pylist()
        langs = table["lang"].to_pylist()
        best: dict[tuple, int] = {}
        for i, key in enumerate(zip(tasks, subs, langs)):
            if key not in best or ids[i] < ids[best[key]]:
                best[key] = i
        for key, i in best.items():
            if key not in examples or ids[i] < examples[key]["id"]:
                examples[key] = table.slice(i, 1).to_pylist()[0]
    return Scan(examples, dict(lengths), {k: sorted(v) for k, v in sorted(licenses.items())})


def example_rows(examples: dict[tuple, dict]) -> list[dict]:
    order = _task_order()
    out = []
    for key in sorted(examples, key=lambda k: (order.get((k[0], k[1]), 99), k[0], k[1] or "", k[2])):
        r = examples[key]
        out.append({
            "title": (key[0] + (f" / {key[1]}" if key[1] else "")) + f" · {key[2]}",
            "record": r,
            "fields": [(f, _cut(r[f].rstrip("\n"))) for f in ("instruction", "input", "output") if r.get(f)],
        })
    return out


def _cut(text: str, n: int = EXAMPLE_CHARS) -> str:
    if len(text) <= n:
        return text
    return text[:n] + f"\n… ({len(text) - n:,} more characters)"


def fence(text: str) -> str:
    """A Markdown code fence longer than any backtick run in ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


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


def _save_png(fig, path: Path) -> None:
    """Deterministic PNG: no Software/date metadata; fixed dpi."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=100, metadata={"Software": None})


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
    import numpy as np

    by_task: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    by_plang: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    order = _task_order()
    task_keys = sorted({(k[0], k[1]) for k in leaves}, key=lambda k: (order.get(k, 99), k[0], k[1] or ""))
    for (task, sub, lang, plang, _split), n in leaves.items():
        by_task[task + (f".{sub}" if sub else "")][lang] += n
        by_plang[plang or "(none)"][lang] += n
    tasks = [t + (f".{s}" if s else "") for t, s in task_keys]
    plangs = sorted(by_plang, key=lambda p: (p == "(none)", p))
    with _chart_style():
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
        _save_png(fig, path)


def chart_lengths(lengths: dict[str, dict[str, list[int]]], path: Path) -> None:
    """Histograms of prompt (instruction + input) and output length in characters, per task."""
    import numpy as np

    tasks = [t for t in taxonomy.TASKS if t in lengths] + sorted(set(lengths) - set(taxonomy.TASKS))
    hi = max((max(v["prompt"] + v["output"], default=1) for v in lengths.values()), default=1)
    bins = np.logspace(0, max(1.0, np.ceil(np.log10(max(hi, 10)))), 41)
    with _chart_style():
        fig = _figure(10, 3.6)
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
                ax.legend(loc="upper left", frameon=False, fontsize=8)
        fig.tight_layout()
        _save_png(fig, path)


# --------------------------------------------------------------------------------------------
# Quality summary (defensive: the report grows as steps are added)


def _num(x) -> int:
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, (int, float)):
        return int(x)
    if isinstance(x, Mapping):
        return sum(_num(v) for v in x.values())
    return 0


def quality_summary(report: dict) -> dict:
    """Totals, per-source rows, reasons and any further counts found in ``report``."""
    rows, reasons = [], collections.Counter()
    totals = collections.Counter()
    for name, s in sorted((report.get("sources") or {}).items()):
        s = s if isinstance(s, Mapping) else {}
        row = {
            "source": name,
            "status": s.get("status", "?"),
            "units_read": _num(s.get("units_read", 0)),
            "units_kept": _num(s.get("units_kept", 0)),
            "units_quarantined": _num(s.get("units_quarantined", 0)),
            "records_made": _num(s.get("records_made", 0)),
            "records_skipped": _num(s.get("records_skipped", 0)),
            "records_dropped": _num(s.get("records_dropped", 0)),
            "records_kept": _num(s.get("records_kept", 0)),
            "reconciles": s.get("reconciles"),
        }
        rows.append(row)
        for k in ("units_read", "units_kept", "units_quarantined", "records_made", "records_skipped",
                  "records_dropped", "records_kept"):
            totals[k] += row[k]
        for what, key in (("quarantined", "quarantine_reasons"), ("skipped", "records_skipped"),
                          ("dropped", "records_dropped")):
            val = s.get(key)
            if isinstance(val, Mapping):
                for reason, n in val.items():
                    reasons[(what, str(reason))] += _num(n)
    extra = []
    for key in sorted(k for k in report if k not in _KNOWN_REPORT_KEYS | _SKIPPED_REPORT_KEYS):
        extra.extend(_flatten(key, report[key]))
    steps = []
    for st in report.get("steps") or []:
        if isinstance(st, Mapping):
            steps.append({"step": str(st.get("step", st.get("name", "?"))), "records_in": _num(st.get("records_in", 0)),
                          "dropped": _num(st.get("dropped", 0)), "flagged": _num(st.get("flagged", 0))})
    warnings = [str(w) for w in (report.get("warnings") or []) if isinstance(w, (str, int, float))]
    zh_skipped = sum(n for (what, reason), n in reasons.items() if what == "skipped" and "translat" in reason)
    return {
        "totals": dict(totals),
        "rows": rows,
        "reasons": [{"what": w, "reason": r, "count": n} for (w, r), n in sorted(reasons.items())],
        "extra": extra[:60],
        "extra_more": max(0, len(extra) - 60),
        "steps": steps,
        "warnings": warnings,
        "reconciles": report.get("reconciles") if isinstance(report.get("reconciles"), bool) else
        (all(r["reconciles"] for r in rows if r["reconciles"] is not None) if rows else None),
        "translator": report.get("translator"),
        "zh_skipped": zh_skipped,
        "mulco_version": report.get("mulco_version", "?"),
        "raw_dir": report.get("raw_dir", "?"),
    }


def _flatten(prefix: str, value: Any, depth: int = 0) -> list[tuple[str, str]]:
    """Scalar counts under an unknown report key, as (dotted key, value) pairs."""
    if isinstance(value, bool) or value is None:
        return [(prefix, str(value).lower())]
    if isinstance(value, (int, float)):
        return [(prefix, f"{value:,}" if isinstance(value, int) else f"{value:g}")]
    if isinstance(value, str):
        return [(prefix, value if len(value) <= 80 else value[:80] + "…")]
    if isinstance(value, Mapping):
        if depth >= 2:
            return []
        out = []
        for k in sorted(value, key=str):
            out.extend(_flatten(f"{prefix}.{k}", value[k], depth + 1))
        return out
    return []  # lists and other objects: see build_report.json


# --------------------------------------------------------------------------------------------
# Rendering


def _source_rows(report: dict, sources: Mapping, found: Mapping[str, list[str]] | None = None) -> list[dict]:
    out = []
    for name in sorted(sources):
        spec = registry.get(name).SPEC
        s = (report.get("sources") or {}).get(name) or {}
        out.append({
            "name": name, "title": spec.title, "url": spec.url,
            "license": ", ".join((found or {}).get(name) or [spec.license]),
            "license_url": spec.license_url, "citation": spec.citation, "status": s.get("status", "?"),
            "files": list(s.get("files") or []), "message": s.get("message", ""),
            "produces": [t + (f".{st}" if st else "") for t, st in spec.produces],
        })
    return out


def _env():
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False,
                             trim_blocks=False, lstrip_blocks=False)
    env.filters["n"] = lambda v: f"{v:,}" if isinstance(v, int) else str(v)
    env.filters["fence"] = fence
    env.filters["cell"] = lambda v: str(v).replace("|", "\\|").replace("\n", " ")
    return env


def _template(name: str) -> str:
    return resources.files("mulco").joinpath("hub_files", name).read_text(encoding="utf-8")


def render_card(config_entries: list[dict], leaves: dict[tuple, int], report: dict, sources: Mapping,
                folder: Path | None = None, *, scan: Scan | None = None, repo_id: str = REPO_ID) -> str:
    """The whole README.md. With ``folder`` the examples and licenses are read from its Parquet
    files (unless ``scan`` is given) and the charts and the download sizes are referenced."""
    if scan is None:
        scan = scan_records(folder) if folder is not None else Scan()
    meta = card_metadata(config_entries, leaves, sources, report, folder, scan.licenses)
    examples = example_rows(scan.examples)
    configs = [e["config_name"] for e in config_entries]
    specs = _source_rows(report, sources, scan.licenses)
    body = _env().from_string(_template(TEMPLATE)).render(
        repo_id=repo_id,
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
        licenses=sorted({x.strip() for s in specs if s["status"] == "built" for x in s["license"].split(",")}),
        schema=rec_mod.schema_text().rstrip("\n"),
        schema_props=_schema_props(),
    )
    head = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{head}---\n{body}"


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
    return _env().from_string(_template(LICENSE_TEMPLATE)).render(specs=_source_rows(report, sources, found))


def write_card(folder: Path, config_entries: list[dict], leaves: dict[tuple, int], report: dict, sources: Mapping) -> None:
    """Write the card (``README.md``), ``LICENSE.md`` and the charts into the output folder.

    Called by :func:`mulco.hub.write_folder` after the Parquet files and ``build_report.json``
    are written (the examples and the length chart are read from the Parquet files).
    """
    folder = Path(folder)
    scan = scan_records(folder)
    chart_counts(leaves, folder / CHART_COUNTS)
    chart_lengths(scan.lengths, folder / CHART_LENGTHS)
    (folder / "LICENSE.md").write_text(render_license(report, sources, scan.licenses), encoding="utf-8")
    card = render_card(config_entries, leaves, report, sources, folder, scan=scan)
    (folder / "README.md").write_text(card, encoding="utf-8")


def read_card_yaml(path: Path) -> dict:
    text = Path(path).read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return {}
    end = text.index("\n---\n", 4)
    return yaml.safe_load(text[4:end]) or {}
