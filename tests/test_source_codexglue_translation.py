"""The codexglue_translation source: bundled sample, nasty fixtures, and the shared raw slice."""
from __future__ import annotations

import collections
import shutil
from pathlib import Path

import pytest

from mulco import record
from mulco.build import convert_source, sample_raw_dir
from mulco.sources import codexglue_translation as src
from helpers import convert_files
from mulco.sources.base import MissingSourceFile

NAME = "codexglue_translation"
NASTY = Path(__file__).parent / "fixtures" / "raw" / NAME
DATA = "codexglue/code-to-code-trans/data"
FIXTURE_PAIRS = [(sample_raw_dir(), f"{DATA}/{s}") for s in ("train", "valid", "test")] + [
    (NASTY, f"{DATA}/{s}") for s in ("train", "valid")]


def convert(raw_dir: Path, files: list[Path]):
    return convert_files(src, raw_dir, files)


@pytest.mark.parametrize("raw_dir,stem", FIXTURE_PAIRS, ids=[f"{d.parent.name}:{s}" for d, s in FIXTURE_PAIRS])
def test_fixture_pair_records_validate(raw_dir, stem):
    files = [raw_dir / f"{stem}.java-cs.txt.java", raw_dir / f"{stem}.java-cs.txt.cs"]
    records, rejected, bad = convert(raw_dir, files)
    assert records
    assert len(records) % 4 == 0
    for rec in records:
        assert list(record.errors(rec)) == [], rec
        assert (rec["plang"], rec["target_plang"]) in {("java", "csharp"), ("csharp", "java")}
        suffix = ".java" if rec["plang"] == "java" else ".cs"
        assert rec["source_id"].rsplit(":", 1)[0].endswith(suffix)
    assert len({r["id"] for r in records}) == len(records)


def test_first_sample_record_is_pinned():
    res = convert_source(NAME, sample_raw_dir(), progress=False)
    split, first = res.records[0]
    assert split == "test"
    assert first == {
        "id": "2d8779fd4bd5dadf",
        "instruction": "Re-implement the following Java code in C#.",
        "input": "public long length() {return end - start;}",
        "output": "public virtual long Length(){return end - start;}",
        "task": "code_search",
        "subtask": "code_translation",
        "lang": "en",
        "plang": "java",
        "target_plang": "csharp",
        "source": "codexglue_translation",
        "source_id": "codexglue/code-to-code-trans/data/test.java-cs.txt.java:1",
        "license": "C-UDA-1.0",
        "text_origin": "template",
    }
    back = [r for _, r in res.records[:4] if r["plang"] == "csharp"]
    assert [(r["lang"], r["input"], r["output"], r["source_id"]) for r in back] == [
        (lang, first["output"], first["input"], "codexglue/code-to-code-trans/data/test.java-cs.txt.cs:1")
        for lang in ("en", "zh")]
    assert not res.pending


def test_sample_counts_and_splits():
    res = convert_source(NAME, sample_raw_dir(), progress=False)
    assert (res.units_read, res.units_kept, res.units_quarantined) == (9, 9, 0)
    assert res.records_made == 36
    assert collections.Counter(s for s, _ in res.records) == {"train": 12, "validation": 12, "test": 12}
    assert collections.Counter(r["lang"] for _, r in res.records) == {"en": 18, "zh": 18}


def test_nasty_fixtures_are_quarantined_with_reasons():
    res = convert_source(NAME, NASTY, progress=False)
    assert res.units_read == res.units_kept + res.units_quarantined == 7
    assert res.units_kept == 4
    got = sorted((q["file"].rsplit("/", 1)[1], q["line"], q["reason"]) for q in res.quarantine)
    assert got == [
        ("train.java-cs.txt.java", 3, f"misaligned: no counterpart line in {DATA}/train.java-cs.txt.cs"),
        ("valid.java-cs.txt.cs", 2, "invalid UTF-8: byte 47 of the line"),
        ("valid.java-cs.txt.java", 3, "field 'java' is empty"),
    ]


def test_missing_counterpart_file(tmp_path):
    data = tmp_path / DATA
    data.mkdir(parents=True)
    shutil.copy(sample_raw_dir() / DATA / "train.java-cs.txt.java", data)
    with pytest.raises(MissingSourceFile, match=r"train\.java-cs\.txt\.cs"):
        src.find(tmp_path)
    assert src.find(tmp_path / "nowhere") == []


def test_shared_slice(shared_raw):
    res = convert_source(NAME, shared_raw, progress=False)
    assert res.units_read == res.units_kept + res.units_quarantined
    assert res.units_kept == 5148 + 250 + 500
    assert res.units_quarantined == 0
    assert res.records_made == len(res.records) == 4 * res.units_kept
    assert collections.Counter(s for s, _ in res.records) == {"train": 4 * 5148, "validation": 4 * 250, "test": 4 * 500}
    assert all(record.is_valid(r) for _, r in res.records)
