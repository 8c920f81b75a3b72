"""codepro: StaQC labelled candidates (one Python literal per file) -> query_to_code records."""
from __future__ import annotations

from pathlib import Path

from hypothesis import assume, given, settings, strategies as st

from mulco import record
from mulco.build import convert_source
from mulco.sources import codepro
from mulco.sources.base import Rejected

NASTY = Path(__file__).parent / "fixtures" / "raw" / "codepro"

FIRST = {
    "id": "d590e69dc48d5c8c",
    "instruction": "Find the Python code among the 3 candidates that answers this question; if several do, list them all.",
    "input": (
        "Question: How do I remove duplicates from a list in Python?\n\n"
        "Candidate 1:\n```python\nunique = list(set(items))\n```\n\n"
        "Candidate 2:\n```python\nunique = list(dict.fromkeys(items))\n```\n\n"
        "Candidate 3:\n```python\n[3, 1, 2]\n```"
    ),
    "output": "1, 2",
    "task": "code_search",
    "subtask": "query_to_code",
    "lang": "en",
    "plang": "python",
    "target_plang": None,
    "source": "codepro",
    "source_id": "codepro/data_hnn/python_hnn_qid2index_blocks_labeled.txt:qid=9000001",
    "license": "CC-BY-4.0",
    "text_origin": "template",
}


def test_first_sample_record_is_pinned(sample_raw):
    res = convert_source("codepro", sample_raw, progress=False)
    assert res.records[0][1] == FIRST


def test_sample_groups_items_by_question_and_makes_en_and_zh(sample_raw):
    res = convert_source("codepro", sample_raw, progress=False)
    # two questions of the sample have one candidate: nothing to choose, quarantined (issue 11)
    assert (res.units_read, res.units_kept, res.units_quarantined) == (11, 9, 2)
    assert {q["reason"] for q in res.quarantine} == {"one candidate only: nothing to choose between"}
    recs = [r for _, r in res.records]
    assert len(recs) == 8  # 4 questions x (en, zh)
    for r in recs:
        assert list(record.errors(r)) == [], r
    zh = recs[1]
    assert zh["lang"] == "zh" and zh["input"].startswith("问题：How do I remove duplicates")
    assert "\n\n候选 2：\n```python\n" in zh["input"] and zh["output"] == "1, 2"
    assert not [r for r in recs if r["source_id"].endswith("qid=9000003")]  # the one-candidate question
    assert {r["plang"] for r in recs} == {"python", "sql"}


def test_nasty_fixture_salvages_items_and_reconciles():
    res = convert_source("codepro", NASTY, progress=False)
    assert res.units_read == res.units_kept + res.units_quarantined
    assert (res.units_read, res.units_kept, res.units_quarantined) == (12, 4, 8)
    got = {(q["file"].split("/")[-1].split("_")[0], q["line"]): q["reason"] for q in res.quarantine}
    assert got[("python", 2)].startswith("Python literal syntax error in item at character 137")
    assert got[("python", 4)] == "not a plain Python literal: item at character 279 holds names or calls"
    assert got[("python", "qid=3")] == "no candidate labelled as an answer"
    assert got[("python", "qid=5")] == got[("sql", "qid=10")] == "one candidate only: nothing to choose between"
    assert got[("sql", 1)] == "duplicate candidate: question 10 block 0 listed twice"
    assert got[("sql", 2)] == "bad item shape: expected a 6-element list"
    assert got[("sql", 3)] == "bad item shape: label 2 is not 0 or 1"
    outputs = {r["source_id"].split(":", 1)[1]: r["output"] for _, r in res.records}
    assert outputs == {"qid=1": "1", "qid=13": "2"}


def test_no_item_is_ever_evaluated():
    text = "[[(1, 0), [['a'], ['b']], [[__import__('os').system('exit 1')]], ['t'], 1, 1]]"
    (unit,) = codepro.parse_items(text, "x.txt")
    assert isinstance(unit, Rejected) and unit.reason.startswith("not a plain Python literal")


def test_clean_code_drops_the_staqc_leading_space():
    assert codepro.clean_code(" import os\nos.getcwd()\n") == "import os\nos.getcwd()"
    assert codepro.clean_code("  09:11\n 09:16\n") == " 09:11\n 09:16"


_items = st.lists(
    st.tuples(st.integers(0, 10**8), st.integers(0, 20), st.text(max_size=30), st.text(max_size=30),
              st.integers(0, 1)),
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(_items)
def test_salvage_reads_a_valid_file_like_literal_eval(specs):
    items = [[(q, b), [[t], [t]], [[c]], [t], 3, lab] for q, b, t, c, lab in specs]
    text = repr(items)
    assert [x for _, x in codepro.parse_items(text, "f")] == items
    # the salvage path splits at item starts and must give the same items back
    assume(items and all("[(" not in t + c for _, _, t, c, _ in specs))
    assert [x for _, x in codepro._salvage(text, "f")] == items


def test_shared_slice_reconciles_with_plausible_counts(shared_raw):
    res = convert_source("codepro", shared_raw, progress=False)
    assert res.units_read == res.units_kept + res.units_quarantined
    assert res.units_read == 2444 + 1819  # SOURCES.md: list items kept per file
    assert set(res.quarantine_reasons) == {"no candidate labelled as an answer", "one candidate only"}
    assert res.units_kept > 2500
    recs = [r for _, r in res.records]
    assert len(recs) % 2 == 0 and {r["plang"] for r in recs} == {"python", "sql"}
    for r in recs:
        assert list(record.errors(r)) == [], r["source_id"]
        assert all(n.isdigit() for n in r["output"].split(", "))
