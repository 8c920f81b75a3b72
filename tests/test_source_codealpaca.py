"""codealpaca: one JSON array of {instruction, input, output} -> English code_generation."""
from __future__ import annotations

import pytest

import json
from pathlib import Path

from mulco import record
from mulco.build import convert_source

NASTY = Path(__file__).parent / "fixtures" / "raw" / "codealpaca"

FIRST = {
    "id": "e6e4454e9e4a41cb",
    "instruction": "Write a Python function that returns the square of a number.",
    "input": "",
    "output": "def square(n):\n    return n * n",
    "task": "code_generation",
    "subtask": None,
    "lang": "en",
    "plang": "python",
    "target_plang": None,
    "source": "codealpaca",
    "source_id": "codealpaca/code_alpaca_20k.json:0",
    "license": "CC-BY-NC-4.0",
    "text_origin": "native",
}


def test_first_sample_record_is_pinned(sample_raw):
    res = convert_source("codealpaca", sample_raw, progress=False)
    assert res.records[0][1] == FIRST


def test_sample_is_indented_like_the_original_and_all_records_are_valid(sample_raw):
    text = (sample_raw / "codealpaca/code_alpaca_20k.json").read_text(encoding="utf-8")
    assert text.startswith('[\n      {\n            "instruction": ') and not text.endswith("\n")
    assert len(json.loads(text)) == 6
    res = convert_source("codealpaca", sample_raw, progress=False)
    assert (res.units_read, res.units_kept, res.units_quarantined) == (6, 6, 0)
    recs = [r for _, r in res.records]
    for r in recs:
        assert list(record.errors(r)) == [], r
    # the HTML answer has no MulCo language (the sample's prose answer became HTML: prose is
    # quarantined now, issue 11)
    assert [r["plang"] for r in recs] == ["python", "sql", "javascript", None, "java", "ruby"]


def test_nasty_fixture_is_quarantined_with_reasons_and_reconciles():
    res = convert_source("codealpaca", NASTY, progress=False)
    assert res.units_read == res.units_kept + res.units_quarantined
    assert (res.units_read, res.units_kept, res.units_quarantined) == (4, 1, 3)
    got = {q["line"]: q["reason"] for q in res.quarantine}
    assert got[1].startswith("bad JSON in array item: starting at line 7")
    assert got[2] == "field 'output' is empty"
    assert got[3] == "field 'input' is int, expected a string"


def test_shared_slice_reconciles_with_plausible_counts(shared_raw):
    res = convert_source("codealpaca", shared_raw, progress=False)
    assert res.units_read == res.units_kept + res.units_quarantined
    assert res.units_read == 1009  # SOURCES.md: first 1009 array items of code_alpaca_2k.json
    assert res.units_kept >= 900  # prose answers (~9 %) are quarantined (issue 11)
    assert set(res.quarantine_reasons) <= {"prose answer, not code", "field 'output' is empty"}
    for _, r in res.records:
        assert list(record.errors(r)) == [], r["source_id"]


def _row(instruction, output, inp=""):
    from mulco.sources.base import Row

    return Row("codealpaca/code_alpaca_20k.json", 1, {"instruction": instruction, "input": inp, "output": output})


@pytest.mark.parametrize("output, plang", [
    ("def getOddNumbers(n):\n  for number in range(1, n+1):\n    if number % 2 != 0:\n      print(number)\n\n"
     "getOddNumbers(10)\n\n# Output\n1 3 5 7 9", "python"),
    ("new_list = [num*2 for num in my_list]", "python"),
    ("SELECT name FROM customers WHERE city = 'Paris';", "sql"),
    ("function getMax(arr) {\n  let max = arr[0];\n  return max;\n}", "javascript"),
    ("#include <stdio.h>\n\nint main() {\n    printf(\"hi\");\n    return 0;\n}", "c"),
    ("<h1>My Page</h1>\n<p>Hello</p>", None),  # HTML: no MulCo language
    ("func f(a: Int) -> Int {\n    return a\n}\nprint(f(a: 1))", None),  # Swift: Python markers, no Python parse
])
def test_plang_is_detected_by_a_parse_when_nothing_names_it(output, plang):
    from mulco.sources import codealpaca

    (r,) = codealpaca.to_records(_row("Solve the task.", output))
    assert r["plang"] == plang


def test_prose_answers_are_quarantined_by_the_rule():
    from mulco.sources import codealpaca
    from mulco.sources.base import BadRow

    prose = ("Object-oriented programming is a paradigm built on objects that hold data and behaviour. "
             "It relies on classes, inheritance and encapsulation.")
    with pytest.raises(BadRow, match="prose answer"):
        codealpaca.to_records(_row("What is OOP?", prose))
    # a one-line answer with code symbols, and a short answer, are not prose
    assert codealpaca.to_records(_row("What is the output?", "[0, 6, 12, 18]"))
    assert codealpaca.to_records(_row("Is 7 prime?", "Yes."))
