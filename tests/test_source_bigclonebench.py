"""bigclonebench: pairs of Java functions -> clone_detection Yes/No records (EN + ZH)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mulco import record
from mulco.build import convert_source
from mulco.sources import bigclonebench
from mulco.sources.base import MissingSourceFile

NASTY = Path(__file__).parent / "fixtures" / "raw" / "bigclonebench"

FIRST = {
    "id": "f6840897a607a8e9",
    "instruction": "Do the following two code fragments implement the same functionality? Answer Yes or No.",
    "input": (
        "Code 1:\n```java\npublic List<String> readLines(String path) throws IOException {\n"
        "    BufferedReader r = new BufferedReader(new FileReader(path));\n"
        "    List<String> lines = new ArrayList<>();\n    String line;\n"
        "    while ((line = r.readLine()) != null) {\n        lines.add(line);\n    }\n"
        "    r.close();\n    return lines;\n}\n```\n\n"
        "Code 2:\n```java\npublic static void copyFile(File src, File dst) throws IOException {\n"
        "    InputStream in = new FileInputStream(src);\n    OutputStream out = new FileOutputStream(dst);\n"
        "    byte[] buf = new byte[4096];\n    int n;\n    while ((n = in.read(buf)) > 0) {\n"
        "        out.write(buf, 0, n);\n    }\n    in.close();\n    out.close();\n}\n```"
    ),
    "output": "No",
    "task": "code_search",
    "subtask": "clone_detection",
    "lang": "en",
    "plang": "java",
    "target_plang": None,
    "source": "bigclonebench",
    "source_id": "codexglue/Clone-detection-BigCloneBench/dataset/test.txt:1",
    "license": "C-UDA-1.0",
    "text_origin": "template",
}


def test_first_sample_record_is_pinned(sample_raw):
    res = convert_source("bigclonebench", sample_raw, progress=False)
    split, first = res.records[0]
    assert first == FIRST and split == "test"


def test_sample_makes_en_and_zh_for_every_pair_and_all_are_valid(sample_raw):
    res = convert_source("bigclonebench", sample_raw, progress=False)
    assert (res.units_read, res.units_kept, res.units_quarantined) == (8, 8, 0)
    recs = [r for _, r in res.records]
    assert len(recs) == 16 and {r["lang"] for r in recs} == {"en", "zh"}
    for r in recs:
        assert list(record.errors(r)) == [], r
    zh = recs[1]
    assert zh["lang"] == "zh" and zh["output"] in ("是", "否")
    assert zh["input"].startswith("代码 1：\n```java\n") and "\n\n代码 2：\n```java\n" in zh["input"]
    assert {s for s, _ in res.records} == {"train", "validation", "test"}
    outputs = {(r["source_id"].rsplit(":", 1)[0].rsplit("/", 1)[1], r["lang"], r["output"]) for r in recs}
    assert ("train.txt", "en", "Yes") in outputs and ("train.txt", "zh", "否") in outputs


def test_nasty_fixture_is_quarantined_with_reasons_and_reconciles():
    res = convert_source("bigclonebench", NASTY, progress=False)
    assert res.units_read == res.units_kept + res.units_quarantined
    assert (res.units_read, res.units_kept, res.units_quarantined) == (10, 2, 8)
    reasons = {(q["file"].rsplit("/", 1)[1], q["line"]): q["reason"] for q in res.quarantine}
    assert reasons[("data.jsonl", 2)].startswith("bad JSON")
    assert reasons[("data.jsonl", 3)] == "missing field 'func' or not a string"
    assert reasons[("data.jsonl", 4)] == "duplicate id: 1 appears twice in data.jsonl"
    assert reasons[("train.txt", 2)] == "unknown id: 999 not in data.jsonl"
    assert reasons[("train.txt", 3)] == "label '2' is not 0 or 1"
    assert reasons[("train.txt", 4)].startswith("malformed pair line")
    assert reasons[("train.txt", 7)].startswith("empty function: id 5")
    assert reasons[("valid.txt", 1)] == "label 'yes' is not 0 or 1"
    # "6  1   0" (spaces, not tabs) is read like a tab-separated line
    kept = {r["source_id"] for _, r in res.records}
    assert kept == {"codexglue/Clone-detection-BigCloneBench/dataset/train.txt:1",
                    "codexglue/Clone-detection-BigCloneBench/dataset/train.txt:5"}


def test_pair_files_without_data_jsonl_is_a_missing_source_file(tmp_path):
    d = tmp_path / bigclonebench.DIR
    d.mkdir(parents=True)
    shutil.copy(NASTY / bigclonebench.DIR / "train.txt", d / "train.txt")
    with pytest.raises(MissingSourceFile, match="data.jsonl"):
        bigclonebench.find(tmp_path)
    res = convert_source("bigclonebench", tmp_path, progress=False)
    assert res.status == "skipped" and "data.jsonl" in res.message


def test_absent_source_finds_nothing(tmp_path):
    assert bigclonebench.find(tmp_path) == []


def test_absent_from_the_shared_slice(shared_raw):
    assert bigclonebench.find(shared_raw) == []
