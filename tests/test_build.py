"""End-to-end: the bundled sample builds, every record is valid, every config loads with the
real `datasets` loader, output is deterministic and appears atomically."""
from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import mulco
from mulco import record, sources, taxonomy
from mulco.build import BuildConfig, build
from mulco.card import read_card_yaml
from mulco.taxonomy import UnknownConfigError


def _tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_every_source_is_in_the_sample_and_reconciles(sample_build):
    for name in sources.names():
        res = sample_build.sources[name]
        assert res.status == "built", (name, res.message)
        assert res.units_read > 0 and res.records_kept > 0, name
        assert res.reconciles(), res.summary()


def test_every_written_record_is_schema_valid(sample_build):
    out = sample_build.out
    n = 0
    for f in sorted(out.glob("data/**/*.parquet")):
        for r in pq.read_table(f).to_pylist():
            assert list(record.errors(r)) == [], (f, r["id"])
            n += 1
    assert n == sum(sample_build.leaves.values()) > 0


def test_folder_has_card_schema_report_and_quarantine(sample_build):
    out = sample_build.out
    for name in ("README.md", "record.schema.json", "build_report.json", "quarantine.jsonl"):
        assert (out / name).is_file(), name
    assert (out / "record.schema.json").read_text() == record.schema_text()
    report = json.loads((out / "build_report.json").read_text())
    assert set(report["sources"]) == set(sources.names())
    meta = read_card_yaml(out / "README.md")
    names = [c["config_name"] for c in meta["configs"]]
    assert names == sample_build.configs and names[0] == "all"
    assert [c for c in meta["configs"] if c.get("default")] == [meta["configs"][0]]
    assert "code_search.en" in names and "zh" in names


def test_both_languages_and_all_three_tasks_are_built(sample_build):
    keys = set(sample_build.leaves)
    assert {k[0] for k in keys} == {"code_generation", "code_summarization", "code_search"}
    assert {k[2] for k in keys} == {"en", "zh"}
    subtasks_zh = {k[1] for k in keys if k[2] == "zh" and k[1]}
    # every code_search subtask (answers are code or labels) has Chinese records (the fixture keeps
    # every ZH template twin; by default only those the paper's table has: tests/test_steps_filters.py)
    assert subtasks_zh == {"clone_detection", "defect_detection", "cloze_test", "code_completion",
                           "code_repair", "code_translation", "query_to_code"}


def test_every_config_matches_the_card_and_some_of_each_shape_load(sample_build):
    """Every config: the files `datasets` resolves from its data_files hold, by their Parquet
    metadata, the rows its dataset_info says, with the record's columns. One config of each name
    shape (all, lang, task, task.subtask, task.lang, task.lang.plang, ...) loads with load_dataset."""
    import datasets
    from datasets.data_files import DataFilesDict, sanitize_patterns

    out = sample_build.out
    meta = read_card_yaml(out / "README.md")
    info = {d["config_name"]: {s["name"]: s["num_examples"] for s in d["splits"]} for d in meta["dataset_info"]}
    assert [c["config_name"] for c in meta["configs"]] == sample_build.configs
    columns = list(record.fields())
    files: dict[str, pq.ParquetFile] = {}
    for cfg in meta["configs"]:
        resolved = DataFilesDict.from_patterns(sanitize_patterns(cfg["data_files"]), base_path=str(out))
        rows = {}
        for split, paths in resolved.items():
            for p in paths:
                files.setdefault(p, pq.ParquetFile(p))
                assert files[p].schema_arrow.names == columns, p
            rows[split] = sum(files[p].metadata.num_rows for p in paths)
        assert rows == info[cfg["config_name"]], cfg["config_name"]
    shapes: dict[tuple, str] = {}
    for name in sample_build.configs:  # the first config of each shape
        sel = taxonomy.parse(name)
        shapes.setdefault(tuple(v is not None for v in (sel.task, sel.subtask, sel.lang, sel.plang)), name)
    assert len(shapes) >= 8
    for name in shapes.values():
        ds = datasets.load_dataset(str(out), name)
        assert {s: len(d) for s, d in ds.items()} == info[name], name
        assert list(ds[next(iter(ds))].features) == columns


def test_default_config_and_streaming(sample_build):
    import datasets

    out = str(sample_build.out)
    everything = datasets.load_dataset(out, split="train")
    assert len(everything) == sum(n for k, n in sample_build.leaves.items() if k[4] == "train")
    stream = datasets.load_dataset(out, "code_search.en", split="train", streaming=True)
    rows = list(stream)
    assert rows and all(r["task"] == "code_search" and r["lang"] == "en" for r in rows)


def test_mulco_load_checks_names_against_the_build(sample_build):
    ds = mulco.load("code_search.en", data_dir=sample_build.out, split="train")
    assert len(ds) > 0 and set(ds["lang"]) == {"en"}
    with pytest.raises(UnknownConfigError, match="code_search.en"):
        mulco.load("code_serch.en", data_dir=sample_build.out)


def test_builder_class_reads_a_built_folder(sample_build, tmp_path):
    from mulco.builder import MulCo

    b = MulCo(config_name="code_search.clone_detection.zh", data_dir=str(sample_build.out), cache_dir=str(tmp_path))
    b.download_and_prepare()
    ds = b.as_dataset()
    rows = [r for split in ds.values() for r in split]
    assert rows and {r["output"] for r in rows} <= {"是", "否"}
    with pytest.raises(ValueError, match="code_search.clone_detection"):  # datasets lists the configs
        MulCo(config_name="code_search.clone_detecton", data_dir=str(sample_build.out), cache_dir=str(tmp_path))


@pytest.mark.slow
def test_builder_class_builds_from_raw(tmp_path, sample_raw):
    from mulco.builder import MulCo

    b = MulCo(config_name="code_generation.zh", data_dir=str(sample_raw), cache_dir=str(tmp_path))
    b.download_and_prepare()
    assert len(b.as_dataset()["train"]) > 0


def test_same_input_gives_byte_identical_output_with_any_worker_count(sample_build, tmp_path):
    other = build(BuildConfig(out=tmp_path / "again", workers=2, progress=False, zh_twins="all"))  # as the fixture
    a, b = sample_build.out, other.out
    assert _tree(a) == _tree(b)
    mismatch = [f for f in _tree(a) if not filecmp.cmp(a / f, b / f, shallow=False)]
    assert mismatch == []


def test_output_is_replaced_atomically_and_a_failed_build_leaves_the_old_one(tmp_path, monkeypatch):
    out = tmp_path / "o"
    build(BuildConfig(out=out, sources=["codealpaca"], progress=False))
    before = {f: (out / f).read_bytes() for f in _tree(out)}

    import mulco.writer

    calls = {"n": 0}
    real = mulco.writer.write_parquet

    def failing(rows, path):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full (simulated)")
        return real(rows, path)

    monkeypatch.setattr(mulco.writer, "write_parquet", failing)
    with pytest.raises(OSError, match="disk full"):
        build(BuildConfig(out=out, progress=False))
    assert {f: (out / f).read_bytes() for f in _tree(out)} == before
    assert [p.name for p in tmp_path.iterdir()] == ["o"]  # no temp folder left behind
    monkeypatch.setattr(mulco.writer, "write_parquet", real)
    build(BuildConfig(out=out, progress=False))
    assert len(_tree(out)) > len(before)


def test_cli_build_prints_a_summary_and_show_prints_records(tmp_path, capsys):
    from mulco.cli import main

    assert main(["build", "--sample", "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "Records" in text and "Sources" in text and "records in" in text
    assert main(["show", str(tmp_path / "o"), "code_search.en", "-n", "2"]) == 0
    shown = capsys.readouterr().out
    assert shown.count("instruction:") == 2


def test_cli_errors_are_one_line(tmp_path, capsys):
    from mulco.cli import main

    assert main(["build", "--raw-dir", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope" in err
    assert main(["build", "--sample", "--sources", "codealpca", "--out", str(tmp_path / "o")]) == 2
    assert "codealpaca" in capsys.readouterr().err


def test_a_named_source_that_is_missing_is_an_error(tmp_path, capsys):
    from mulco.cli import main

    (tmp_path / "raw").mkdir()
    assert main(["build", "--raw-dir", str(tmp_path / "raw"), "--sources", "codealpaca", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "codealpaca" in err and "code_alpaca_20k.json" in err


@pytest.mark.slow
def test_shared_raw_build_reconciles_for_every_source(shared_build):
    result = shared_build  # conftest: built once per run
    built = [n for n, r in result.sources.items() if r.status == "built"]
    assert len(built) >= 7
    for name, res in result.sources.items():
        assert res.reconciles(), (name, res.summary())
    assert result.sources["devign"].status == "skipped" and "function.json" in result.sources["devign"].message
    entries = [json.loads(line) for line in open(result.out / "quarantine.jsonl", encoding="utf-8")]
    # every source that quarantined rows lists them, each with file, line and reason
    assert {e["source"] for e in entries} >= {n for n, r in result.sources.items() if r.units_quarantined}
    assert all(e["file"] and e["line"] is not None and e["reason"] for e in entries)
