"""The codesearchnet source: bundled sample, nasty fixtures, helpers, and the shared raw slice."""
from __future__ import annotations

import collections
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mulco import record
from mulco.build import convert_source, sample_raw_dir
from mulco.sources import codesearchnet as src
from helpers import convert_files
from mulco.sources.base import TRANSLATE_KEY, BadRow, Row

NAME = "codesearchnet"
NASTY = Path(__file__).parent / "fixtures" / "raw" / NAME
SAMPLE_FILES = ["codesearchnet/go/final/jsonl/test/go_test_0.jsonl.gz", "codesearchnet/python/train.jsonl",
                "codesearchnet/ruby/test.jsonl"]
NASTY_FILES = ["codesearchnet/javascript/valid.jsonl", "codesearchnet/php/final/jsonl/valid/php_valid_0.jsonl.gz"]
FIXTURE_FILES = [(sample_raw_dir(), f) for f in SAMPLE_FILES] + [(NASTY, f) for f in NASTY_FILES]


def convert(raw_dir: Path, files: list[Path]):
    return convert_files(src, raw_dir, files)


def schema_errors(rec: dict) -> list:
    return list(record.errors({k: v for k, v in rec.items() if k != TRANSLATE_KEY}))


@pytest.mark.parametrize("raw_dir,rel_path", FIXTURE_FILES, ids=[f for _, f in FIXTURE_FILES])
def test_fixture_file_records_validate(raw_dir, rel_path):
    records, rejected, bad = convert(raw_dir, [raw_dir / rel_path])
    assert records or rejected
    for rec in records:
        assert schema_errors(rec) == [], rec
        assert rec["source_id"].startswith(rel_path + ":")
        assert (rec["lang"] == "zh" and rec["task"] != "code_search") == (TRANSLATE_KEY in rec)


def test_first_sample_record_is_pinned():
    res = convert_source(NAME, sample_raw_dir(), progress=False)
    split, first = res.records[0]
    assert split == "test"
    assert first == {
        "id": "095aaf85b620107f",
        "instruction": "Read the Go code and state its purpose concisely.",
        "input": "func Max(a, b int) int {\n\tif a > b {\n\t\treturn a\n\t}\n\treturn b\n}",
        "output": "Max returns the larger of a and b.",
        "task": "code_summarization",
        "subtask": None,
        "lang": "en",
        "plang": "go",
        "target_plang": None,
        "source": "codesearchnet",
        "source_id": "codesearchnet/go/final/jsonl/test/go_test_0.jsonl.gz:1",
        "license": "MIT",
        "text_origin": "template",
    }
    assert res.pending[0][1] == {**first, "id": "c2311d83dde49d5e", "instruction": "为这个 Go 函数编写文档说明。",
                                 "lang": "zh", TRANSLATE_KEY: ("output",), "text_origin": "machine_translation"}


def test_sample_makes_every_task_in_both_languages():
    res = convert_source(NAME, sample_raw_dir(), progress=False)
    assert (res.units_read, res.units_kept, res.units_quarantined) == (9, 9, 0)
    kinds = collections.Counter((r["task"], r["subtask"], r["lang"]) for _, r in res.records + res.pending)
    for key in [("code_summarization", None), ("code_generation", None), ("code_search", "code_completion"),
                ("code_search", "cloze_test")]:
        assert kinds[(*key, "en")] == kinds[(*key, "zh")] > 0
    licenses = {(r["plang"], r["license"]) for _, r in res.records}
    assert licenses == {("go", "MIT"), ("python", "C-UDA-1.0"), ("ruby", "C-UDA-1.0")}
    assert {s for s, _ in res.records} == {"train", "test"}
    pending = collections.Counter((r["task"], r[TRANSLATE_KEY]) for _, r in res.pending)
    assert pending == {("code_summarization", ("output",)): 9, ("code_generation", ("input",)): 9}


def test_python_summary_input_has_no_docstring():
    res = convert_source(NAME, sample_raw_dir(), progress=False)
    for _, r in res.records:
        if r["plang"] == "python" and r["task"] == "code_summarization":
            assert r["output"] not in r["input"] and '"""' not in r["input"] and "'''" not in r["input"]


def test_nasty_fixtures_are_quarantined_with_reasons():
    res = convert_source(NAME, NASTY, progress=False)
    assert res.units_read == res.units_kept + res.units_quarantined == 11
    assert res.units_kept == 4
    reasons = {(q["line"], q["reason"].split(":")[0]) for q in res.quarantine}
    assert reasons == {
        (2, "bad JSON"), (3, "invalid UTF-8"), (4, "missing field 'docstring'"),
        (5, "field 'code' is empty"), (7, "unknown language"), (8, "empty docstring"), ("eof", "unreadable file"),
    }
    # the one-line function makes no completion record; the one without vocabulary words no cloze record
    made = collections.Counter((r["source_id"].rsplit(":", 1)[1], r["subtask"]) for _, r in res.records)
    assert ("9", "code_completion") not in made and ("9", "cloze_test") in made
    assert ("10", "code_completion") in made and ("10", "cloze_test") not in made


def test_first_paragraph():
    assert src.first_paragraph("Does X.\n  And Y.\n\nMore text.") == "Does X. And Y."
    assert src.first_paragraph("Returns the sum.\n@param a first\n@return int") == "Returns the sum."
    assert src.first_paragraph("Compute it.\n:param x: the input\n") == "Compute it."
    assert src.first_paragraph("Compute it.\n\nArgs:\n  x: y") == "Compute it."
    assert src.first_paragraph("\n @return nothing") == ""


@pytest.mark.parametrize("code,expected", [
    ('def f(x):\n    """Doc."""\n    return x', "def f(x):\n    return x"),
    ("def f(x):\n    '''Doc.\n\n    More.\n    '''\n    return x", "def f(x):\n    return x"),
    ('@cached\ndef f(a: int,\n      b: dict = {"k": (1)}) -> Dict[str, int]:  # note\n    r"""Doc \\" q."""\n    pass',
     '@cached\ndef f(a: int,\n      b: dict = {"k": (1)}) -> Dict[str, int]:  # note\n    pass'),
    ("def f(x):\n    return 'not a docstring'", "def f(x):\n    return 'not a docstring'"),
    ("def f(x): return x", "def f(x): return x"),
])
def test_strip_py_docstring(code, expected):
    assert src.strip_py_docstring(code) == expected
    assert src.strip_py_docstring(code, "Doc.") == expected
    assert src.strip_py_docstring(code, "Something else entirely.") == code


def test_cut_line_and_mask_word():
    assert src.cut_line("a\nb", 0) is None
    assert src.cut_line("a\nb\nc", 7) == ("a\nb", "c")
    assert src.cut_line("a\nb\n\n   d  ", 0) == ("a\nb\n", "d")
    assert src.mask_word('x = "max" # min\nlen', "python", 0) == ('x = "max" # min\n<mask>', "len")
    assert src.mask_word("// max\nreturn `len`", "go", 0) == ("// max\n<mask> `len`", "return")
    assert src.mask_word("$maximum = 1e5;", "php", 0) is None
    assert src.mask_word("nothing here", "ruby", 3) is None


def test_conversion_is_deterministic():
    a = convert_source(NAME, sample_raw_dir(), progress=False)
    b = convert_source(NAME, sample_raw_dir(), progress=False)
    assert a.records == b.records and a.pending == b.pending


def test_shared_slice(shared_raw):
    res = convert_source(NAME, shared_raw, progress=False)
    assert res.status == "built"
    assert res.units_read == res.units_kept + res.units_quarantined == 631 + 700
    assert res.units_kept == res.units_read  # every ruby row gives records
    assert res.records_made == len(res.records) + len(res.pending)
    kinds = collections.Counter((r["task"], r["subtask"], r["lang"]) for _, r in res.records + res.pending)
    assert kinds[("code_summarization", None, "en")] == kinds[("code_generation", None, "zh")] == 1331
    assert kinds[("code_search", "code_completion", "en")] == kinds[("code_search", "code_completion", "zh")] > 1200
    assert kinds[("code_search", "cloze_test", "en")] == kinds[("code_search", "cloze_test", "zh")] > 1200
    assert {s for s, _ in res.records} == {"test", "validation"}
    assert all(not schema_errors(r) for _, r in res.records + res.pending)


_PIECES = list("abdefilmnorstuxz_ ()[]{}:;=,.\"'#/\n\t$@\\") + ["max", "len", "return", '"""', "def f(x):\n", "//"]
_code_text = st.lists(st.sampled_from(_PIECES), max_size=80).map("".join)


@settings(max_examples=200, deadline=None)
@given(code=_code_text, plang=st.sampled_from(src.PLANGS), doc=st.text(max_size=60))
def test_any_row_gives_valid_records_or_bad_row(code, plang, doc):
    row = Row("codesearchnet/x/train.jsonl", 1, {"language": plang, "code": code, "docstring": doc}, "train")
    try:
        made = src.to_records(row)
    except BadRow:
        return
    for rec in made:
        assert schema_errors(rec) == []
    for rec in made:
        if rec["subtask"] == "cloze_test":
            assert rec["input"].count("<mask>") >= 1 and rec["output"] in src.cloze_vocab()
        if rec["subtask"] == "code_completion":
            assert rec["output"] == rec["output"].strip() and rec["output"]


@settings(max_examples=200, deadline=None)
@given(code=_code_text, plang=st.sampled_from(src.PLANGS), pick=st.integers(min_value=0, max_value=2**64))
def test_mask_word_replaces_one_whole_word(code, plang, pick):
    masked = src.mask_word(code, plang, pick)
    if masked is None:
        return
    text, word = masked
    assert text.count(src.MASK) == 1 and word in src.cloze_vocab()
    start = text.index(src.MASK)
    assert text[:start] + word + text[start + len(src.MASK):] == code
    before, after = code[start - 1:start], code[start + len(word):start + len(word) + 1]
    assert not before or not (before.isalnum() or before in "_$@")
    assert not after or not (after.isalnum() or after in "_$")


def test_cloze_uses_ct_all_word_list_when_the_raw_folder_has_it(tmp_path):
    """Issue 11: cloze items are made with CodeXGLUE ClozeTesting-all's vocabulary when present
    (then listed among the source's files), with the bundled list only as the fallback."""
    import json
    import shutil

    (tmp_path / "codesearchnet" / "ruby").mkdir(parents=True)
    shutil.copy(sample_raw_dir() / "codesearchnet/ruby/test.jsonl", tmp_path / "codesearchnet/ruby/test.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "codesearchnet/ruby/test.jsonl").read_text().splitlines()]

    def cloze_answers():
        res = convert_source("codesearchnet", tmp_path, progress=False)
        return res, {r["source_id"]: r["output"] for _, r in res.records
                     if r.get("subtask") == "cloze_test" and r["lang"] == "en"}

    res, fallback = cloze_answers()
    assert src.CT_ALL_WORDS not in res.files and set(fallback.values()) <= src.cloze_vocab()
    # a word list of one identifier that occurs in the first function only
    word = next(w for w in sorted(set(__import__("re").findall(r"[A-Za-z_]\w*", rows[0]["code"])))
                if w not in src.cloze_vocab() and w not in rows[0]["docstring"] and len(w) > 3)
    words = tmp_path / src.CT_ALL_WORDS
    words.parent.mkdir(parents=True)
    words.write_text(f"{word}\nneverseenword")
    res, ct_all = cloze_answers()
    assert src.CT_ALL_WORDS in res.files  # named (and hashed) in the report's provenance
    assert set(ct_all.values()) == {word} and len(ct_all) >= 1
    assert res.units_read == len(rows) == res.units_kept + res.units_quarantined
