"""The codexglue_line_completion source: bundled sample, nasty fixtures, helpers, and the shared slice."""
from __future__ import annotations

import collections
from pathlib import Path

import pytest

from mulco import record
from mulco.build import convert_source, sample_raw_dir
from mulco.sources import codexglue_line_completion as src
from helpers import convert_files

NAME = "codexglue_line_completion"
NASTY = Path(__file__).parent / "fixtures" / "raw" / NAME
DATASET = "codexglue/CodeCompletion-line/dataset"
FIXTURE_FILES = [(sample_raw_dir(), f"{DATASET}/{c}/dev.json") for c in ("javaCorpus", "py150")]
FIXTURE_FILES += [(NASTY, f"{DATASET}/javaCorpus/train.json"), (NASTY, f"{DATASET}/py150/line_completion/test.json")]


def convert(raw_dir: Path, files: list[Path]):
    return convert_files(src, raw_dir, files)


@pytest.mark.parametrize("raw_dir,rel_path", FIXTURE_FILES, ids=[f"{d.parent.name}:{f.split('/', 3)[3]}" for d, f in FIXTURE_FILES])
def test_fixture_file_records_validate(raw_dir, rel_path):
    records, rejected, bad = convert(raw_dir, [raw_dir / rel_path])
    assert records
    for rec in records:
        assert list(record.errors(rec)) == [], rec
        assert "<s>" not in rec["input"] and "<EOL>" not in rec["input"]
        assert rec["plang"] == ("python" if "/py150/" in rel_path else "java")
        if rec["plang"] == "python":
            assert rec["input"].count("\n") < src.PY_TAIL_LINES
        else:
            assert len(rec["input"]) <= src.JAVA_TAIL_CHARS


def test_first_sample_record_is_pinned():
    res = convert_source(NAME, sample_raw_dir(), progress=False)
    split, first = res.records[0]
    assert split == "validation"
    assert first == {
        "id": "dafb0d1f542a819b",
        "instruction": "Continue this Java code with exactly one more line.",
        "input": "package com . example . util ; import java . util . List ; public class Lists { "
                 "public static int total ( List < Integer > xs ) { int sum = <NUM_LIT:0> ;",
        "output": "for ( int x : xs ) { sum += x ; }",
        "task": "code_search",
        "subtask": "code_completion",
        "lang": "en",
        "plang": "java",
        "target_plang": None,
        "source": "codexglue_line_completion",
        "source_id": "codexglue/CodeCompletion-line/dataset/javaCorpus/dev.json:1",
        "license": "C-UDA-1.0",
        "text_origin": "template",
    }


def test_sample_counts_and_python_lines():
    res = convert_source(NAME, sample_raw_dir(), progress=False)
    assert (res.units_read, res.units_kept, res.units_quarantined) == (6, 6, 0)
    assert res.records_made == len(res.records) == 12 and not res.pending
    assert collections.Counter((r["plang"], r["lang"]) for _, r in res.records) == {
        ("java", "en"): 3, ("java", "zh"): 3, ("python", "en"): 3, ("python", "zh"): 3}
    py = [r for _, r in res.records if r["plang"] == "python"]
    assert py[0]["input"] == "import os\ndef ensure_dir ( path ) :\nif not os . path . isdir ( path ) :\n"
    assert py[0]["output"] == "os . makedirs ( path )"
    assert "'<STR_LIT>'" in py[-1]["input"]


def test_nasty_fixtures_are_quarantined_with_reasons():
    res = convert_source(NAME, NASTY, progress=False)
    assert res.units_read == res.units_kept + res.units_quarantined == 9
    assert res.units_kept == 4
    got = sorted((q["line"], q["reason"].split(":")[0]) for q in res.quarantine)
    assert got == [(2, "bad JSON"), (3, "invalid UTF-8"), (4, "missing field 'gt'"),
                   (5, "field 'gt' is empty"), (6, "empty context")]
    splits = {r["source_id"].split("/")[-1].split(":")[0]: s for s, r in res.records}
    assert splits == {"train.json": "train", "test.json": "test"}


def test_context_tails():
    py = src.context("<s> " + " <EOL> ".join(f"a{i} = {i}" for i in range(50)) + " <EOL> b =", "python")
    lines = py.split("\n")
    assert len(lines) == 30 and lines[0] == "a21 = 21" and lines[-1] == "b ="
    java = src.context("<s> " + " ".join(f"tok{i}" for i in range(1000)), "java")
    assert len(java) <= 1500 and java.startswith("tok") and java.endswith("tok999")
    assert src.tail_chars("short text") == "short text"


def test_shared_slice(shared_raw):
    res = convert_source(NAME, shared_raw, progress=False)
    assert res.units_read == res.units_kept + res.units_quarantined == 1910 + 1500
    assert res.units_kept == res.units_read
    assert res.records_made == len(res.records) == 2 * res.units_kept
    assert collections.Counter(r["plang"] for _, r in res.records) == {"python": 2 * 1910, "java": 2 * 1500}
    assert {s for s, _ in res.records} == {"validation"}
    assert all(record.is_valid(r) for _, r in res.records)


def _lc_row(corpus, raw_input, gt):
    from mulco.sources.base import Row

    return Row(f"codexglue/CodeCompletion-line/dataset/{corpus}/test.json", 1, {"input": raw_input, "gt": gt})


def test_an_input_ending_mid_line_asks_to_complete_the_current_line_in_en_and_zh():
    from mulco import templates
    from mulco.sources import codexglue_line_completion as lc

    def keys(recs):
        out = []
        for r in recs:
            opts = {k: [t.replace("{plang}", "Python" if r["plang"] == "python" else "Java") for t in v]
                    for k, v in templates.load(r["lang"])["instructions"].items()}
            out.append([k for k in ("code_completion", "code_completion_line") if r["instruction"] in opts[k]])
        return out

    mid = lc.to_records(_lc_row("py150", "<s> import os <EOL> x = os . path . join (", "a , b )"))
    assert keys(mid) == [["code_completion_line"], ["code_completion_line"]]
    nxt = lc.to_records(_lc_row("py150", "<s> import os <EOL> x = 1 <EOL>", "print ( x )"))
    assert keys(nxt) == [["code_completion"], ["code_completion"]]
    java_mid = lc.to_records(_lc_row("javaCorpus", "<s> int x = 1 ; String s = foo .", "bar ( ) ;"))
    java_next = lc.to_records(_lc_row("javaCorpus", "<s> int x = 1 ; if ( x > 0 ) {", "return x ;"))
    assert keys(java_mid)[0] == ["code_completion_line"] and keys(java_next)[0] == ["code_completion"]
