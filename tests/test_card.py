"""The dataset card: Hub-readable YAML that round-trips, configs that load, the body's tables,
examples, charts, quality summary, provenance and citations; byte-identical rebuilds."""
from __future__ import annotations

import collections
import json
import struct
from pathlib import Path

import pytest
import yaml

from mulco import card as card_mod
from mulco.build import BuildConfig, SourceResult, build
from mulco.hub import write_folder
from mulco.record import make_record

LEAVES = [  # task, subtask, lang, plang, target_plang
    ("code_generation", None, "en", "python", None),
    ("code_generation", None, "zh", "python", None),
    ("code_generation", None, "en", None, None),
    ("code_summarization", None, "en", "ruby", None),
    ("code_summarization", None, "zh", "go", None),
    ("code_search", "code_translation", "en", "java", "csharp"),
    ("code_search", "clone_detection", "zh", "java", None),
]
SPLITS = ("train", "validation", "test")
#: Report parts other steps add: the card shows them without knowing them in advance.
EXTRA = dict(dedup={"exact": {"dropped": 4, "clusters": 2, "size_histogram": {"2": 2}}, "near": {"threshold": 0.85}},
             future={"largest": [{"kept": "x"}], "n": 1},
             warnings=["NOT decontaminated: the decontamination step was turned off"],
             steps=[{"step": "exact_dedup", "records_in": 67, "dropped": 4, "flagged": 0,
                     "dropped_by_reason": {"exact duplicate": 4}, "dropped_by_source": {"codealpaca": 4}}],
             configs={"all": {"records_in": 67, "dropped": {"exact_dedup": 4}, "kept": 63}}, settings={"build": {"workers": 1}},
             reconciles=True)


def synthetic_records() -> list[tuple[str, dict]]:
    out = []
    for j, (task, sub, lang, plang, target) in enumerate(LEAVES):
        for i in range(9):
            instruction = ("写一个函数" if lang == "zh" else "Write a function") + f" number {i}"
            output = "```python\ndef f():\n    return %d\n```\n" % i if i % 4 == 0 else "x = %d | y\n" % i * (i * 40 + 1)
            r = make_record(source="codealpaca", source_id=f"leaf{j}.json:{i}", license="CC-BY-NC-4.0",
                            task=task, subtask=sub, lang=lang, plang=plang, target_plang=target,
                            instruction=instruction, input="code " * (i * 7), output=output)
            out.append((SPLITS[i % 3], r))
    return out


def report_for(source: SourceResult, raw_dir: Path, **extra) -> dict:
    return {"mulco_version": "0.1.0", "raw_dir": raw_dir.name, "translator": None,
            "sources": {source.name: source.summary()}, **extra}


def write_synthetic(out: Path, tmp: Path, **extra) -> Path:
    res = SourceResult("codealpaca", status="built", units_read=64, units_kept=63, units_quarantined=1,
                       records_made=66, records_kept=63)
    res.quarantine_reasons["bad JSON"] = 1
    res.records_skipped["zh_needs_translator"] = 3
    res.files = ["codealpaca/code_alpaca_2k.json"]
    raw = tmp / "raw"
    raw.mkdir(exist_ok=True)
    write_folder(synthetic_records(), out, report=report_for(res, raw, **extra), quarantine=[], sources={"codealpaca": res})
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("card")
    return write_synthetic(tmp / "out", tmp, **EXTRA)


def test_card_parses_with_DatasetCard_and_yaml_round_trips(built):
    from huggingface_hub import DatasetCard

    meta = card_mod.read_card_yaml(built / "README.md")
    card = DatasetCard.load(built / "README.md")
    assert card.data.to_dict() == meta
    assert yaml.safe_load(card.data.to_yaml()) == meta
    again = DatasetCard(str(card))
    assert again.data.to_dict() == meta and again.text == card.text
    assert yaml.safe_load(yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)) == meta


def test_metadata_says_what_the_hub_needs(built):
    meta = card_mod.read_card_yaml(built / "README.md")
    assert meta["pretty_name"] == "MulCo"
    assert meta["license"] == "other" and meta["license_name"] and meta["license_link"] == "LICENSE.md"
    assert (built / "LICENSE.md").is_file() and "CC-BY-NC-4.0" in (built / "LICENSE.md").read_text()
    assert meta["source_licenses"] == {"codealpaca": "CC-BY-NC-4.0"} and "CC-BY-NC-4.0" in meta["license_details"]
    assert meta["language"] == ["en", "zh"]
    assert meta["task_categories"] == ["text-generation"] and "code" in meta["tags"]
    assert meta["size_categories"] == ["n<1K"]
    defaults = [c["config_name"] for c in meta["configs"] if c.get("default")]
    assert defaults == ["all"]
    assert [c["config_name"] for c in meta["configs"]] == [d["config_name"] for d in meta["dataset_info"]]


def test_dataset_info_counts_match_the_parquet_files(built):
    import pyarrow.parquet as pq

    meta = card_mod.read_card_yaml(built / "README.md")
    info = {d["config_name"]: d for d in meta["dataset_info"]}
    for cfg in meta["configs"]:
        d = info[cfg["config_name"]]
        for df in cfg["data_files"]:
            n = sum(pq.ParquetFile(built / p).metadata.num_rows for p in df["path"])
            (split,) = [s for s in d["splits"] if s["name"] == df["split"]]
            assert split["num_examples"] == n, (cfg["config_name"], df["split"])
        size = sum((built / p).stat().st_size for df in cfg["data_files"] for p in df["path"])
        assert d["download_size"] == size
        assert [f["name"] for f in d["features"]][:4] == ["id", "instruction", "input", "output"]
    assert sum(s["num_examples"] for s in info["all"]["splits"]) == 63


def test_every_config_in_the_card_loads_with_load_dataset(built):
    import datasets

    meta = card_mod.read_card_yaml(built / "README.md")
    info = {d["config_name"]: {s["name"]: s["num_examples"] for s in d["splits"]} for d in meta["dataset_info"]}
    assert len(meta["configs"]) > 20
    for cfg in meta["configs"]:
        name = cfg["config_name"]
        ds = datasets.load_dataset(str(built), name)
        assert {s: len(ds[s]) for s in ds} == info[name], name
    # the card's snippets: streaming and filtering by plang
    stream = datasets.load_dataset(str(built), "en", split="train", streaming=True)
    assert all(r["lang"] == "en" for r in stream)
    py = datasets.load_dataset(str(built), "code_generation.en", split="train").filter(lambda r: r["plang"] == "python")
    assert len(py) == 3 and set(py["plang"]) == {"python"}


def test_body_has_every_section(built):
    text = (built / "README.md").read_text(encoding="utf-8")
    for heading in ("## Load it", "## Tasks", "## Records", "## Examples", "## Record schema", "## Quality report",
                    "## Sources, provenance and licenses", "## Citation"):
        assert f"\n{heading}\n" in text, heading
    assert 'load_dataset("collama/mulco", "code_generation.en")' in text
    assert "streaming=True" in text and 'r["plang"] == "python"' in text
    for sub in ("clone_detection", "defect_detection", "cloze_test", "code_completion", "code_repair",
                "code_translation", "query_to_code"):
        assert f"`{sub}`" in text
    assert "(build_report.json)" in text and "(quarantine.jsonl)" in text and "(record.schema.json)" in text
    assert "![Records per task" in text and "(assets/records.png)" in text and "(assets/lengths.png)" in text
    assert "Hu2023CoLLaMA" in text and "CoLLaMA: A Multilingual Instruction Dataset and Large Language Model for Code" in text
    assert "@misc{codealpaca" in text and "https://github.com/sahil280114/codealpaca" in text
    assert "`dedup.exact.dropped` | 4" in text and "`dedup.near.threshold` | 0.85" in text
    assert "largest" not in text and "`configs." not in text and "`settings." not in text
    assert "> **Warning:** NOT decontaminated" in text and "| exact_dedup | 67 | 4 | 0 |" in text
    assert "Every count reconciles: **yes**" in text
    assert "3 Chinese records that need an English text translated were skipped" in text
    assert "| codealpaca | 64 | 63 | 1 | 66 | 3 | 0 | 63 |" in text
    assert "| quarantined | bad JSON | 1 |" in text


def test_record_tables_add_up(built):
    text = (built / "README.md").read_text(encoding="utf-8")
    rows = [line.split("|")[1:-1] for line in text.splitlines() if line.startswith("| code_")]
    per_task_lang = [r for r in rows if len(r) == 7]
    per_plang = [r for r in rows if len(r) == 8]
    assert sum(int(r[-1]) for r in per_task_lang) == sum(int(r[-1]) for r in per_plang) == 63
    assert len(per_task_lang) == 6 and len(per_plang) == len(LEAVES)  # en code_generation: 2 plangs, 1 row
    for r in per_plang:
        assert int(r[4]) + int(r[5]) + int(r[6]) == int(r[7])


def test_examples_are_the_smallest_id_of_each_subtask_and_language(built):
    import pyarrow.parquet as pq

    smallest: dict[tuple, str] = {}
    for p in (built / "data").rglob("*.parquet"):
        for r in pq.read_table(p).to_pylist():
            key = (r["task"], r["subtask"], r["lang"])
            smallest[key] = min(smallest.get(key, r["id"]), r["id"])
    text = (built / "README.md").read_text(encoding="utf-8")
    examples = text.split("## Examples", 1)[1].split("## Record schema", 1)[0]
    shown = [line for line in examples.splitlines() if line.startswith("<details><summary><b>")]
    assert len(shown) == len(smallest) == 6
    for (task, sub, lang), rid in smallest.items():
        title = task + (f" / {sub}" if sub else "") + f" · {lang}"
        assert f"<b>{title}</b> · <code>{rid}</code>" in examples, title


def test_examples_fence_backticks_and_cut_long_fields():
    assert card_mod.fence("no ticks") == "```"
    assert card_mod.fence("```python\nx\n```") == "````"
    assert card_mod.fence("a ````` b") == "``````"
    cut = card_mod._cut("x" * 1000, 700)
    assert cut.startswith("x" * 700) and cut.endswith("(300 more characters)")


def _png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, out = 8, []
    while pos < len(data):
        n = struct.unpack(">I", data[pos:pos + 4])[0]
        out.append(data[pos + 4:pos + 8])
        pos += 12 + n
    return out


def test_charts_are_pngs_without_software_or_time_metadata(built):
    for name in (card_mod.CHART_COUNTS, card_mod.CHART_LENGTHS):
        chunks = _png_chunks((built / name).read_bytes())
        assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND"
        assert b"tIME" not in chunks
        data = (built / name).read_bytes()
        assert b"Software" not in data and b"matplotlib" not in data.lower()


def test_rebuild_is_byte_identical(built, tmp_path):
    again = write_synthetic(tmp_path / "again", tmp_path, **EXTRA)
    names = sorted(p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(again).as_posix() for p in again.rglob("*") if p.is_file())
    for n in names:
        assert (built / n).read_bytes() == (again / n).read_bytes(), n


@pytest.mark.parametrize("report", [
    {},
    {"sources": {"codealpaca": {"status": "built"}}},
    {"sources": {"codealpaca": {"status": "built", "units_read": "many", "records_skipped": [1, 2],
                                "records_dropped": {"dedup": {"exact": 3}}}},
     "translator": None, "steps": [{"name": "dedup"}], "weird": object(), "nested": {"a": {"b": {"c": {"d": 1}}}}},
])
def test_quality_summary_copes_with_any_report(report):
    q = card_mod.quality_summary(report)
    assert isinstance(q["rows"], list) and isinstance(q["reasons"], list)
    res = SourceResult("codealpaca", status="built")
    text = card_mod.render_card([{"config_name": "all", "splits": {}, "num_examples": {}, "num_bytes": {}}], {},
                                report, {"codealpaca": res})
    assert "## Quality report" in text


def test_report_md_is_linked_when_the_build_writes_it(tmp_path):
    out = write_synthetic(tmp_path / "out", tmp_path)
    (out / "build_report.md").unlink(missing_ok=True)
    text = card_mod.render_card([], {}, json.loads((out / "build_report.json").read_text()),
                                {"codealpaca": SourceResult("codealpaca", status="built")}, out)
    assert "(build_report.md)" not in text
    (out / "build_report.md").write_text("# report\n")
    text = card_mod.render_card([], {}, json.loads((out / "build_report.json").read_text()),
                                {"codealpaca": SourceResult("codealpaca", status="built")}, out)
    assert "[readable version](build_report.md)" in text


def test_card_of_a_real_build_cites_and_licenses_its_sources(shared_raw, tmp_path):
    """CodeAlpaca from the shared raw slice, through the real converter."""
    if not (shared_raw / "codealpaca").is_dir():
        pytest.skip("no codealpaca in the shared slice")
    res = build(BuildConfig(raw_dir=shared_raw, sources=["codealpaca"], out=tmp_path / "out", progress=False))
    text = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    meta = card_mod.read_card_yaml(tmp_path / "out" / "README.md")
    assert meta["source_licenses"] == {"codealpaca": "CC-BY-NC-4.0"}
    assert "codealpaca/code_alpaca_2k.json" in text and "@misc{codealpaca" in text
    total = sum(res.leaves.values())
    assert f"**{total:,} records**" in text
    counts = collections.Counter(k[2] for k in res.leaves)
    assert set(counts) == {"en"}
