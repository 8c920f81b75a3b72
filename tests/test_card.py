"""The dataset card: Hub-readable YAML that round-trips, configs (data_files globs) that load
exactly the files the build wrote, the body's tables, examples, charts, quality summary,
limitations, provenance and citations, the repo id it is rendered for; byte-identical rebuilds."""
from __future__ import annotations

import collections
import hashlib
import json
import shutil
import struct
from pathlib import Path

import pytest
import yaml

from mulco import card as card_mod
from mulco import taxonomy
from mulco.build import BuildConfig, SourceResult, build
from mulco.hub import data_file_patterns, resolve_data_files
from mulco.record import make_record
from mulco.textio import fence_ticks
from mulco.writer import write_folder

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
EXTRA = dict(dedup={"exact": {"clusters": 2, "records_in_clusters": 6, "size_histogram": {"2": 1, "4": 1},
                              "largest": [], "dropped": 4},
                    "near": {"threshold": 0.85, "ngram": 5, "clusters": 0, "records_in_clusters": 0, "dropped": 0}},
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


def report_for_sources(sources: dict[str, SourceResult]) -> dict:
    """The report a build writes for these sources, before any quality step."""
    return {"mulco_version": "0.1.0", "raw_dir": "raw", "translator": None, "reconciles": True,
            "sources": {n: s.summary() for n, s in sources.items()}}


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


#: Keys of a dataset card's YAML that the Hub knows (huggingface_hub's DatasetCardData and the
#: Hub's dataset-card spec); nothing else may appear.
HUB_KEYS = {"pretty_name", "license", "license_name", "license_link", "language", "multilinguality", "source_datasets",
            "task_categories", "task_ids", "tags", "size_categories", "configs", "dataset_info", "annotations_creators",
            "language_creators", "paperswithcode_id", "train-eval-index", "viewer"}


def test_metadata_says_what_the_hub_needs(built):
    meta = card_mod.read_card_yaml(built / "README.md")
    assert set(meta) <= HUB_KEYS, set(meta) - HUB_KEYS
    assert meta["pretty_name"] == "MulCo"
    assert meta["license"] == ["cc-by-nc-4.0"] and "license_name" not in meta  # a Hub id: no `other`
    assert (built / "LICENSE.md").is_file() and "CC-BY-NC-4.0" in (built / "LICENSE.md").read_text()
    assert meta["language"] == ["en", "zh", "code"] and meta["multilinguality"] == ["multilingual"]
    assert meta["source_datasets"] == ["extended|sahil2801/CodeAlpaca-20k"]
    # the synthetic leaves: generation, summarization, translation and clone detection
    assert meta["task_categories"] == ["summarization", "text-classification", "text-generation", "translation"]
    assert meta["task_ids"] == ["semantic-similarity-classification"]
    assert "code" in meta["tags"]
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
        files = resolve_data_files(built, cfg)
        for split_name, paths in files.items():
            n = sum(pq.ParquetFile(built / p).metadata.num_rows for p in paths)
            (split,) = [s for s in d["splits"] if s["name"] == split_name]
            assert split["num_examples"] == n, (cfg["config_name"], split_name)
        size = sum((built / p).stat().st_size for paths in files.values() for p in paths)
        assert d["download_size"] == size
        assert [f["name"] for f in d["features"]][:4] == ["id", "instruction", "input", "output"]
    assert sum(s["num_examples"] for s in info["all"]["splits"]) == 63


def test_every_config_in_the_card_loads_with_load_dataset(built):
    import datasets

    meta = card_mod.read_card_yaml(built / "README.md")
    info = {d["config_name"]: {s["name"]: s["num_examples"] for s in d["splits"]} for d in meta["dataset_info"]}
    assert len(meta["configs"]) > 20
    import pyarrow.parquet as pq
    from datasets.data_files import DataFilesDict, sanitize_patterns

    shapes: dict[int, str] = {}  # the first config of each name shape (all, task, task.sub, ...) also loads
    for cfg in meta["configs"]:
        name = cfg["config_name"]
        files = DataFilesDict.from_patterns(sanitize_patterns(cfg["data_files"]), base_path=str(built))
        assert {s: sum(pq.ParquetFile(f).metadata.num_rows for f in fs) for s, fs in files.items()} == info[name], name
        shapes.setdefault(name.count("."), name)
    assert len(shapes) >= 3
    for name in shapes.values():
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
    for heading in ("## Links", "## Uses", "## Bias, risks and limitations", "## Personal and sensitive information"):
        assert f"\n{heading}\n" in text, heading
    assert "**Paper:** *CoLLaMA: A Multilingual Instruction Dataset and Large Language Model for Code*" in text
    assert "commercial use of the records of\nCodeAlpaca (a non-commercial license)" in text
    assert "streaming=True" in text and 'r["plang"] == "python"' in text
    for sub in ("clone_detection", "defect_detection", "cloze_test", "code_completion", "code_repair",
                "code_translation", "query_to_code"):
        assert f"`{sub}`" in text
    assert "(build_report.json)" in text and "(quarantine.jsonl)" in text and "(record.schema.json)" in text
    assert "![Records per task" in text and "(assets/records.png)" in text and "(assets/lengths.png)" in text
    assert "Hu2023CoLLaMA" in text and "CoLLaMA: A Multilingual Instruction Dataset and Large Language Model for Code" in text
    assert "@misc{codealpaca" in text and "https://github.com/sahil280114/codealpaca" in text
    # what the steps found, in sentences (no dump of report keys)
    assert "- Exact duplicates: 2 clusters holding 6 records; 4 dropped" in text
    assert "Jaccard similarity ≥ 0.85" in text
    assert "largest" not in text and "`configs." not in text and "`settings." not in text and "`dedup." not in text
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
    assert fence_ticks("no ticks") == "```"
    assert fence_ticks("```python\nx\n```") == "````"
    assert fence_ticks("a ````` b") == "``````"
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


def test_rebuild_is_byte_identical(built, tmp_path, monkeypatch):
    monkeypatch.setattr(card_mod, "_PNG_MEMO", collections.OrderedDict())  # the charts are drawn again
    monkeypatch.setenv("MULCO_CACHE_DIR", "off")
    again = write_synthetic(tmp_path / "again", tmp_path, **EXTRA)
    names = sorted(p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(again).as_posix() for p in again.rglob("*") if p.is_file())
    for n in names:
        assert (built / n).read_bytes() == (again / n).read_bytes(), n


def test_a_chart_is_drawn_once_per_data_kept_in_the_process_and_on_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(card_mod, "_PNG_MEMO", collections.OrderedDict())
    monkeypatch.setenv("MULCO_CACHE_DIR", str(tmp_path / "cache"))
    drawn = []
    real = card_mod.counts_figure
    monkeypatch.setattr(card_mod, "counts_figure", lambda leaves: drawn.append(1) or real(leaves))
    a = {("code_search", "clone_detection", "en", "java", "train"): 3}
    b = {("code_search", "clone_detection", "en", "java", "train"): 4}
    card_mod.chart_counts(a, tmp_path / "a1.png")
    card_mod.chart_counts(dict(a), tmp_path / "a2.png")
    card_mod.chart_counts(b, tmp_path / "b.png")
    assert len(drawn) == 2
    assert (tmp_path / "a1.png").read_bytes() == (tmp_path / "a2.png").read_bytes() != (tmp_path / "b.png").read_bytes()
    assert len(list((tmp_path / "cache" / "charts").glob("*.png"))) == 2
    monkeypatch.setattr(card_mod, "_PNG_MEMO", collections.OrderedDict())  # a later run: from the disk
    card_mod.chart_counts(a, tmp_path / "a3.png")
    assert len(drawn) == 2 and (tmp_path / "a3.png").read_bytes() == (tmp_path / "a1.png").read_bytes()
    for bad in (tmp_path / "cache" / "charts").glob("*.png"):  # a damaged file is drawn again
        bad.write_bytes(bad.read_bytes()[:100])
    monkeypatch.setattr(card_mod, "_PNG_MEMO", collections.OrderedDict())
    card_mod.chart_counts(a, tmp_path / "a4.png")
    assert len(drawn) == 3 and (tmp_path / "a4.png").read_bytes() == (tmp_path / "a1.png").read_bytes()
    monkeypatch.setenv("MULCO_CACHE_DIR", "off")  # no cache: drawn again, the same bytes
    monkeypatch.setattr(card_mod, "_PNG_MEMO", collections.OrderedDict())
    card_mod.chart_counts(a, tmp_path / "a5.png")
    assert len(drawn) == 4 and (tmp_path / "a5.png").read_bytes() == (tmp_path / "a1.png").read_bytes()
    (tmp_path / "ro").write_text("a file where the cache folder would be")
    monkeypatch.setenv("MULCO_CACHE_DIR", str(tmp_path / "ro"))  # a cache that cannot be written is skipped
    card_mod.chart_counts(b, tmp_path / "b2.png")
    assert (tmp_path / "b2.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_the_writer_hands_the_card_its_figures_without_reading_the_parquet_back(tmp_path, monkeypatch):
    """The card renders what the writer counted from the tables it wrote: no Parquet file is read
    while a folder is written, and the figures equal those counted from the files afterwards."""
    import pyarrow.parquet as pq

    from mulco import figures

    seen = []
    real_write_card = card_mod.write_card

    def spy(*args, **kw):
        seen.append(args[5])
        return real_write_card(*args, **kw)

    def no_reading(*_a, **_k):
        raise AssertionError("the writer read a Parquet file back")

    with monkeypatch.context() as m:
        m.setattr(card_mod, "write_card", spy)
        for name in ("read_table", "ParquetFile", "ParquetDataset"):
            m.setattr(pq, name, no_reading)
        out = write_synthetic(tmp_path / "out", tmp_path, **EXTRA)
    (handed,) = seen
    assert handed == figures.of_folder(out)
    assert sum(len(v["prompt"]) for v in handed.lengths.values()) == 63
    assert handed.licenses == {"codealpaca": ["CC-BY-NC-4.0"]} and len(handed.examples) == 6


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


def test_card_of_a_real_build_cites_licenses_and_traces_its_sources(shared_raw, tmp_path):
    """CodeAlpaca from the shared raw slice, through the real converter: only its license, its
    language, its citation; its raw file traced by sha256, and no claim that it was downloaded."""
    if not (shared_raw / "codealpaca").is_dir():
        pytest.skip("no codealpaca in the shared slice")
    res = build(BuildConfig(raw_dir=shared_raw, sources=["codealpaca"], out=tmp_path / "out", progress=False))
    text = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    meta = card_mod.read_card_yaml(tmp_path / "out" / "README.md")
    assert meta["license"] == ["cc-by-nc-4.0"]
    assert meta["language"] == ["en", "code"] and meta["multilinguality"] == ["monolingual"]
    assert meta["task_categories"] == ["text-generation"] and "task_ids" not in meta  # none for generation
    total = sum(res.leaves.values())
    assert f"**{total:,} records**" in text
    assert set(k[2] for k in res.leaves) == {"en"}
    # citations: the seed and CodeAlpaca, labelled; no source that is not in the build
    cites = text.split("## Citation", 1)[1]
    assert "@misc{Hu2023CoLLaMA" in cites and "**CodeAlpaca**\n\n```bibtex\n@misc{codealpaca" in cites
    assert "lu2021codexglue" not in cites and "husain2019codesearchnet" not in cites
    # provenance: the file read, its sha256, and an honest check (the slice is not in downloads.json)
    raw = shared_raw / "codealpaca" / "code_alpaca_2k.json"
    sha = hashlib.sha256(raw.read_bytes()).hexdigest()
    prov = json.loads((tmp_path / "out" / "build_report.json").read_text())["provenance"]
    assert prov == {"codealpaca": [{"path": "codealpaca/code_alpaca_2k.json", "size": raw.stat().st_size, "sha256": sha,
                                    "check": "unchecked"}]}
    assert f"| `codealpaca/code_alpaca_2k.json` | {raw.stat().st_size:,} | `{sha}` | not in `downloads.json` | unchecked |" in text
    assert "sha256-checked" not in text and "download-lock" not in text
    # limitations computed from the build: the nine sources not in it are named
    limits = text.split("## Bias, risks and limitations", 1)[1].split("\n## ", 1)[0]
    assert "**Sources missing from this build** (9 of 10)" in limits and "(`devign`, not requested;" in limits


def test_provenance_says_what_the_download_lock_and_the_pins_show(sample_raw, tmp_path):
    """A file `mulco download` recorded (lock file) is reported as such; a changed one is not; a
    file whose pin (git blob) does not match is `not-original`, whatever the lock says."""
    from mulco.report import provenance

    raw = tmp_path / "raw"
    shutil.copytree(sample_raw, raw)
    alpaca = "codealpaca/code_alpaca_20k.json"  # in downloads.json, not pinned
    codepro = "codepro/data_hnn/python_hnn_qid2index_blocks_labeled.txt"  # pinned by git blob: the sample is a slice
    sha = hashlib.sha256((raw / alpaca).read_bytes()).hexdigest()
    lock = {"format": 1, "files": {alpaca: {"sha256": sha, "size": 1, "verified_by": "trust-on-first-use"},
                                   codepro: {"sha256": hashlib.sha256((raw / codepro).read_bytes()).hexdigest()}}}
    (raw / "mulco-download.lock.json").write_text(json.dumps(lock))
    res = {"codealpaca": SourceResult("codealpaca", status="built", files=[alpaca]),
           "codepro": SourceResult("codepro", status="built", files=[codepro])}
    prov = provenance(raw, res)
    (a,) = prov["codealpaca"]
    assert a["check"] == "download-lock" and a["download"] == "trust-on-first-use" and a["sha256"] == sha
    assert a["url"].startswith("https://github.com/sahil280114/codealpaca/raw/2f78ddc5c682ed6738ad092bbbfa59ba915afcb0/")
    (c,) = prov["codepro"]
    assert c["check"] == "not-original" and "95a2ee58e455c4e11a0fb1e09323b5cb36de49af" in c["url"]
    from mulco.report import render_markdown

    md = render_markdown({"provenance": prov}).split("## Provenance", 1)[1]
    assert f"| codealpaca | `{alpaca}` | {a['size']:,} | `{sha}` | {a['url']} | download-lock |" in md
    assert "- `not-original`: differs from the original pinned" in md
    (raw / alpaca).write_text("[]")  # changed after the download recorded it
    assert provenance(raw, res)["codealpaca"][0]["check"] == "lock-mismatch"
    (raw / "mulco-download.lock.json").unlink()
    assert provenance(raw, res)["codealpaca"][0]["check"] == "unchecked"
    (raw / alpaca).unlink()  # reported by the source, gone before it could be hashed: said, not skipped
    gone = provenance(raw, res)["codealpaca"][0]
    assert gone["check"] == "unreadable" and gone["error"].startswith("FileNotFoundError")


# --------------------------------------------------------------------------------------------
# The bundled sample, built once: every config's globs, the repo id, what the body computes


@pytest.fixture(scope="session")
def sample_builds(tmp_path_factory, sample_raw):
    """The bundled sample built for the default repo and for alice/my-mulco."""
    base = tmp_path_factory.mktemp("sample_card")
    default = build(BuildConfig(out=base / "default", progress=False))
    alice = build(BuildConfig(out=base / "alice", progress=False, repo_id="alice/my-mulco"))
    return default, alice


def _expected_files(report: dict, name: str) -> dict[str, list[str]]:
    """Split -> the Parquet files the build wrote for the records config ``name`` selects."""
    sel = taxonomy.parse(name)
    out: dict[str, list[str]] = {}
    for leaf in report["leaves"]:
        if sel.matches(leaf["task"], leaf["subtask"], leaf["lang"], leaf["plang"]):
            out.setdefault(leaf["split"], []).extend(leaf["files"])
    return {s: sorted(f) for s, f in out.items()}


def _expected_rows(report: dict, name: str) -> dict[str, int]:
    sel = taxonomy.parse(name)
    out: collections.Counter = collections.Counter()
    for leaf in report["leaves"]:
        if sel.matches(leaf["task"], leaf["subtask"], leaf["lang"], leaf["plang"]):
            out[leaf["split"]] += leaf["records"]
    return dict(out)


def test_every_config_glob_resolves_to_exactly_its_files_and_loads(sample_builds):
    """datasets' own data-files resolution of every config's globs gives exactly the Parquet files
    the build wrote for that config and split (never a sibling's or a child config's), with the
    rows the build wrote; a handful of configs load with load_dataset from the glob card (every
    config loads in tests/test_build.py's slow test)."""
    import datasets
    import pyarrow.parquet as pq
    from datasets.data_files import DataFilesDict, sanitize_patterns

    out = sample_builds[0].out
    meta = card_mod.read_card_yaml(out / "README.md")
    report = json.loads((out / "build_report.json").read_text())
    names = [c["config_name"] for c in meta["configs"]]
    assert names == sample_builds[0].configs and len(names) > 90  # 99 (125 with --zh-twins all)
    for cfg in meta["configs"]:
        name = cfg["config_name"]
        paths = [p for df in cfg["data_files"] for p in ([df["path"]] if isinstance(df["path"], str) else df["path"])]
        assert all("*" in p for p in paths), name  # globs, not file lists
        resolved = DataFilesDict.from_patterns(sanitize_patterns(cfg["data_files"]), base_path=str(out))
        got = {s: sorted(Path(f).relative_to(out).as_posix() for f in fs) for s, fs in resolved.items()}
        assert got == _expected_files(report, name), name
        assert resolve_data_files(out, cfg) == got, name  # mulco's own expansion agrees
        rows = {s: sum(pq.ParquetFile(out / f).metadata.num_rows for f in fs) for s, fs in got.items()}
        assert rows == _expected_rows(report, name), name
    head = (out / "README.md").read_text().split("\n---\n", 1)[0]
    config_lines = head.split("\nconfigs:\n", 1)[1].split("\ndataset_info:\n", 1)[0].count("\n")
    assert config_lines < 10 * len(names)  # no longer a line per Parquet file and config
    for name in ("all", "zh", "code_search", "code_search.clone_detection", "code_search.en.java",
                 "code_generation.en", "code_summarization.go"):
        ds = datasets.load_dataset(str(out), name)
        assert {s: len(d) for s, d in ds.items()} == _expected_rows(report, name), name


def test_a_glob_that_would_match_other_files_falls_back_to_the_file_list():
    sel = taxonomy.parse("code_generation.en")
    mine = "data/code_generation/en/python/train-00000-of-00001.parquet"
    stray = "data/code_generation/en/python/train-extra.parquet"  # matches train-*.parquet
    keys = [("code_generation", None, "en", "python")]
    assert data_file_patterns(sel, "train", keys, [mine], [mine]) == ["data/code_generation/en/*/train-*.parquet"]
    assert data_file_patterns(sel, "train", keys, [mine], sorted([mine, stray])) == [mine]
    # code_search keeps its subtask level: a code_search glob cannot reach another task's files
    sel = taxonomy.parse("code_search.en")
    f = "data/code_search/clone_detection/en/java/test-00000-of-00001.parquet"
    assert data_file_patterns(sel, "test", [("code_search", "clone_detection", "en", "java")], [f], [f]) == [
        "data/code_search/*/en/*/test-*.parquet"]


def test_repo_id_names_the_target_repo_everywhere(sample_builds):
    default, alice = sample_builds
    text = (alice.out / "README.md").read_text(encoding="utf-8")
    schema = json.loads((alice.out / "record.schema.json").read_text())
    assert schema["$id"] == "https://huggingface.co/datasets/alice/my-mulco/resolve/main/record.schema.json"
    assert "collama/mulco" not in text and "collama/mulco" not in (alice.out / "record.schema.json").read_text()
    assert 'load_dataset("alice/my-mulco", "' in text and "hf://datasets/alice/my-mulco/data/" in text
    assert "https://huggingface.co/datasets/alice/my-mulco" in text
    assert json.loads((default.out / "record.schema.json").read_text())["$id"].startswith(
        "https://huggingface.co/datasets/collama/mulco/")
    # only the repo id differs: the rest of the card is the same
    assert (default.out / "README.md").read_text(encoding="utf-8").replace("collama/mulco", "alice/my-mulco") == text


def test_retarget_renders_the_card_of_a_build_for_another_repo_byte_for_byte(sample_builds):
    default, alice = sample_builds
    from mulco.writer import render_for_repo

    same = render_for_repo(default.out, "collama/mulco")
    assert same["README.md"] == (default.out / "README.md").read_text(encoding="utf-8")
    assert same["record.schema.json"] == (default.out / "record.schema.json").read_text(encoding="utf-8")
    other = render_for_repo(default.out, "alice/my-mulco")
    assert other["README.md"] == (alice.out / "README.md").read_text(encoding="utf-8")
    assert other["record.schema.json"] == (alice.out / "record.schema.json").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="<namespace>/<name>"):
        render_for_repo(default.out, "not a repo")


def test_build_cli_takes_repo_id(tmp_path):
    from mulco import cli

    assert cli.main(["build", "--sample", "--out", str(tmp_path / "out"), "--repo-id", "bob/mulco-test", "--sources", "codealpaca"]) == 0
    text = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert 'load_dataset("bob/mulco-test"' in text and "collama/mulco" not in text


def test_body_of_the_sample_card(sample_builds):
    """Examples fenced with their language; one way to write a missing plang; the ZH records
    that are template twins of EN ones, counted from the data; citations of built sources only."""
    import pyarrow.parquet as pq

    out = sample_builds[0].out
    text = (out / "README.md").read_text(encoding="utf-8")
    examples = text.split("## Examples", 1)[1].split("## Record schema", 1)[0]
    assert "\n```go\nfunc Max(a, b int) int {" in examples  # code_summarization's input is Go code
    assert "\n````markdown\nCode 1:\n```java" in examples  # text that carries its own fences
    assert "```text\nMax returns the larger of a and b.\n```" in examples
    assert "| - |" not in text and "`-`" not in text and "(none)" not in text
    assert "it **—** everywhere" in text
    # template twins: a template ZH record made from the same raw row as an EN record
    rows = [r for p in sorted((out / "data").rglob("*.parquet")) for r in pq.read_table(p).to_pylist()]
    en = {(r["source"], r["source_id"], r["task"], r["subtask"]) for r in rows if r["lang"] == "en"}
    zh = [r for r in rows if r["lang"] == "zh"]
    origins = collections.Counter(r["text_origin"] for r in zh)
    twins = sum((r["source"], r["source_id"], r["task"], r["subtask"]) in en and r["text_origin"] == "template" for r in zh)
    assert 0 < twins < len(zh)
    assert f"{twins:,} of the\n  {len(zh):,} ZH records were made from the same raw row" in text
    # the default --zh-twins paper keeps ZH twins only where the paper has Chinese rows (issue 23)
    assert "| code_search.query_to_code | 2 | 2 | 100% |" in text and "| code_search.code_translation | 18 | 18 |" not in text
    assert "Chinese template twins: `--zh-twins paper` (only where the paper's table has Chinese rows" in text
    n_all = sum(sample_builds[0].leaves.values())
    shares = [f"{words} {origins[o]:,} ({100 * origins[o] / len(zh):.1f}% / {100 * origins[o] / n_all:.1f}%)"
              for o, words in card_mod.ORIGIN_WORDS]
    assert "**How the Chinese text came to be** (`text_origin`; share of the ZH records / of the whole build): " \
        + "; ".join(shares) + "." in " ".join(text.split("\n"))
    assert "By `text_origin`, the ZH records are " + ", ".join(f"{o}: {n:,}" for o, n in sorted(origins.items())) in text
    cites = text.split("## Citation", 1)[1]
    assert cites.count("@article{lu2021codexglue") == 1  # one entry, labelled with the sources citing it
    assert "**BigCloneBench (CodeXGLUE clone detection), CodeSearchNet (CodeXGLUE code-to-text)," in cites


def test_fence_language_of_example_fields():
    r = {"task": "code_search", "subtask": "code_translation", "plang": "java", "target_plang": "csharp"}
    assert card_mod.fence_lang(r, "input", "int x;") == "java"
    assert card_mod.fence_lang(r, "output", "int x;") == "csharp"
    assert card_mod.fence_lang(r, "instruction", "Translate it.") == "text"
    g = {"task": "code_generation", "subtask": None, "plang": None, "target_plang": None}
    assert card_mod.fence_lang(g, "output", "x = 1") == "text"  # no plang: no highlighting
    assert card_mod.fence_lang(dict(g, plang="python"), "output", "```python\nx\n```") == "markdown"


def test_lengths_legend_covers_no_plot():
    """The legend sits outside both axes, so no peak (e.g. code_generation's short prompts) is hidden."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    lengths = {t: {"prompt": [10] * 50 + [100] * 5, "output": [3] * 50 + [1000]} for t in taxonomy.TASKS}
    with card_mod._chart_style():
        fig = card_mod.lengths_figure(lengths)
        FigureCanvasAgg(fig).draw()
        renderer = fig.canvas.get_renderer()
        assert all(ax.get_legend() is None for ax in fig.axes)
        (legend,) = fig.legends
        box = legend.get_window_extent(renderer)
        assert [t.get_text() for t in legend.get_texts()] == list(taxonomy.TASKS)
        for ax in fig.axes:
            assert not box.overlaps(ax.get_window_extent(renderer)), ax.get_title()


def test_a_source_that_kept_no_record_is_not_licensed_or_cited_and_is_named_missing():
    sources = {"codealpaca": SourceResult("codealpaca", status="built", records_kept=5),
               "codexglue_cloze": SourceResult("codexglue_cloze", status="built", records_kept=0, units_read=1308)}
    report = report_for_sources(sources)
    leaves = {("code_generation", None, "en", "python", "train"): 5}
    text = card_mod.render_card([], leaves, report, sources)
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["license"] == ["cc-by-nc-4.0"] and "source_datasets" in meta
    assert "extended|google/code_x_glue_cc_cloze_testing_maxmin" not in meta["source_datasets"]
    cites = text.split("## Citation", 1)[1]
    assert "@misc{codealpaca" in cites and "feng2020codebert" not in cites and "lu2021codexglue" not in cites
    limits = text.split("## Bias, risks and limitations", 1)[1].split("\n## ", 1)[0]
    assert "(`codexglue_cloze`, built, no record kept;" in limits
    assert "| built, no record kept | 0 |" in text
    lic = card_mod.render_license(report, sources)
    assert "codealpaca" in lic and "codexglue_cloze" not in lic


def test_links_to_code_and_paper_come_from_the_package_metadata(monkeypatch):
    sources = {"codealpaca": SourceResult("codealpaca", status="built", records_kept=1)}
    report = report_for_sources(sources)
    text = card_mod.render_card([], {}, report, sources)
    assert "- **Code:** the `mulco` Python package" in text  # no URL is guessed
    monkeypatch.setattr(card_mod, "project_urls",
                        lambda: {"repository": "https://example.org/mulco", "paper": "https://example.org/paper"})
    text = card_mod.render_card([], {}, report, sources)
    assert "- **Code:** [the `mulco` repository](https://example.org/mulco)" in text
    assert f"- **Paper:** [*{card_mod.PAPER}*](https://example.org/paper)" in text


def test_steps_that_saw_nothing_report_zero_counts():
    """A build too small for a step: the step reports its settings only, the card says 0."""
    sources = {"codealpaca": SourceResult("codealpaca", status="built", records_kept=1)}
    report = dict(report_for_sources(sources),
                  dedup={"exact": {}, "near": {"threshold": 0.8, "ngram": 5, "num_perm": 128, "bands": 9, "rows": 13}},
                  leakage={"test_records": 0, "exact": 0, "near": 0})
    text = card_mod.render_card([], {}, report, sources)
    assert "- Near duplicates: 0 clusters holding 0 records; 0 dropped" in text
    assert "Exact duplicates" not in text and "of the 0 test records" in text
