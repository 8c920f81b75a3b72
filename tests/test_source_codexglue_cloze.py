"""The codexglue_cloze source: bundled sample, nasty fixtures, helpers, and the shared raw slice."""
from __future__ import annotations

import collections
from pathlib import Path

import pytest

from mulco import record
from mulco.build import convert_source, sample_raw_dir
from mulco.sources import codexglue_cloze as src
from helpers import convert_files
from mulco.sources.base import Row

NAME = "codexglue_cloze"
NASTY = Path(__file__).parent / "fixtures" / "raw" / NAME
MAXMIN = "codexglue/ClozeTesting-maxmin"
FIXTURE_FILES = [(sample_raw_dir(), f"{MAXMIN}/data/cloze-maxmin/{lang}/clozeTest.json") for lang in ("java", "python")]
FIXTURE_FILES += [(NASTY, f"{MAXMIN}/data/cloze-maxmin/{lang}/clozeTest.json") for lang in ("go", "python", "ruby")]


def convert(raw_dir: Path, files: list[Path]):
    return convert_files(src, raw_dir, files)


@pytest.mark.parametrize("raw_dir,rel_path", FIXTURE_FILES, ids=[f"{d.parent.name}:{f.split('/')[-2]}" for d, f in FIXTURE_FILES])
def test_fixture_file_records_validate(raw_dir, rel_path):
    records, rejected, bad = convert(raw_dir, [raw_dir / rel_path])
    assert records or rejected
    for rec in records:
        assert list(record.errors(rec)) == [], rec
        assert rec["input"].count("<mask>") == 1 and rec["output"] in ("max", "min")
        assert rec["plang"] == rel_path.split("/")[-2]


def test_first_sample_record_is_pinned():
    res = convert_source(NAME, sample_raw_dir(), progress=False)
    split, first = res.records[0]
    assert split == "test"
    assert first == {
        "id": "21ab3cb7962f55a8",
        "instruction": 'Fill in the <mask> token in this Java code with the right word. The answer is either "max" or "min".',
        "input": "Docstring: Returns the smaller of two counts.\n\nCode:\n"
                 "public static int smaller ( int a , int b ) { return Math . <mask> ( a , b ) ; }",
        "output": "min",
        "task": "code_search",
        "subtask": "cloze_test",
        "lang": "en",
        "plang": "java",
        "target_plang": None,
        "source": "codexglue_cloze",
        "source_id": "codexglue/ClozeTesting-maxmin/data/cloze-maxmin/java/clozeTest.json:0",
        "license": "C-UDA-1.0",
        "text_origin": "template",
    }
    zh = res.records[1][1]
    assert zh["lang"] == "zh" and zh["instruction"].endswith("答案是 “max” 或 “min” 之一。")
    assert zh["input"].startswith("文档说明： Returns the smaller of two counts.\n\n代码：\npublic static int")


def test_sample_counts():
    res = convert_source(NAME, sample_raw_dir(), progress=False)
    assert (res.units_read, res.units_kept, res.units_quarantined) == (6, 6, 0)
    assert res.records_made == len(res.records) == 12 and not res.pending
    assert collections.Counter(r["plang"] for _, r in res.records) == {"java": 6, "python": 6}


def test_nasty_fixtures_are_quarantined_with_reasons():
    res = convert_source(NAME, NASTY, progress=False)
    assert res.units_read == res.units_kept + res.units_quarantined == 10
    assert res.units_kept == 3
    got = sorted((q["file"].split("/")[-2], q["line"], q["reason"]) for q in res.quarantine)
    assert got == [
        ("go", 0, f"no answer: {MAXMIN}/evaluator/answers/go/answers.txt not found"),
        ("go", 1, f"no answer: {MAXMIN}/evaluator/answers/go/answers.txt not found"),
        ("python", 1, f"no answer: idx 'maxmin-2' not in {MAXMIN}/evaluator/answers/python/answers.txt"),
        ("python", 2, "mask count: 0 <mask> tokens in pl_tokens (expected exactly one)"),
        ("python", 3, "mask count: 2 <mask> tokens in pl_tokens (expected exactly one)"),
        ("python", 4, "bad answer: 'mid' is not max or min"),
        ("ruby", 1, "bad JSON in array item: starting at line 25: Expecting ',' delimiter"),
    ]
    # the ruby items around the broken one are kept
    assert {r["source_id"].rsplit(":", 1)[1] for _, r in res.records if r["plang"] == "ruby"} == {"0", "2"}


def test_item_without_docstring_has_code_only():
    row = Row(f"{MAXMIN}/data/cloze-maxmin/go/clozeTest.json", 0,
              {"item": {"idx": "maxmin-9", "nl_tokens": [], "pl_tokens": ["return", "<mask>", "\n", "}"]},
               "answer": "max"})
    en = src.to_records(row)[0]
    assert en["input"] == "return <mask>\n}" and en["output"] == "max"


def test_join_helpers():
    assert src.join_code(["func", "f", "(", ")", "{", "\n", "x", "\n\n", "}"]) == "func f ( ) {\nx\n\n}"
    assert src.join_text(["Get", "the", "max", "(", "or", "min", ")", "."]) == "Get the max (or min)."
    assert src.parse_answers("a-1<CODESPLIT>max\nbroken line\n a-2 <CODESPLIT> min \n") == {"a-1": "max", "a-2": "min"}


def test_shared_slice_has_no_answers(shared_raw):
    res = convert_source(NAME, shared_raw, progress=False)
    assert res.status == "built"
    assert res.units_read == res.units_quarantined == 76 + 241 + 136 + 204 + 632 + 19
    assert res.units_kept == 0 and res.records_made == 0
    assert dict(res.quarantine_reasons) == {"no answer": res.units_read}
