"""devign: function.json items -> defect_detection Yes/No records (EN + ZH), split from txt files."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mulco import record
from mulco.build import convert_source
from mulco.sources import devign
from mulco.sources.base import MissingSourceFile

NASTY = Path(__file__).parent / "fixtures" / "raw" / "devign"

FIRST = {
    "id": "39afddbe3b7883f0",
    "instruction": "Does this C function contain a defect that could cause a vulnerability? Answer Yes or No.",
    "input": (
        "```c\nstatic int read_block(Ctx *c, const uint8_t *src, int len)\n{\n    uint8_t buf[64];\n"
        "    memcpy(buf, src, len);\n    return decode(c, buf, len);\n}\n```"
    ),
    "output": "Yes",
    "task": "code_search",
    "subtask": "defect_detection",
    "lang": "en",
    "plang": "c",
    "target_plang": None,
    "source": "devign",
    "source_id": "codexglue/Defect-detection/dataset/function.json:0",
    "license": "C-UDA-1.0",
    "text_origin": "template",
}


def test_first_sample_record_is_pinned(sample_raw):
    res = convert_source("devign", sample_raw, progress=False)
    split, first = res.records[0]
    assert first == FIRST and split == "train"


def test_sample_records_are_valid_bilingual_and_keep_the_txt_splits(sample_raw):
    res = convert_source("devign", sample_raw, progress=False)
    assert (res.units_read, res.units_kept, res.units_quarantined) == (6, 6, 0)
    recs = [r for _, r in res.records]
    assert len(recs) == 12
    for r in recs:
        assert list(record.errors(r)) == [], r
    by_item = {}
    for split, r in res.records:
        by_item.setdefault(r["source_id"].rsplit(":", 1)[1], set()).add((split, r["lang"], r["output"]))
    assert by_item["3"] == {("validation", "en", "Yes"), ("validation", "zh", "是")}
    assert by_item["4"] == {("test", "en", "Yes"), ("test", "zh", "是")}
    assert by_item["2"] == {("train", "en", "No"), ("train", "zh", "否")}


def test_read_gives_unlisted_items_no_split_and_test_wins(sample_raw):
    files = devign.find(sample_raw)
    rows = {u.line: u.split for u in devign.read(sample_raw, files)}
    assert rows == {0: "train", 1: "train", 2: "train", 3: "validation", 4: "test", 5: None}
    assert devign.pick_split(["train", "test", "validation"]) == "test"
    assert devign.pick_split(["train", "validation"]) == "validation"
    assert devign.pick_split([]) is None


def test_nasty_fixture_is_quarantined_with_reasons_and_reconciles():
    res = convert_source("devign", NASTY, progress=False)
    assert res.units_read == res.units_kept + res.units_quarantined
    assert (res.units_read, res.units_kept, res.units_quarantined) == (8, 2, 6)
    reasons = {(q["file"].rsplit("/", 1)[1], q["line"]): q["reason"] for q in res.quarantine}
    assert reasons == {
        ("function.json", 1): "target 2 is not 0 or 1",
        ("function.json", 2): "field 'func' is empty",
        ("function.json", 3): "target '1' is not 0 or 1",
        ("function.json", 4): "missing field 'func'",
        ("train.txt", 4): "unknown index: 17 is not in function.json (6 items)",
        ("valid.txt", 2): "bad index line: not an integer",
    }
    splits = {(r["source_id"].rsplit(":", 1)[1], split) for split, r in res.records}
    assert ("0", "test") in splits  # listed in train, valid and test


def test_split_files_without_function_json_is_a_missing_source_file(tmp_path):
    d = tmp_path / devign.DIR
    d.mkdir(parents=True)
    shutil.copy(NASTY / devign.DIR / "train.txt", d / "train.txt")
    with pytest.raises(MissingSourceFile, match="function.json") as e:
        devign.find(tmp_path)
    assert "Google Drive" in str(e.value)


def test_shared_slice_has_only_the_split_files_so_devign_is_skipped(shared_raw):
    with pytest.raises(MissingSourceFile, match="function.json"):
        devign.find(shared_raw)
    res = convert_source("devign", shared_raw, progress=False)
    assert res.status == "skipped" and "function.json" in res.message and res.units_read == 0
    with pytest.raises(MissingSourceFile):
        convert_source("devign", shared_raw, explicit=True, progress=False)
