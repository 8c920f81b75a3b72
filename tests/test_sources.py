"""Every raw source of the registry, then each source's own checks.

Part 1 runs over ``mulco.sources.REGISTRY``: each source's first record from the bundled sample is
pinned in ``tests/fixtures/first_records.json`` (a source added to the registry fails here until
its first record is added there), its sample and nasty-fixture records validate, its units
reconcile (read = kept + quarantined), and a raw folder without it finds nothing.
Part 2 has one section per source: the quarantine reasons of its nasty fixture
(``tests/fixtures/raw/<source>/``), its helpers, and the shared raw slice.
"""
from __future__ import annotations

import collections
import functools
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from helpers import convert_files
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mulco import record, sources
from mulco.build import convert_source, sample_raw_dir
from mulco.sources import bigclonebench, codealpaca, codegpt_cn, codepro, codesearchnet, codexglue_cloze
from mulco.sources import codexglue_line_completion, codexglue_refinement, codexglue_translation, devign
from mulco.sources.base import TRANSLATE_KEY, BadRow, MissingSourceFile, Rejected, Row

FIXTURES = Path(__file__).parent / "fixtures"
FIRST_RECORDS = FIXTURES / "first_records.json"
NAMES = sources.names()


def nasty_dir(name: str) -> Path:
    return FIXTURES / "raw" / name


@functools.lru_cache(maxsize=None)
def sample(name: str):
    """The source converted from the bundled sample (once per session: tests only read it)."""
    return convert_source(name, sample_raw_dir(), progress=False)


@functools.lru_cache(maxsize=None)
def nasty(name: str):
    """The source converted from its nasty fixture (once per session)."""
    return convert_source(name, nasty_dir(name), progress=False)


def schema_errors(rec: dict) -> list:
    """Schema problems of a record; a record waiting for translation is checked without its marker."""
    return list(record.errors({k: v for k, v in rec.items() if k != TRANSLATE_KEY}))


@pytest.fixture(autouse=True)
def _never_extract(monkeypatch):
    """Zip members are read in memory: a path from a zip must never reach the file system."""
    def refuse(*a, **k):
        raise AssertionError("a source must not extract zip members")
    monkeypatch.setattr(zipfile.ZipFile, "extract", refuse)
    monkeypatch.setattr(zipfile.ZipFile, "extractall", refuse)


# ============================================================================================
# Part 1: every source of the registry


def _pinned() -> dict:
    table = json.loads(FIRST_RECORDS.read_text(encoding="utf-8"))
    for entry in table.values():  # JSON has no tuples: the translation marker is one
        pending = entry.get("pending", {}).get("record", {})
        if TRANSLATE_KEY in pending:
            pending[TRANSLATE_KEY] = tuple(pending[TRANSLATE_KEY])
    return table


def test_the_pinned_table_lists_only_registered_sources():
    assert sorted(_pinned()) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_first_sample_record_is_pinned(name):
    table = _pinned()
    assert name in table, (f"{name} has no pinned first record: add its first sample record (split, record) "
                           f"to {FIRST_RECORDS.relative_to(Path(__file__).parent)}")
    res = sample(name)
    split, first = res.records[0]
    assert {"split": split, "record": first} == {"split": table[name]["split"], "record": table[name]["record"]}
    if res.pending or "pending" in table[name]:
        split, first = res.pending[0]
        assert {"split": split, "record": first} == table[name]["pending"]


@pytest.mark.parametrize("name", NAMES)
def test_sample_records_are_valid_unique_and_units_reconcile(name):
    res = sample(name)
    assert res.status == "built" and res.units_read > 0 and res.records
    assert res.units_read == res.units_kept + res.units_quarantined
    recs = [r for _, r in res.records + res.pending]
    assert res.records_made == len(recs)
    for r in recs:
        assert schema_errors(r) == [], r
        assert r["source"] == name
        assert (TRANSLATE_KEY in r) == (r["text_origin"] == "machine_translation")
    assert len({r["id"] for r in recs}) == len(recs)
    assert {s for s, _ in res.records + res.pending} <= {"train", "validation", "test"}


@pytest.mark.parametrize("name", NAMES)
def test_nasty_fixture_is_quarantined_with_reasons_and_reconciles(name):
    assert nasty_dir(name).is_dir(), f"{name} needs a nasty fixture in {nasty_dir(name)}"
    res = nasty(name)
    assert res.units_read == res.units_kept + res.units_quarantined
    assert res.units_quarantined > 0 and len(res.quarantine) > 0
    assert all(q["reason"] and q["file"] for q in res.quarantine)
    for _, r in res.records + res.pending:
        assert schema_errors(r) == [], r


@pytest.mark.parametrize("name", NAMES)
def test_a_raw_folder_without_the_source_finds_nothing(name, tmp_path):
    assert sources.get(name).find(tmp_path) == []
    assert sources.get(name).find(tmp_path / "nowhere") == []
    res = convert_source(name, tmp_path, progress=False)
    assert res.units_read == 0 and not res.records


# ============================================================================================
# Part 2: each source's own checks


# --------------------------------------------------------------------------------------------
# bigclonebench: pairs of Java functions -> clone_detection Yes/No records (EN + ZH)

BCB_NASTY = nasty_dir("bigclonebench")


def test_bigclonebench_sample_makes_en_and_zh_for_every_pair():
    res = sample("bigclonebench")
    assert (res.units_read, res.units_kept, res.units_quarantined) == (8, 8, 0)
    recs = [r for _, r in res.records]
    assert len(recs) == 16 and {r["lang"] for r in recs} == {"en", "zh"}
    zh = recs[1]
    assert zh["lang"] == "zh" and zh["output"] in ("是", "否")
    assert zh["input"].startswith("代码 1：\n```java\n") and "\n\n代码 2：\n```java\n" in zh["input"]
    assert {s for s, _ in res.records} == {"train", "validation", "test"}
    outputs = {(r["source_id"].rsplit(":", 1)[0].rsplit("/", 1)[1], r["lang"], r["output"]) for r in recs}
    assert ("train.txt", "en", "Yes") in outputs and ("train.txt", "zh", "否") in outputs


def test_bigclonebench_nasty_reasons():
    res = nasty("bigclonebench")
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


def test_bigclonebench_pair_files_without_data_jsonl_is_a_missing_source_file(tmp_path):
    d = tmp_path / bigclonebench.DIR
    d.mkdir(parents=True)
    shutil.copy(BCB_NASTY / bigclonebench.DIR / "train.txt", d / "train.txt")
    with pytest.raises(MissingSourceFile, match="data.jsonl"):
        bigclonebench.find(tmp_path)
    res = convert_source("bigclonebench", tmp_path, progress=False)
    assert res.status == "skipped" and "data.jsonl" in res.message


def test_bigclonebench_is_absent_from_the_shared_slice(shared_raw):
    assert bigclonebench.find(shared_raw) == []


# --------------------------------------------------------------------------------------------
# codealpaca: one JSON array of {instruction, input, output} -> English code_generation


def test_codealpaca_sample_is_indented_like_the_original():
    text = (sample_raw_dir() / "codealpaca/code_alpaca_20k.json").read_text(encoding="utf-8")
    assert text.startswith('[\n      {\n            "instruction": ') and not text.endswith("\n")
    assert len(json.loads(text)) == 6
    res = sample("codealpaca")
    assert (res.units_read, res.units_kept, res.units_quarantined) == (6, 6, 0)
    recs = [r for _, r in res.records]
    # the HTML answer has no MulCo language (the sample's prose answer became HTML: prose is
    # quarantined now, issue 11)
    assert [r["plang"] for r in recs] == ["python", "sql", "javascript", None, "java", "ruby"]


def test_codealpaca_nasty_reasons():
    res = nasty("codealpaca")
    assert (res.units_read, res.units_kept, res.units_quarantined) == (4, 1, 3)
    got = {q["line"]: q["reason"] for q in res.quarantine}
    assert got[1].startswith("bad JSON in array item: starting at line 7")
    assert got[2] == "field 'output' is empty"
    assert got[3] == "field 'input' is int, expected a string"


def test_codealpaca_shared_slice_reconciles_with_plausible_counts(shared_raw):
    res = convert_source("codealpaca", shared_raw, progress=False)
    assert res.units_read == res.units_kept + res.units_quarantined
    assert res.units_read == 1009  # SOURCES.md: first 1009 array items of code_alpaca_2k.json
    assert res.units_kept >= 870  # prose answers (~9 %, issue 11) and values (~3 %, issue 23) are quarantined
    assert set(res.quarantine_reasons) <= {"prose answer, not code", "value answer, not code", "field 'output' is empty"}
    for _, r in res.records:
        assert list(record.errors(r)) == [], r["source_id"]


def _alpaca_row(instruction, output, inp=""):
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
def test_codealpaca_plang_is_detected_by_a_parse_when_nothing_names_it(output, plang):
    (r,) = codealpaca.to_records(_alpaca_row("Solve the task.", output))
    assert r["plang"] == plang


def test_codealpaca_prose_answers_are_quarantined_by_the_rule():
    prose = ("Object-oriented programming is a paradigm built on objects that hold data and behaviour. "
             "It relies on classes, inheritance and encapsulation.")
    with pytest.raises(BadRow, match="prose answer"):
        codealpaca.to_records(_alpaca_row("What is OOP?", prose))
    # a one-line answer with code symbols, and a short answer, are not prose: values (next test)
    with pytest.raises(BadRow, match="value answer"):
        codealpaca.to_records(_alpaca_row("What is the output?", "[0, 6, 12, 18]"))


@pytest.mark.parametrize("output, kind", [
    ("19", "value"), ("List", "value"), ("[0, 1, 3, 4, 6, 9]", "value"), ("Max: 20\nMin: 0", "value"),
    ("dlroW olleH", "value"), ("pet", "value"), ("true", "value"), ('"Let\'s*have***some*fun!"', "value"),
    ("The complexity of binary search is O(log n).", "prose"),
    ("1. Initialize an empty string\n2. Iterate through the given string from the end\n3. Return it", "prose"),
    ("There are 4 functions in the given code: add(), sub(), mul() and div().", "prose"),
    # code in a language MulCo has no label for stays code generation
    ("<h1>My Page</h1>", None), ("p {\n  font-weight: bold;\n}", None), ("mkdir test", None),
    ("^[0-9]{3}$", None), ("#!/bin/bash\necho hi", None), ("my_list.remove(3)", None), ("pos = (3,4)", None),
    ("//*[@id=\"main\"]", None), ("curl -X POST https://example.com", None),
    ("The pattern is:\n/^[A-Z0-9._%+-]+@[A-Z0-9.-]+$/", None),
])
def test_codealpaca_answers_without_a_language_that_are_values_or_prose_are_not_code_generation(output, kind):
    from mulco.sources import plangs

    assert plangs.not_code(output) == kind
    if kind:
        with pytest.raises(BadRow, match=f"{kind} answer, not code"):
            codealpaca.to_records(_alpaca_row("Find the sum of the numbers in the given list.", output))
    else:
        (r,) = codealpaca.to_records(_alpaca_row("Do it.", output))
        assert r["output"] == output
    # with a language, the parse step judges the answer instead
    assert codealpaca.to_records(_alpaca_row("Compute it in Python.", "19"))[0]["plang"] == "python"


# --------------------------------------------------------------------------------------------
# codegpt_cn: a zip of JSON arrays with GBK member names -> Chinese code_generation records

GPT_QA = "no code in answer (knowledge Q&A, outside the taxonomy)"


def test_codegpt_cn_sample_is_chinese_with_plang_from_names_fences_and_requests():
    res = sample("codegpt_cn")
    assert (res.units_read, res.units_kept, res.units_quarantined) == (17, 14, 3)
    assert dict(res.quarantine_reasons) == {GPT_QA: 3}
    recs = [r for _, r in res.records]
    for r in recs:
        assert r["lang"] == "zh" and r["input"] == "" and r["task"] == "code_generation"
    plang = {r["source_id"].split("!", 1)[1]: r["plang"] for r in recs}
    assert plang["code-leetcode/leetcode.json:1"] == "cpp"
    assert plang["code-medium/Go.json:0"] == "go"
    assert plang["code-basic/C#.json:0"] == "csharp"
    assert plang["code-basic/Python3.json:0"] == "python"
    assert plang["code-text/C语言.json:0"] == "c"  # fence tag
    assert plang["code-text/C语言.json:2"] == "c"  # untagged fence, language from the member name


def test_codegpt_cn_member_names_are_decoded_from_gbk():
    with zipfile.ZipFile(sample_raw_dir() / codegpt_cn.ZIP) as z:
        names = [codegpt_cn.member_name(i) for i in z.infolist()]
        assert not any(i.flag_bits & 0x800 for i in z.infolist())
    assert "code-text/C语言.json" in names and "code-text/数据结构.json" in names


@pytest.mark.parametrize("member, plang", [
    ("code-basic/Python3.json", "python"), ("code-medium/python3.json", "python"), ("code-basic/C#.json", "csharp"),
    ("code-basic/Cpp.json", "cpp"), ("code-basic/JavaScript.json", "javascript"), ("code-medium/java.json", "java"),
    ("code-basic/C.json", "c"), ("code-text/C语言.json", "c"), ("code-text/Go语言.json", "go"),
    ("code-text/Python基础.json", "python"), ("code-text/Java集合.json", "java"), ("code-text/SQL.json", "sql"),
    ("code-text/C++.json", "cpp"), ("code-text/CCNA.json", None), ("code-text/Scala.json", None),
    ("code-text/Git.json", None), ("code-text/数据结构.json", None),
])
def test_codegpt_cn_plang_from_member_name(member, plang):
    assert codegpt_cn.plang_from_name(member) == plang


def test_codegpt_cn_leetcode_language_comes_from_the_request():
    assert codegpt_cn.choose_plang("code-leetcode/leetcode.json", "请用java完成以下题目：\n…", "```\nx\n```") == "java"
    assert codegpt_cn.choose_plang("code-leetcode/leetcode.json", "完成以下题目", "```sql\nSELECT 1\n```") == "sql"


def test_codegpt_cn_nasty_reasons():
    res = nasty("codegpt_cn")
    assert (res.units_read, res.units_kept, res.units_quarantined) == (13, 4, 9)
    got = {(q["file"].split("!", 1)[-1], q["line"]): q["reason"] for q in res.quarantine}
    zip_name = "codegpt/CodeGPT-Dataset-V1-CN.zip"
    assert got[(zip_name, "member b'code-text/\\xff\\xfe.json'")] == \
        "undecodable member name: not GBK (and no UTF-8 flag)"
    assert got[("notes/readme.json", "member")].startswith("unknown member")
    assert got[("code-medium/C.json", "member")] == "invalid UTF-8: at byte 0"
    assert got[("code-medium/Go.json", 1)].startswith("bad JSON in array item")
    assert got[("code-basic/PHP.json", 0)] == "field 'assistant' is empty"
    assert got[("code-basic/PHP.json", 1)] == "field 'user' is empty"
    assert got[("code-basic/Rust.json", 0)].startswith("no MulCo programming language")
    assert got[("code-text/Scala.json", 0)].startswith("no MulCo programming language")
    assert got[("code-text/Scala.json", 1)] == GPT_QA
    kept = sorted(r["source_id"].split("!", 1)[1] for _, r in res.records)
    # BOM + CRLF member, UTF-8-flagged member name, items around a broken one
    assert kept == ["code-basic/Ruby.json:0", "code-medium/Go.json:0", "code-medium/Go.json:2",
                    "code-text/Java集合.json:0"]


def test_codegpt_cn_shared_slice_reconciles_with_plausible_counts(shared_raw):
    res = convert_source("codegpt_cn", shared_raw, progress=False)
    assert res.status == "built"
    assert res.units_read == res.units_kept + res.units_quarantined
    assert res.units_read == 16057  # SOURCES.md: 16057 records kept in the shared slice
    assert 14000 <= res.units_kept <= res.units_read
    assert set(res.quarantine_reasons) <= {GPT_QA, "no MulCo programming language", "cut off",
                                           "code lines run together into one line"}
    recs = [r for _, r in res.records]
    assert len(recs) == res.units_kept
    assert {r["plang"] for r in recs} == {"python", "java", "javascript", "cpp", "c", "csharp", "go", "php",
                                          "ruby", "sql"}
    for r in recs:
        assert list(record.errors(r)) == [], r["source_id"]


def _gpt_row(user, assistant, member="code-basic/Python3.json"):
    return Row(f"codegpt/CodeGPT-Dataset-V1-CN.zip!{member}", 0, {"user": user, "assistant": assistant})


def test_codegpt_cn_markup_residue_in_requests_is_normalised():
    (r,) = codegpt_cn.to_records(_gpt_row("用python3读取文件</br>并打印\n\n\n\n每一行", "```python\nprint(1)\n```"))
    assert r["instruction"] == "用python3读取文件\n并打印\n\n每一行"


def test_codegpt_cn_html_leftovers_are_unescaped_where_they_are_residue():
    (r,) = codegpt_cn.to_records(_gpt_row("读取文件<br>并打印每一行，返回 List&lt;String&gt;", "```python\nprint(1)\n```"))
    assert r["instruction"] == "读取文件\n并打印每一行，返回 List<String>"
    # a request about HTML or escaping keeps its tags and entities
    about = "编写程序，用html.unescape()将\"&lt;p&gt;Hi&lt;/p&gt;\"转换为\"<p>Hi</p>\"，用python"
    (r,) = codegpt_cn.to_records(_gpt_row(about, "```python\nprint(1)\n```"))
    assert r["instruction"] == about
    (r,) = codegpt_cn.to_records(_gpt_row("如何在HTML中用<br>换行？请用PHP回答", "```php\necho 'a<br>';\n```"))
    assert "<br>" in r["instruction"] and r["output"] == "echo 'a<br>';"  # code keeps its <br> and its "&lt;"
    java = "```java\nList&lt;Integer&gt; xs = new ArrayList&lt;&gt;();\nString s = \"&lt;b&gt;\";\n```"
    (r,) = codegpt_cn.to_records(_gpt_row("用java创建列表", java))
    assert r["output"] == 'List<Integer> xs = new ArrayList<>();\nString s = "&lt;b&gt;";'
    mixed = "先创建列表&lt;T&gt;：<br>\n```java\nList&lt;T&gt; xs;\n```\n然后使用。"
    (r,) = codegpt_cn.to_records(_gpt_row("用java创建列表", mixed))
    assert r["output"] == "先创建列表<T>：\n\n```java\nList<T> xs;\n```\n然后使用。"


def test_codegpt_cn_double_spaced_leetcode_answers_are_undoubled():
    doubled = "class Solution {\n\npublic:\n\n    int f(int n) {\n\n        \n\n        return n;\n\n    }\n\n};"
    (r,) = codegpt_cn.to_records(_gpt_row("请用cpp完成以下题目：返回 n", doubled, member="code-leetcode/leetcode.json"))
    assert r["output"] == "class Solution {\npublic:\n    int f(int n) {\n        \n        return n;\n    }\n};"
    assert codegpt_cn.undouble("a\n\n\n\nb\n\nc\n\nd\n\ne") == "a\n\nb\nc\nd\ne"  # a blank line stays one
    single = "a\nb\n\nc\nd\ne"
    assert codegpt_cn.undouble(single) == single  # ordinary spacing
    # outside LeetCode, blank lines between statements are the author's
    (r,) = codegpt_cn.to_records(_gpt_row("用C++写", "```cpp\n" + doubled + "\n```"))
    assert r["output"] == doubled


def test_codegpt_cn_an_unclosed_last_fence_is_closed_when_its_code_parses_and_cut_off_otherwise():
    (r,) = codegpt_cn.to_records(_gpt_row("用Ruby生成随机数", "随机数：\n```ruby\nputs rand(100)\n", "code-basic/Ruby.json"))
    assert r["output"] == "随机数：\n```ruby\nputs rand(100)\n```"
    with pytest.raises(BadRow, match="cut off"):
        codegpt_cn.to_records(_gpt_row("用Ruby遍历", '```ruby\nhash.each { |k, v| puts "', "code-basic/Ruby.json"))


def test_codegpt_cn_a_java_member_answer_that_is_javascript_is_labelled_javascript():
    js = "```java\nconst nums = [1, 2, 3];\nconsole.log(nums.map(n => n * 2));\n```"
    (r,) = codegpt_cn.to_records(_gpt_row("用Java把数组翻倍", js, "code-basic/Java.json"))
    assert r["plang"] == "javascript"
    java = "```java\nint[] nums = {1, 2, 3};\nSystem.out.println(nums.length);\n```"
    (r,) = codegpt_cn.to_records(_gpt_row("用Java打印数组长度", java, "code-basic/Java.json"))
    assert r["plang"] == "java"


def test_codegpt_cn_an_answer_that_is_only_code_is_bare_and_one_mixing_prose_keeps_its_fences():
    (r,) = codegpt_cn.to_records(_gpt_row("用python3打印", "```python\nprint(1)\nprint(2)\n```"))
    assert r["output"] == "print(1)\nprint(2)"
    mixed = "先导入模块：\n```python\nimport os\nprint(os.getcwd())\n```\n输出当前目录。"
    (r,) = codegpt_cn.to_records(_gpt_row("用python3打印当前目录", mixed))
    assert r["output"] == mixed


def test_codegpt_cn_python_lines_run_together_are_quarantined():
    joined = "```python\nimport re string = \"abc123\" nums = re.findall(r'\\d+', string) print(nums) ```"
    with pytest.raises(BadRow, match="run together"):
        codegpt_cn.to_records(_gpt_row("用python3提取数字", joined))


# --------------------------------------------------------------------------------------------
# codepro: StaQC labelled candidates (one Python literal per file) -> query_to_code records


def test_codepro_sample_groups_items_by_question_and_makes_en_and_zh():
    res = sample("codepro")
    # two questions of the sample have one candidate: nothing to choose, quarantined (issue 11)
    assert (res.units_read, res.units_kept, res.units_quarantined) == (11, 9, 2)
    assert {q["reason"] for q in res.quarantine} == {"one candidate only: nothing to choose between"}
    recs = [r for _, r in res.records]
    assert len(recs) == 8  # 4 questions x (en, zh)
    zh = recs[1]
    assert zh["lang"] == "zh" and zh["input"].startswith("问题：How do I remove duplicates")
    assert "\n\n候选 2：\n```python\n" in zh["input"] and zh["output"] == "1, 2"
    assert not [r for r in recs if r["source_id"].endswith("qid=9000003")]  # the one-candidate question
    assert {r["plang"] for r in recs} == {"python", "sql"}


def test_codepro_nasty_salvages_items():
    res = nasty("codepro")
    assert (res.units_read, res.units_kept, res.units_quarantined) == (14, 6, 8)
    got = {(q["file"].split("/")[-1].split("_")[0], q["line"]): q["reason"] for q in res.quarantine}
    assert got[("python", 2)].startswith("Python literal syntax error in item at character 137")
    assert got[("python", 4)] == "not a plain Python literal: item at character 279 holds names or calls"
    one = "one candidate only: nothing to choose between"
    assert got[("python", "qid=3")] == got[("python", "qid=5")] == got[("sql", "qid=10")] == one
    assert got[("sql", 1)] == "duplicate candidate: question 10 block 0 listed twice"
    assert got[("sql", 2)] == "bad item shape: expected a 6-element list"
    assert got[("sql", 3)] == "bad item shape: label 2 is not 0 or 1"
    outputs = {(r["source_id"].split(":", 1)[1], r["lang"]): r["output"] for _, r in res.records}
    # the candidates are shown in their drawn order and the labels follow it: qid=13's answer, its
    # second block in the file, is shown first
    assert outputs == {("qid=1", "en"): "1", ("qid=1", "zh"): "1", ("qid=13", "en"): "1", ("qid=13", "zh"): "1",
                       ("qid=6", "en"): "none", ("qid=6", "zh"): "无"}  # no candidate answers: kept (issue 23)


def _question(qid: int, labels: list[int]) -> Row:
    cands = [{"item": i, "block": i, "code": f" x{qid} = {i}\n", "title": f"question {qid}", "label": lab}
             for i, lab in enumerate(labels)]
    return Row("codepro/data_hnn/python_hnn_qid2index_blocks_labeled.txt", f"qid={qid}",
               {"qid": qid, "plang": "python", "title": f"question {qid}", "candidates": cands})


def _shown(rec: dict) -> list[str]:
    """The code of each candidate in the order the record shows them."""
    import re

    return re.findall(r"```python\n(.*?)\n```", rec["input"], re.S)


def test_codepro_candidates_are_shown_in_a_drawn_stable_order_and_the_answer_follows_it():
    row = _question(7, [1, 0, 0, 1, 0])
    en, zh = codepro.to_records(row)
    shown = _shown(en)
    assert sorted(shown) == [f"x7 = {i}" for i in range(5)] and shown != [f"x7 = {i}" for i in range(5)]
    assert _shown(zh) == shown and en["output"] == zh["output"]  # one order for both languages
    right = {i for i, code in enumerate(shown, 1) if code in ("x7 = 0", "x7 = 3")}
    assert en["output"] == ", ".join(map(str, sorted(right)))
    # the file order does not matter, and the order is the same on every build
    row2 = _question(7, [1, 0, 0, 1, 0])
    row2.data["candidates"].reverse()
    assert codepro.to_records(row2) == [en, zh]
    # over many questions whose FIRST block in the file is the answer, candidate 1 is right at chance
    firsts = [codepro.to_records(_question(q, [1, 0, 0, 0]))[0]["output"] == "1" for q in range(400)]
    assert 0.18 < sum(firsts) / len(firsts) < 0.32  # chance: 1 in 4


def test_codepro_a_question_no_candidate_answers_is_kept_with_none_and_every_template_allows_it():
    en, zh = codepro.to_records(_question(8, [0, 0, 0]))
    assert (en["output"], zh["output"]) == ("none", "无")
    from mulco import templates

    assert all('"none"' in t for t in templates.load("en")["instructions"]["query_to_code"])
    assert all("“无”" in t for t in templates.load("zh")["instructions"]["query_to_code"])
    with pytest.raises(BadRow, match="one candidate only"):
        codepro.to_records(_question(9, [0]))


def test_codepro_no_item_is_ever_evaluated():
    text = "[[(1, 0), [['a'], ['b']], [[__import__('os').system('exit 1')]], ['t'], 1, 1]]"
    (unit,) = codepro.parse_items(text, "x.txt")
    assert isinstance(unit, Rejected) and unit.reason.startswith("not a plain Python literal")


def test_codepro_clean_code_drops_the_staqc_leading_space():
    assert codepro.clean_code(" import os\nos.getcwd()\n") == "import os\nos.getcwd()"
    assert codepro.clean_code("  09:11\n 09:16\n") == " 09:11\n 09:16"


_codepro_items = st.lists(
    st.tuples(st.integers(0, 10**8), st.integers(0, 20), st.text(max_size=30), st.text(max_size=30),
              st.integers(0, 1)),
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(_codepro_items)
def test_codepro_salvage_reads_a_valid_file_like_literal_eval(specs):
    items = [[(q, b), [[t], [t]], [[c]], [t], 3, lab] for q, b, t, c, lab in specs]
    text = repr(items)
    assert [x for _, x in codepro.parse_items(text, "f")] == items
    # the salvage path splits at item starts and must give the same items back
    assume(items and all("[(" not in t + c for _, _, t, c, _ in specs))
    assert [x for _, x in codepro._salvage(text, "f")] == items


def test_codepro_shared_slice_reconciles_with_plausible_counts(shared_raw):
    res = convert_source("codepro", shared_raw, progress=False)
    assert res.units_read == res.units_kept + res.units_quarantined
    assert res.units_read == 2444 + 1819  # SOURCES.md: list items kept per file
    assert set(res.quarantine_reasons) == {"one candidate only"}
    assert res.units_kept > 2500
    recs = [r for _, r in res.records]
    assert len(recs) % 2 == 0 and {r["plang"] for r in recs} == {"python", "sql"}
    for r in recs:
        assert list(record.errors(r)) == [], r["source_id"]
        assert r["output"] in ("none", "无") or all(n.isdigit() for n in r["output"].split(", "))


# --------------------------------------------------------------------------------------------
# codesearchnet: functions with docstrings -> summarization, generation, completion, cloze

CSN_NASTY = nasty_dir("codesearchnet")
CSN_SAMPLE_FILES = ["codesearchnet/go/final/jsonl/test/go_test_0.jsonl.gz", "codesearchnet/python/train.jsonl",
                    "codesearchnet/ruby/test.jsonl"]
CSN_NASTY_FILES = ["codesearchnet/javascript/valid.jsonl", "codesearchnet/php/final/jsonl/valid/php_valid_0.jsonl.gz"]
CSN_FIXTURE_FILES = [(sample_raw_dir(), f) for f in CSN_SAMPLE_FILES] + [(CSN_NASTY, f) for f in CSN_NASTY_FILES]


@pytest.mark.parametrize("raw_dir,rel_path", CSN_FIXTURE_FILES, ids=[f for _, f in CSN_FIXTURE_FILES])
def test_codesearchnet_fixture_file_records_validate(raw_dir, rel_path):
    records, rejected, bad = convert_files(codesearchnet, raw_dir, [raw_dir / rel_path])
    assert records or rejected
    for rec in records:
        assert schema_errors(rec) == [], rec
        assert rec["source_id"].startswith(rel_path + ":")
        assert (rec["lang"] == "zh" and rec["task"] != "code_search") == (TRANSLATE_KEY in rec)


def test_codesearchnet_sample_makes_every_task_in_both_languages():
    res = sample("codesearchnet")
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


def test_codesearchnet_python_summary_input_has_no_docstring():
    res = sample("codesearchnet")
    for _, r in res.records:
        if r["plang"] == "python" and r["task"] == "code_summarization":
            assert r["output"] not in r["input"] and '"""' not in r["input"] and "'''" not in r["input"]


def test_codesearchnet_nasty_reasons():
    res = nasty("codesearchnet")
    assert res.units_read == res.units_kept + res.units_quarantined == 13
    assert res.units_kept == 4
    reasons = {(q["line"], q["reason"].split(":")[0]) for q in res.quarantine}
    assert reasons == {
        (2, "bad JSON"), (3, "invalid UTF-8"), (4, "missing field 'docstring'"),
        (5, "field 'code' is empty"), (7, "unknown language"), (8, "empty docstring"), ("eof", "unreadable file"),
        (11, "docstring is code, not a summary"), (12, "docstring is RDoc/markup, not a summary"),
    }
    # the one-line function makes no completion record; the one without vocabulary words no cloze record
    made = collections.Counter((r["source_id"].rsplit(":", 1)[1], r["subtask"]) for _, r in res.records)
    assert ("9", "code_completion") not in made and ("9", "cloze_test") in made
    assert ("10", "code_completion") in made and ("10", "cloze_test") not in made


@pytest.mark.parametrize("summary,problem", [
    ("def reload_pages_if_needed if @pages_by_path.nil? @pages_by_path = {} end", "code"),
    ("@pages ||= load_pages(path)", "code"),
    ("class Foo < Bar; end", "code"),
    ("== Parameters", "RDoc/markup"),
    ("call-seq: obj.fetch(key) -> value", "RDoc/markup"),
    ("<tt>reload</tt> pages", "RDoc/markup"),
    # summaries that mention code are summaries
    ("Outputs the summary saved via @logger.summary.add_action and @logger.summary.add_paragraph", None),
    ("return the merged global and the custom spell configs", None),
    ("Copy the +source+ file to the +destination+.", None),
    ("Returns x + y element-wise.", None),
    ("The Format at _idx_, or - if _idx_ is a String - the Format with name == _idx_", None),
])
def test_codesearchnet_a_docstring_that_is_code_or_markup_is_not_a_summary(summary, problem):
    got = codesearchnet.summary_problem(summary)
    assert (got is None) if problem is None else (got == f"docstring is {problem}, not a summary")


def test_codesearchnet_one_sentence_templates_only_for_one_sentence_summaries():
    from mulco import templates

    sc = codesearchnet.sentence_count
    assert [sc(t) for t in ("Returns x. Raises y.", "Uses e.g. foo. Bar", "Version 1.2 is used.", "Create J. Smith.",
                            "Gets a bot. if none, makes one", "Derivative w.r.t. x.", "Stops! now")] == [2, 2, 1, 1, 2, 1, 2]
    one = {t.format(plang="Ruby") for t in templates.load("en")["instructions"]["code_summarization_sentence"]}
    assert all("sentence" in t or "one-line" in t for t in one)
    assert not any("sentence" in t or "one-line" in t for t in templates.load("en")["instructions"]["code_summarization"])

    def summary_instructions(doc):
        rows = [Row("codesearchnet/ruby/test.jsonl", i, {"language": "ruby", "code": "def f\n  g\nend", "docstring": doc})
                for i in range(60)]
        return [r["instruction"] for row in rows for r in codesearchnet.to_records(row)
                if r["task"] == "code_summarization" and r["lang"] == "en"]

    several = summary_instructions("Reloads the pages. Keeps the cache.")
    assert not set(several) & one
    single = summary_instructions("Reloads the pages.")
    assert 15 < sum(t in one for t in single) < 45  # about half: both kinds of wording


def test_codesearchnet_first_paragraph():
    fp = codesearchnet.first_paragraph
    assert fp("Does X.\n  And Y.\n\nMore text.") == "Does X. And Y."
    assert fp("Returns the sum.\n@param a first\n@return int") == "Returns the sum."
    assert fp("Compute it.\n:param x: the input\n") == "Compute it."
    assert fp("Compute it.\n\nArgs:\n  x: y") == "Compute it."
    assert fp("\n @return nothing") == ""


@pytest.mark.parametrize("code,expected", [
    ('def f(x):\n    """Doc."""\n    return x', "def f(x):\n    return x"),
    ("def f(x):\n    '''Doc.\n\n    More.\n    '''\n    return x", "def f(x):\n    return x"),
    ('@cached\ndef f(a: int,\n      b: dict = {"k": (1)}) -> Dict[str, int]:  # note\n    r"""Doc \\" q."""\n    pass',
     '@cached\ndef f(a: int,\n      b: dict = {"k": (1)}) -> Dict[str, int]:  # note\n    pass'),
    ("def f(x):\n    return 'not a docstring'", "def f(x):\n    return 'not a docstring'"),
    ("def f(x): return x", "def f(x): return x"),
])
def test_codesearchnet_strip_py_docstring(code, expected):
    assert codesearchnet.strip_py_docstring(code) == expected
    assert codesearchnet.strip_py_docstring(code, "Doc.") == expected
    assert codesearchnet.strip_py_docstring(code, "Something else entirely.") == code


def test_codesearchnet_cut_line_and_mask_word():
    src = codesearchnet
    assert src.cut_line("a\nb", 0) is None
    assert src.cut_line("a\nb\nc", 7) == ("a\nb", "c")
    assert src.cut_line("a\nb\n\n   d  ", 0) == ("a\nb\n", "   d")  # the line keeps its indentation
    assert src.mask_word('x = "max" # min\nlen', "python", 0) == ('x = "max" # min\n<mask>', "len")
    assert src.mask_word("// max\nreturn `len`", "go", 0) == ("// max\n<mask> `len`", "return")
    assert src.mask_word("$maximum = 1e5;", "php", 0) is None
    assert src.mask_word("nothing here", "ruby", 3) is None


def test_codesearchnet_completion_cuts_only_at_lines_worth_predicting_and_keeps_their_indentation():
    src = codesearchnet
    code = "def f(x)\n  if x\n    y = 1\n  else\n    z(2)\n  end\n  # done\n  return\n  }\nend"
    targets = {src.cut_line(code, pick)[1] for pick in range(40)}
    assert targets == {"    y = 1", "    z(2)"}  # not else, end, a comment, a bare return or a brace
    assert all(src.cut_line(code, p)[0] + "\n" + src.cut_line(code, p)[1] in code for p in range(40))
    assert src.cut_line("def f\n  x\nend\n}", 0) is None  # nothing worth predicting after line 2
    for line in ("end", "  end)", "} else {", "else:", "  });", "begin", "  return", "# note", "  ensure"):
        assert not src.worth_predicting(line), line
    for line in ("  return x", "end.map(&:to_s)", "rescue => e", "x = 1 # note", "  if block_given?"):
        assert src.worth_predicting(line), line


@pytest.mark.parametrize("code,expected", [
    # a Ruby method of a class: CodeSearchNet cut the first line's indentation only
    ("def f(x)\n      if x\n        y\n      end\n\n    end", "def f(x)\n  if x\n    y\n  end\n\nend"),
    ("public int f() {\n        return 1;\n    }", "public int f() {\n    return 1;\n}"),
    # a Python method: its body less one indentation step
    ("def f(self):\n        if x:\n            y\n        return 1", "def f(self):\n    if x:\n        y\n    return 1"),
    ("def f(self):\n        return 1", "def f(self):\n    return 1"),
    # already right, or not safely fixable: unchanged
    ("def f():\n    return 1", "def f():\n    return 1"),
    ("func f() {\n\tx()\n}", "func f() {\n\tx()\n}"),
    ("def f\n    x = <<~EOS\nraw\nEOS\n  end", "def f\n    x = <<~EOS\nraw\nEOS\n  end"),
    ("    def f\n      x\n    end", "    def f\n      x\n    end"),
    ("def f\n\t\tx\n    end", "def f\n\t\tx\n    end"),  # mixed tabs and spaces: no common prefix
])
def test_codesearchnet_reindent_shifts_a_function_cut_out_of_a_class_as_a_whole(code, expected):
    assert codesearchnet.reindent(code) == expected


def test_codesearchnet_records_use_the_reindented_function():
    code = "def reload(x)\n      @pages = nil\n      load_pages(x)\n    end"
    row = Row("codesearchnet/ruby/test.jsonl", 1, {"language": "ruby", "code": code, "docstring": "Reloads the pages."})
    recs = {(r["task"], r["subtask"], r["lang"]): r for r in codesearchnet.to_records(row)}
    fixed = "def reload(x)\n  @pages = nil\n  load_pages(x)\nend"
    assert recs[("code_summarization", None, "en")]["input"] == fixed
    assert recs[("code_generation", None, "en")]["output"] == fixed
    completion = recs[("code_search", "code_completion", "en")]
    assert (completion["input"], completion["output"]) == ("def reload(x)\n  @pages = nil", "  load_pages(x)")


def test_codesearchnet_conversion_is_deterministic():
    a = convert_source("codesearchnet", sample_raw_dir(), progress=False)
    b = convert_source("codesearchnet", sample_raw_dir(), progress=False)
    assert a.records == b.records and a.pending == b.pending


def test_codesearchnet_shared_slice(shared_raw):
    res = convert_source("codesearchnet", shared_raw, progress=False)
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


_CSN_PIECES = list("abdefilmnorstuxz_ ()[]{}:;=,.\"'#/\n\t$@\\") + ["max", "len", "return", '"""', "def f(x):\n", "//"]
_csn_code = st.lists(st.sampled_from(_CSN_PIECES), max_size=80).map("".join)


@settings(max_examples=200, deadline=None)
@given(code=_csn_code, plang=st.sampled_from(codesearchnet.PLANGS), doc=st.text(max_size=60))
def test_codesearchnet_any_row_gives_valid_records_or_bad_row(code, plang, doc):
    row = Row("codesearchnet/x/train.jsonl", 1, {"language": plang, "code": code, "docstring": doc}, "train")
    try:
        made = codesearchnet.to_records(row)
    except BadRow:
        return
    for rec in made:
        assert schema_errors(rec) == []
    for rec in made:
        if rec["subtask"] == "cloze_test":
            assert rec["input"].count("<mask>") >= 1 and rec["output"] in codesearchnet.cloze_vocab()
        if rec["subtask"] == "code_completion":
            assert rec["output"] == rec["output"].strip() and rec["output"]


@settings(max_examples=200, deadline=None)
@given(code=_csn_code, plang=st.sampled_from(codesearchnet.PLANGS), pick=st.integers(min_value=0, max_value=2**64))
def test_codesearchnet_mask_word_replaces_one_whole_word(code, plang, pick):
    src = codesearchnet
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


def test_codesearchnet_cloze_uses_ct_all_word_list_when_the_raw_folder_has_it(tmp_path):
    """Issue 11: cloze items are made with CodeXGLUE ClozeTesting-all's vocabulary when present
    (then listed among the source's files), with the bundled list only as the fallback."""
    import re

    src = codesearchnet
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
    word = next(w for w in sorted(set(re.findall(r"[A-Za-z_]\w*", rows[0]["code"])))
                if w not in src.cloze_vocab() and w not in rows[0]["docstring"] and len(w) > 3)
    words = tmp_path / src.CT_ALL_WORDS
    words.parent.mkdir(parents=True)
    words.write_text(f"{word}\nneverseenword")
    res, ct_all = cloze_answers()
    assert src.CT_ALL_WORDS in res.files  # named (and hashed) in the report's provenance
    assert set(ct_all.values()) == {word} and len(ct_all) >= 1
    assert res.units_read == len(rows) == res.units_kept + res.units_quarantined


def test_codesearchnet_code_to_text_preprocessing_names_a_bad_shard_line(tmp_path):
    import gzip
    import io

    def zip_of(members: dict) -> Path:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for n, data in members.items():
                z.writestr(n, data)
        path = tmp_path / f"{len(list(tmp_path.iterdir()))}.zip"
        path.write_bytes(buf.getvalue())
        return path

    good = json.dumps({"url": "u1", "code": "x"})
    shards = zip_of({"go/final/jsonl/test/go_test_0.jsonl.gz": gzip.compress(f"{good}\n\n{{oops\n".encode())})
    lists = zip_of({"dataset/go/test.txt": b"u1\n"})
    with pytest.raises(ValueError, match=r"!go/final/jsonl/test/go_test_0\.jsonl\.gz:3: bad JSON"):
        codesearchnet.codexglue_code_to_text(lists, shards, "go", {"test": tmp_path / "o/test.jsonl"}, tmp_path / "t")
    with zipfile.ZipFile(lists) as z:
        assert codesearchnet.find_member(z, "go/test.txt") == "dataset/go/test.txt"
        with pytest.raises(KeyError, match="go/train.txt is not in"):
            codesearchnet.find_member(z, "go/train.txt")


# --------------------------------------------------------------------------------------------
# codexglue_cloze: ClozeTesting-maxmin items + answers -> cloze_test records

CLOZE_NASTY = nasty_dir("codexglue_cloze")
MAXMIN = "codexglue/ClozeTesting-maxmin"
CLOZE_FILES = [(sample_raw_dir(), f"{MAXMIN}/data/cloze-maxmin/{lang}/clozeTest.json") for lang in ("java", "python")]
CLOZE_FILES += [(CLOZE_NASTY, f"{MAXMIN}/data/cloze-maxmin/{lang}/clozeTest.json") for lang in ("go", "python", "ruby")]


@pytest.mark.parametrize("raw_dir,rel_path", CLOZE_FILES, ids=[f"{d.parent.name}:{f.split('/')[-2]}" for d, f in CLOZE_FILES])
def test_codexglue_cloze_fixture_file_records_validate(raw_dir, rel_path):
    records, rejected, bad = convert_files(codexglue_cloze, raw_dir, [raw_dir / rel_path])
    assert records or rejected
    for rec in records:
        assert list(record.errors(rec)) == [], rec
        assert rec["input"].count("<mask>") == 1 and rec["output"] in ("max", "min")
        assert rec["plang"] == rel_path.split("/")[-2]


def test_codexglue_cloze_zh_record_follows_the_first():
    res = sample("codexglue_cloze")
    zh = res.records[1][1]
    assert zh["lang"] == "zh" and zh["instruction"].endswith("答案是 “max” 或 “min” 之一。")
    assert zh["input"].startswith("文档说明： Returns the smaller of two counts.\n\n代码：\npublic static int")


def test_codexglue_cloze_sample_counts():
    res = sample("codexglue_cloze")
    assert (res.units_read, res.units_kept, res.units_quarantined) == (6, 6, 0)
    assert res.records_made == len(res.records) == 12 and not res.pending
    assert collections.Counter(r["plang"] for _, r in res.records) == {"java": 6, "python": 6}


def test_codexglue_cloze_nasty_reasons():
    res = nasty("codexglue_cloze")
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


def test_codexglue_cloze_item_without_docstring_has_code_only():
    row = Row(f"{MAXMIN}/data/cloze-maxmin/go/clozeTest.json", 0,
              {"item": {"idx": "maxmin-9", "nl_tokens": [], "pl_tokens": ["return", "<mask>", "\n", "}"]},
               "answer": "max"})
    en = codexglue_cloze.to_records(row)[0]
    assert en["input"] == "return <mask>\n}" and en["output"] == "max"


def test_codexglue_cloze_join_helpers():
    src = codexglue_cloze
    assert src.join_code(["func", "f", "(", ")", "{", "\n", "x", "\n\n", "}"]) == "func f ( ) {\nx\n\n}"
    assert src.join_text(["Get", "the", "max", "(", "or", "min", ")", "."]) == "Get the max (or min)."
    assert src.parse_answers("a-1<CODESPLIT>max\nbroken line\n a-2 <CODESPLIT> min \n") == {"a-1": "max", "a-2": "min"}


def test_codexglue_cloze_shared_slice_has_no_answers(shared_raw):
    res = convert_source("codexglue_cloze", shared_raw, progress=False)
    assert res.status == "built"
    assert res.units_read == res.units_quarantined == 76 + 241 + 136 + 204 + 632 + 19
    assert res.units_kept == 0 and res.records_made == 0
    assert dict(res.quarantine_reasons) == {"no answer": res.units_read}


# --------------------------------------------------------------------------------------------
# codexglue_line_completion: CodeCompletion-line contexts -> the next line

LC_NASTY = nasty_dir("codexglue_line_completion")
LC_DATASET = "codexglue/CodeCompletion-line/dataset"
LC_FILES = [(sample_raw_dir(), f"{LC_DATASET}/{c}/dev.json") for c in ("javaCorpus", "py150")]
LC_FILES += [(LC_NASTY, f"{LC_DATASET}/javaCorpus/train.json"), (LC_NASTY, f"{LC_DATASET}/py150/line_completion/test.json")]


@pytest.mark.parametrize("raw_dir,rel_path", LC_FILES, ids=[f"{d.parent.name}:{f.split('/', 3)[3]}" for d, f in LC_FILES])
def test_codexglue_line_completion_fixture_file_records_validate(raw_dir, rel_path):
    src = codexglue_line_completion
    records, rejected, bad = convert_files(src, raw_dir, [raw_dir / rel_path])
    assert records
    for rec in records:
        assert list(record.errors(rec)) == [], rec
        assert "<s>" not in rec["input"] and "<EOL>" not in rec["input"]
        assert rec["plang"] == ("python" if "/py150/" in rel_path else "java")
        if rec["plang"] == "python":
            assert rec["input"].count("\n") < src.PY_TAIL_LINES
        else:
            assert len(rec["input"]) <= src.JAVA_TAIL_CHARS


def test_codexglue_line_completion_sample_counts_and_python_lines():
    res = sample("codexglue_line_completion")
    assert (res.units_read, res.units_kept, res.units_quarantined) == (6, 6, 0)
    assert res.records_made == len(res.records) == 12 and not res.pending
    assert collections.Counter((r["plang"], r["lang"]) for _, r in res.records) == {
        ("java", "en"): 3, ("java", "zh"): 3, ("python", "en"): 3, ("python", "zh"): 3}
    py = [r for _, r in res.records if r["plang"] == "python"]
    assert py[0]["input"] == "import os\ndef ensure_dir ( path ) :\nif not os . path . isdir ( path ) :\n"
    assert py[0]["output"] == "os . makedirs ( path )"
    assert "'<STR_LIT>'" in py[-1]["input"]


def test_codexglue_line_completion_nasty_reasons():
    res = nasty("codexglue_line_completion")
    assert res.units_read == res.units_kept + res.units_quarantined == 9
    assert res.units_kept == 4
    got = sorted((q["line"], q["reason"].split(":")[0]) for q in res.quarantine)
    assert got == [(2, "bad JSON"), (3, "invalid UTF-8"), (4, "missing field 'gt'"),
                   (5, "field 'gt' is empty"), (6, "empty context")]
    splits = {r["source_id"].split("/")[-1].split(":")[0]: s for s, r in res.records}
    assert splits == {"train.json": "train", "test.json": "test"}


def test_codexglue_line_completion_context_tails():
    src = codexglue_line_completion
    py = src.context("<s> " + " <EOL> ".join(f"a{i} = {i}" for i in range(50)) + " <EOL> b =", "python")
    lines = py.split("\n")
    assert len(lines) == 30 and lines[0] == "a21 = 21" and lines[-1] == "b ="
    java = src.context("<s> " + " ".join(f"tok{i}" for i in range(1000)), "java")
    assert len(java) <= 1500 and java.startswith("tok") and java.endswith("tok999")
    assert src.tail_chars("short text") == "short text"


def test_codexglue_line_completion_shared_slice(shared_raw):
    res = convert_source("codexglue_line_completion", shared_raw, progress=False)
    assert res.units_read == res.units_kept + res.units_quarantined == 1910 + 1500
    assert res.units_kept == res.units_read
    assert res.records_made == len(res.records) == 2 * res.units_kept
    assert collections.Counter(r["plang"] for _, r in res.records) == {"python": 2 * 1910, "java": 2 * 1500}
    assert {s for s, _ in res.records} == {"validation"}
    assert all(record.is_valid(r) for _, r in res.records)


def _lc_row(corpus, raw_input, gt):
    return Row(f"{LC_DATASET}/{corpus}/test.json", 1, {"input": raw_input, "gt": gt})


def test_codexglue_line_completion_an_input_ending_mid_line_asks_to_complete_the_current_line_in_en_and_zh():
    from mulco import templates

    lc = codexglue_line_completion

    def keys(recs):
        out = []
        for r in recs:
            opts = {k: [t.replace("{plang}", "Python" if r["plang"] == "python" else "Java") for t in v]
                    for k, v in templates.load(r["lang"])["instructions"].items()}
            note = templates.note(f"tokenised_{r['plang']}", r["lang"])
            assert r["instruction"].endswith(note)  # says what the tokenised code (and so the answer) looks like
            template = r["instruction"][:-len(note)].rstrip()
            out.append([k for k in ("code_completion", "code_completion_line") if template in opts[k]])
        return out

    mid = lc.to_records(_lc_row("py150", "<s> import os <EOL> x = os . path . join (", "a , b )"))
    assert keys(mid) == [["code_completion_line"], ["code_completion_line"]]
    nxt = lc.to_records(_lc_row("py150", "<s> import os <EOL> x = 1 <EOL>", "print ( x )"))
    assert keys(nxt) == [["code_completion"], ["code_completion"]]
    java_mid = lc.to_records(_lc_row("javaCorpus", "<s> int x = 1 ; String s = foo .", "bar ( ) ;"))
    java_next = lc.to_records(_lc_row("javaCorpus", "<s> int x = 1 ; if ( x > 0 ) {", "return x ;"))
    assert keys(java_mid)[0] == ["code_completion_line"] and keys(java_next)[0] == ["code_completion"]


def test_codexglue_line_completion_instruction_says_the_code_is_tokenised_with_placeholders():
    lc = codexglue_line_completion
    py_en, py_zh = lc.to_records(_lc_row("py150", "<s> x = \"<STR_LIT>\" <EOL>", "y = <NUM_LIT:0>"))
    assert "<STR_LIT>" in py_en["instruction"] and "<NUM_LIT>" in py_en["instruction"]
    assert "no indentation" in py_en["instruction"] and "没有缩进" in py_zh["instruction"]
    java_en, _ = lc.to_records(_lc_row("javaCorpus", "<s> int x = 1 ;", "return x ;"))
    assert "no line breaks" in java_en["instruction"] and "<STR_LIT>" in java_en["instruction"]
    from mulco.steps import text

    # the note is part of the template: dedup and decontamination still compare only the code
    assert text.strip_template(py_en["instruction"], "en") == "" and text.strip_template(py_zh["instruction"], "zh") == ""


# --------------------------------------------------------------------------------------------
# codexglue_refinement: buggy/fixed Java method pairs -> code_repair

REF_NASTY = nasty_dir("codexglue_refinement")
REF_DATA = "codexglue/code-refinement/data"
REF_PAIRS = [(sample_raw_dir(), f"{REF_DATA}/{size}/{split}") for size in ("small", "medium") for split in ("valid", "test")]
REF_PAIRS += [(REF_NASTY, f"{REF_DATA}/small/test")]


@pytest.mark.parametrize("raw_dir,stem", REF_PAIRS, ids=[f"{d.parent.name}:{s}" for d, s in REF_PAIRS])
def test_codexglue_refinement_fixture_pair_records_validate(raw_dir, stem):
    files = [raw_dir / f"{stem}.buggy-fixed.buggy", raw_dir / f"{stem}.buggy-fixed.fixed"]
    records, rejected, bad = convert_files(codexglue_refinement, raw_dir, files)
    assert records
    for rec in records:
        assert list(record.errors(rec)) == [], rec
        assert rec["input"] != rec["output"] and rec["input"] == rec["input"].strip()
        assert rec["source_id"].startswith(f"{stem}.buggy-fixed.buggy:")


def test_codexglue_refinement_zh_record_follows_the_first():
    res = sample("codexglue_refinement")
    first, zh = res.records[0][1], res.records[1][1]
    assert zh["lang"] == "zh"
    assert zh["instruction"] == "按照开发者实际的修复，修复这个 Java 方法。名称已抽象化（VAR_n、METHOD_n、TYPE_n），答案中也保持如此。"
    assert (zh["input"], zh["output"], zh["source_id"]) == (first["input"], first["output"], first["source_id"])


def test_codexglue_refinement_sample_counts_and_splits():
    res = sample("codexglue_refinement")
    assert (res.units_read, res.units_kept, res.units_quarantined) == (12, 12, 0)
    assert res.records_made == len(res.records) == 24 and not res.pending
    assert collections.Counter(s for s, _ in res.records) == {"validation": 12, "test": 12}


def test_codexglue_refinement_nasty_reasons():
    res = nasty("codexglue_refinement")
    assert res.units_read == res.units_kept + res.units_quarantined == 8
    assert res.units_kept == 4
    got = sorted((q["file"].split("/")[-1], q["line"], q["stage"], q["reason"]) for q in res.quarantine)
    assert got == [
        ("test.buggy-fixed.buggy", 2, "convert", "no change: the buggy and fixed methods are the same"),
        ("test.buggy-fixed.buggy", 3, "convert", "field 'buggy' is empty"),
        ("test.buggy-fixed.fixed", 5, "read", f"misaligned: no counterpart line in {REF_DATA}/small/test.buggy-fixed.buggy"),
        ("valid.buggy-fixed.buggy", 1, "convert", "no-op: the fix only adds or removes redundant parentheses"),
    ]


def test_codexglue_refinement_to_records_rejects_unusable_pairs():
    with pytest.raises(BadRow, match="no change"):
        codexglue_refinement.to_records(Row("x.buggy", 1, {"buggy": "a ( ) ;", "fixed": "a  ( ) ; "}))
    with pytest.raises(BadRow, match="'fixed' is empty"):
        codexglue_refinement.to_records(Row("x.buggy", 1, {"buggy": "a ( ) ;", "fixed": ""}))


def test_codexglue_refinement_no_op_and_print_only_edits():
    ref = codexglue_refinement
    assert ref.noop_edit("if ( VAR_4 != null ) { x ( ) ; }", "if ( ( VAR_4 ) != null ) { x ( ) ; }")
    assert ref.noop_edit("a = ( ( b ) ) ;", "a = b ;") and ref.noop_edit('f ( ( "a" ) ) ;', 'f ( "a" ) ;')
    # a call's or a cast's parentheses, and grouping that changes precedence, are real edits
    assert not ref.noop_edit("a = f ( x ) ;", "a = f x ;")
    assert not ref.noop_edit("return ( TYPE_1 ) x ;", "return x ;")
    assert not ref.noop_edit("a = ( b + c ) * d ;", "a = b + c * d ;")
    assert not ref.noop_edit("a ( ) ;", "a ( ) ;")  # equal: "no change", another reason
    p = "java.lang.System.out.println ( ( STRING_1 + ( VAR_2 ) ) ) ;"
    assert ref.print_only_edit(f"{{ a ( ) ; {p} }}", "{ a ( ) ; }") == "removes"
    assert ref.print_only_edit("{ a ( ) ; }", "{ a ( ) ; VAR_1 . printStackTrace ( ) ; }") == "adds"
    assert ref.print_only_edit("{ a ( ) ; }", "{ Log . d ( TAG , STRING_1 ) ; a ( ) ; }") == "adds"
    assert ref.print_only_edit(f"{{ a ( ) ; {p} }}", "{ b ( ) ; }") is None  # the fix changes code too
    assert ref.print_only_edit("{ a ( ) ; }", "{ b ( ) ; }") is None


def test_codexglue_refinement_instruction_says_the_fix_is_the_developers_and_names_are_abstracted():
    en, zh = codexglue_refinement.to_records(Row("x.buggy", 1, {"buggy": "int METHOD_1 ( ) { return VAR_1 ; }",
                                                                "fixed": "int METHOD_1 ( ) { return VAR_2 ; }"}))
    assert "abstract" in en["instruction"] and "VAR_" in en["instruction"] and "developer" in en["instruction"]
    assert "抽象" in zh["instruction"] and "开发者" in zh["instruction"]
    plain, _ = codexglue_refinement.to_records(Row("x.buggy", 2, {"buggy": "int size ( ) { return n ; }",
                                                                  "fixed": "int size ( ) { return n + 1 ; }"}))
    assert "developer" in plain["instruction"] and "abstract" not in plain["instruction"]


def test_codexglue_refinement_missing_counterpart_file(tmp_path):
    data = tmp_path / REF_DATA / "small"
    data.mkdir(parents=True)
    shutil.copy(sample_raw_dir() / REF_DATA / "small" / "test.buggy-fixed.fixed", data)
    with pytest.raises(MissingSourceFile, match=r"test\.buggy-fixed\.buggy"):
        codexglue_refinement.find(tmp_path)


def test_codexglue_refinement_shared_slice(shared_raw):
    res = convert_source("codexglue_refinement", shared_raw, progress=False)
    assert res.units_read == res.units_kept + res.units_quarantined == 2 * 2918 + 2 * 3273
    assert res.units_kept > 0.95 * res.units_read
    assert res.records_made == len(res.records) == 2 * res.units_kept
    assert {s for s, _ in res.records} == {"validation", "test"}
    assert all(record.is_valid(r) for _, r in res.records)


# --------------------------------------------------------------------------------------------
# codexglue_translation: line-aligned Java and C# methods -> code_translation both ways

TR_NASTY = nasty_dir("codexglue_translation")
TR_DATA = "codexglue/code-to-code-trans/data"
TR_PAIRS = [(sample_raw_dir(), f"{TR_DATA}/{s}") for s in ("train", "valid", "test")] + [
    (TR_NASTY, f"{TR_DATA}/{s}") for s in ("train", "valid")]


@pytest.mark.parametrize("raw_dir,stem", TR_PAIRS, ids=[f"{d.parent.name}:{s}" for d, s in TR_PAIRS])
def test_codexglue_translation_fixture_pair_records_validate(raw_dir, stem):
    files = [raw_dir / f"{stem}.java-cs.txt.java", raw_dir / f"{stem}.java-cs.txt.cs"]
    records, rejected, bad = convert_files(codexglue_translation, raw_dir, files)
    assert records
    assert len(records) % 4 == 0
    for rec in records:
        assert list(record.errors(rec)) == [], rec
        assert (rec["plang"], rec["target_plang"]) in {("java", "csharp"), ("csharp", "java")}
        suffix = ".java" if rec["plang"] == "java" else ".cs"
        assert rec["source_id"].rsplit(":", 1)[0].endswith(suffix)
    assert len({r["id"] for r in records}) == len(records)


def test_codexglue_translation_back_direction_names_the_cs_line():
    res = sample("codexglue_translation")
    first = res.records[0][1]
    back = [r for _, r in res.records[:4] if r["plang"] == "csharp"]
    assert [(r["lang"], r["input"], r["output"], r["source_id"]) for r in back] == [
        (lang, first["output"], first["input"], f"{TR_DATA}/test.java-cs.txt.cs:1") for lang in ("en", "zh")]
    assert not res.pending


def test_codexglue_translation_sample_counts_and_splits():
    res = sample("codexglue_translation")
    assert (res.units_read, res.units_kept, res.units_quarantined) == (9, 9, 0)
    assert res.records_made == 36
    assert collections.Counter(s for s, _ in res.records) == {"train": 12, "validation": 12, "test": 12}
    assert collections.Counter(r["lang"] for _, r in res.records) == {"en": 18, "zh": 18}


def test_codexglue_translation_nasty_reasons():
    res = nasty("codexglue_translation")
    assert res.units_read == res.units_kept + res.units_quarantined == 7
    assert res.units_kept == 4
    got = sorted((q["file"].rsplit("/", 1)[1], q["line"], q["reason"]) for q in res.quarantine)
    assert got == [
        ("train.java-cs.txt.java", 3, f"misaligned: no counterpart line in {TR_DATA}/train.java-cs.txt.cs"),
        ("valid.java-cs.txt.cs", 2, "invalid UTF-8: byte 47 of the line"),
        ("valid.java-cs.txt.java", 3, "field 'java' is empty"),
    ]


def test_codexglue_translation_missing_counterpart_file(tmp_path):
    data = tmp_path / TR_DATA
    data.mkdir(parents=True)
    shutil.copy(sample_raw_dir() / TR_DATA / "train.java-cs.txt.java", data)
    with pytest.raises(MissingSourceFile, match=r"train\.java-cs\.txt\.cs"):
        codexglue_translation.find(tmp_path)


def test_codexglue_translation_shared_slice(shared_raw):
    res = convert_source("codexglue_translation", shared_raw, progress=False)
    assert res.units_read == res.units_kept + res.units_quarantined
    assert res.units_kept == 5148 + 250 + 500
    assert res.units_quarantined == 0
    assert res.records_made == len(res.records) == 4 * res.units_kept
    assert collections.Counter(s for s, _ in res.records) == {"train": 4 * 5148, "validation": 4 * 250, "test": 4 * 500}
    assert all(record.is_valid(r) for _, r in res.records)


def test_aligned_reader_drops_the_bom_of_each_file_only(tmp_path):
    """The aligned-file reader that translation and refinement share (sources/base.py)."""
    from mulco.sources.base import read_aligned

    (tmp_path / "a.l").write_bytes(b"\xef\xbb\xbfx 1\nx 2\nx 3\n")
    (tmp_path / "a.r").write_bytes(b"\xef\xbb\xbfy 1\n\xef\xbb\xbfy 2\n")
    units = list(read_aligned(tmp_path, tmp_path / "a.l", tmp_path / "a.r", ("l", "r"), "train"))
    assert [(u.line, u.data, u.split) for u in units if isinstance(u, Row)] == [
        (1, {"l": "x 1", "r": "y 1"}, "train"), (2, {"l": "x 2", "r": "\ufeffy 2"}, "train")]  # a BOM inside is content
    assert [(u.file, u.line, u.reason) for u in units if isinstance(u, Rejected)] == [
        ("a.l", 3, "misaligned: no counterpart line in a.r")]
    (tmp_path / "b.l").write_bytes(b"\xef\xbb\xbf")  # a BOM-only file has no line
    (tmp_path / "b.r").write_bytes(b"")
    assert list(read_aligned(tmp_path, tmp_path / "b.l", tmp_path / "b.r", ("l", "r"), None)) == []


# --------------------------------------------------------------------------------------------
# devign: function.json items -> defect_detection Yes/No records (EN + ZH), split from txt files

DEVIGN_NASTY = nasty_dir("devign")


def test_devign_sample_is_bilingual_and_keeps_the_txt_splits():
    res = sample("devign")
    assert (res.units_read, res.units_kept, res.units_quarantined) == (6, 6, 0)
    recs = [r for _, r in res.records]
    assert len(recs) == 12
    by_item = {}
    for split, r in res.records:
        by_item.setdefault(r["source_id"].rsplit(":", 1)[1], set()).add((split, r["lang"], r["output"]))
    assert by_item["3"] == {("validation", "en", "Yes"), ("validation", "zh", "是")}
    assert by_item["4"] == {("test", "en", "Yes"), ("test", "zh", "是")}
    assert by_item["2"] == {("train", "en", "No"), ("train", "zh", "否")}


def test_devign_read_gives_unlisted_items_no_split_and_test_wins():
    files = devign.find(sample_raw_dir())
    rows = {u.line: u.split for u in devign.read(sample_raw_dir(), files)}
    assert rows == {0: "train", 1: "train", 2: "train", 3: "validation", 4: "test", 5: None}
    assert devign.pick_split(["train", "test", "validation"]) == "test"
    assert devign.pick_split(["train", "validation"]) == "validation"
    assert devign.pick_split([]) is None


def test_devign_nasty_reasons():
    res = nasty("devign")
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


def test_devign_split_files_without_function_json_is_a_missing_source_file(tmp_path):
    d = tmp_path / devign.DIR
    d.mkdir(parents=True)
    shutil.copy(DEVIGN_NASTY / devign.DIR / "train.txt", d / "train.txt")
    with pytest.raises(MissingSourceFile, match="function.json") as e:
        devign.find(tmp_path)
    assert "Google Drive" in str(e.value)


def test_devign_shared_slice_has_only_the_split_files_so_devign_is_skipped(shared_raw):
    with pytest.raises(MissingSourceFile, match="function.json"):
        devign.find(shared_raw)
    res = convert_source("devign", shared_raw, progress=False)
    assert res.status == "skipped" and "function.json" in res.message and res.units_read == 0
    with pytest.raises(MissingSourceFile):
        convert_source("devign", shared_raw, explicit=True, progress=False)
