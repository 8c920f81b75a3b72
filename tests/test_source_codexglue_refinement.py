"""The codexglue_refinement source: bundled sample, nasty fixtures, and the shared raw slice."""
from __future__ import annotations

import collections
import shutil
from pathlib import Path

import pytest

from mulco import record
from mulco.build import convert_source, sample_raw_dir
from mulco.sources import codexglue_refinement as src
from helpers import convert_files
from mulco.sources.base import BadRow, MissingSourceFile, Row

NAME = "codexglue_refinement"
NASTY = Path(__file__).parent / "fixtures" / "raw" / NAME
DATA = "codexglue/code-refinement/data"
FIXTURE_PAIRS = [(sample_raw_dir(), f"{DATA}/{size}/{split}") for size in ("small", "medium") for split in ("valid", "test")]
FIXTURE_PAIRS += [(NASTY, f"{DATA}/small/test")]


def convert(raw_dir: Path, files: list[Path]):
    return convert_files(src, raw_dir, files)


@pytest.mark.parametrize("raw_dir,stem", FIXTURE_PAIRS, ids=[f"{d.parent.name}:{s}" for d, s in FIXTURE_PAIRS])
def test_fixture_pair_records_validate(raw_dir, stem):
    files = [raw_dir / f"{stem}.buggy-fixed.buggy", raw_dir / f"{stem}.buggy-fixed.fixed"]
    records, rejected, bad = convert(raw_dir, files)
    assert records
    for rec in records:
        assert list(record.errors(rec)) == [], rec
        assert rec["input"] != rec["output"] and rec["input"] == rec["input"].strip()
        assert rec["source_id"].startswith(f"{stem}.buggy-fixed.buggy:")


def test_first_sample_record_is_pinned():
    res = convert_source(NAME, sample_raw_dir(), progress=False)
    split, first = res.records[0]
    assert split == "test"
    assert first == {
        "id": "055eacf8e0202ca0",
        "instruction": "Fix the bug in this Java method.",
        "input": "public void METHOD_1 ( ) { for ( int i = 0 ; i <= VAR_1 . length ; i ++ ) { METHOD_2 ( VAR_1 [ i ] ) ; } }",
        "output": "public void METHOD_1 ( ) { for ( int i = 0 ; i < VAR_1 . length ; i ++ ) { METHOD_2 ( VAR_1 [ i ] ) ; } }",
        "task": "code_search",
        "subtask": "code_repair",
        "lang": "en",
        "plang": "java",
        "target_plang": None,
        "source": "codexglue_refinement",
        "source_id": "codexglue/code-refinement/data/medium/test.buggy-fixed.buggy:1",
        "license": "C-UDA-1.0",
        "text_origin": "template",
    }
    zh = res.records[1][1]
    assert zh["lang"] == "zh" and zh["instruction"] == "修复这个 Java 函数。"
    assert (zh["input"], zh["output"], zh["source_id"]) == (first["input"], first["output"], first["source_id"])


def test_sample_counts_and_splits():
    res = convert_source(NAME, sample_raw_dir(), progress=False)
    assert (res.units_read, res.units_kept, res.units_quarantined) == (12, 12, 0)
    assert res.records_made == len(res.records) == 24 and not res.pending
    assert collections.Counter(s for s, _ in res.records) == {"validation": 12, "test": 12}


def test_nasty_fixtures_are_quarantined_with_reasons():
    res = convert_source(NAME, NASTY, progress=False)
    assert res.units_read == res.units_kept + res.units_quarantined == 5
    assert res.units_kept == 2
    got = sorted((q["file"].rsplit(".", 1)[1], q["line"], q["stage"], q["reason"]) for q in res.quarantine)
    assert got == [
        ("buggy", 2, "convert", "no change: the buggy and fixed methods are the same"),
        ("buggy", 3, "convert", "field 'buggy' is empty"),
        ("fixed", 5, "read", f"misaligned: no counterpart line in {DATA}/small/test.buggy-fixed.buggy"),
    ]


def test_to_records_rejects_unusable_pairs():
    with pytest.raises(BadRow, match="no change"):
        src.to_records(Row("x.buggy", 1, {"buggy": "a ( ) ;", "fixed": "a  ( ) ; "}))
    with pytest.raises(BadRow, match="'fixed' is empty"):
        src.to_records(Row("x.buggy", 1, {"buggy": "a ( ) ;", "fixed": ""}))


def test_missing_counterpart_file(tmp_path):
    data = tmp_path / DATA / "small"
    data.mkdir(parents=True)
    shutil.copy(sample_raw_dir() / DATA / "small" / "test.buggy-fixed.fixed", data)
    with pytest.raises(MissingSourceFile, match=r"test\.buggy-fixed\.buggy"):
        src.find(tmp_path)


def test_shared_slice(shared_raw):
    res = convert_source(NAME, shared_raw, progress=False)
    assert res.units_read == res.units_kept + res.units_quarantined == 2 * 2918 + 2 * 3273
    assert res.units_kept > 0.95 * res.units_read
    assert res.records_made == len(res.records) == 2 * res.units_kept
    assert {s for s, _ in res.records} == {"validation", "test"}
    assert all(record.is_valid(r) for _, r in res.records)
