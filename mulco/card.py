"""The dataset card: YAML metadata generated from the build, body rendered from ``hub/card.md.jinja``."""
from __future__ import annotations

import collections
from importlib import resources
from pathlib import Path

import yaml

from . import record as rec_mod
from . import sources as registry
from . import taxonomy

TEMPLATE = "card.md.jinja"


def _size_category(n: int) -> str:
    for limit, label in [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")]:
        if n < limit:
            return label
    return "10M<n<100M"


def card_metadata(config_entries: list[dict], leaves: dict[tuple, int], sources: dict) -> dict:
    total = sum(leaves.values())
    feats = [{"name": n, "dtype": f.dtype} for n, f in rec_mod.features().items()]
    licenses = sorted({registry.get(n).SPEC.license for n, r in sources.items() if r.status == "built"})
    return {
        "pretty_name": "MulCo",
        "license": "other",
        "license_name": "mixed-per-source",
        "license_details": "Each record carries the license of its source: " + ", ".join(licenses) if licenses else "",
        "language": ["en", "zh"],
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
                "dataset_size": sum(e["num_bytes"].values()),
            }
            for e in config_entries
        ],
    }


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


def render_card(config_entries: list[dict], leaves: dict[tuple, int], report: dict, sources: dict) -> str:
    import jinja2

    meta = card_metadata(config_entries, leaves, sources)
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    template = env.from_string(resources.files("mulco").joinpath("hub_files", TEMPLATE).read_text(encoding="utf-8"))
    specs = [registry.get(n).SPEC for n in sorted(sources)]
    body = template.render(
        counts=count_table(leaves),
        total=sum(leaves.values()),
        configs=[e["config_name"] for e in config_entries],
        specs=specs,
        source_results=report["sources"],
        schema=rec_mod.schema_text(),
    )
    head = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{head}---\n{body}"


def write_card(folder: Path, config_entries: list[dict], leaves: dict[tuple, int], report: dict, sources: dict) -> None:
    """Write the card (``README.md``) and anything it shows into the output folder."""
    (Path(folder) / "README.md").write_text(render_card(config_entries, leaves, report, sources), encoding="utf-8")


def read_card_yaml(path: Path) -> dict:
    text = Path(path).read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return {}
    end = text.index("\n---\n", 4)
    return yaml.safe_load(text[4:end]) or {}
