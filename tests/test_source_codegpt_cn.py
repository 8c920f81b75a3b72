"""codegpt_cn: a zip of JSON arrays with GBK member names -> Chinese code_generation records."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from mulco import record
from mulco.build import convert_source
from mulco.sources import codegpt_cn

NASTY = Path(__file__).parent / "fixtures" / "raw" / "codegpt_cn"
QA = "no code in answer (knowledge Q&A, outside the taxonomy)"

FIRST = {
    "id": "e2928028e32e7e33",
    "instruction": "请用python完成以下题目：\n给定一个字符串 s，判断它去掉空格后是否为回文串。\n\n示例 1：\n\n输入：s = \"上海 海上\"\n输出：true",
    "input": "",
    # an answer that is only code is bare (the one code-answer convention, issue 11)
    "output": ("class Solution:\n    def isPalindrome(self, s: str) -> bool:\n"
               "        t = s.replace(' ', '')\n        return t == t[::-1]"),
    "task": "code_generation",
    "subtask": None,
    "lang": "zh",
    "plang": "python",
    "target_plang": None,
    "source": "codegpt_cn",
    "source_id": "codegpt/CodeGPT-Dataset-V1-CN.zip!code-leetcode/leetcode.json:0",
    "license": "Apache-2.0",
    "text_origin": "native",
}


@pytest.fixture(autouse=True)
def _never_extract(monkeypatch):
    """Members are read in memory: a path from the zip must never reach the file system."""
    def refuse(*a, **k):
        raise AssertionError("codegpt_cn must not extract zip members")
    monkeypatch.setattr(zipfile.ZipFile, "extract", refuse)
    monkeypatch.setattr(zipfile.ZipFile, "extractall", refuse)


def test_first_sample_record_is_pinned(sample_raw):
    res = convert_source("codegpt_cn", sample_raw, progress=False)
    assert res.records[0][1] == FIRST


def test_sample_records_are_valid_chinese_with_plang_from_names_fences_and_requests(sample_raw):
    res = convert_source("codegpt_cn", sample_raw, progress=False)
    assert (res.units_read, res.units_kept, res.units_quarantined) == (17, 14, 3)
    assert dict(res.quarantine_reasons) == {QA: 3}
    recs = [r for _, r in res.records]
    for r in recs:
        assert list(record.errors(r)) == [], r
        assert r["lang"] == "zh" and r["input"] == "" and r["task"] == "code_generation"
    plang = {r["source_id"].split("!", 1)[1]: r["plang"] for r in recs}
    assert plang["code-leetcode/leetcode.json:1"] == "cpp"
    assert plang["code-medium/Go.json:0"] == "go"
    assert plang["code-basic/C#.json:0"] == "csharp"
    assert plang["code-basic/Python3.json:0"] == "python"
    assert plang["code-text/C语言.json:0"] == "c"  # fence tag
    assert plang["code-text/C语言.json:2"] == "c"  # untagged fence, language from the member name


def test_member_names_are_decoded_from_gbk(sample_raw):
    with zipfile.ZipFile(sample_raw / codegpt_cn.ZIP) as z:
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
def test_plang_from_member_name(member, plang):
    assert codegpt_cn.plang_from_name(member) == plang


def test_leetcode_language_comes_from_the_request():
    assert codegpt_cn.choose_plang("code-leetcode/leetcode.json", "请用java完成以下题目：\n…", "```\nx\n```") == "java"
    assert codegpt_cn.choose_plang("code-leetcode/leetcode.json", "完成以下题目", "```sql\nSELECT 1\n```") == "sql"


def test_nasty_zip_is_quarantined_with_reasons_and_reconciles():
    res = convert_source("codegpt_cn", NASTY, progress=False)
    assert res.units_read == res.units_kept + res.units_quarantined
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
    assert got[("code-text/Scala.json", 1)] == QA
    kept = sorted(r["source_id"].split("!", 1)[1] for _, r in res.records)
    # BOM + CRLF member, UTF-8-flagged member name, items around a broken one
    assert kept == ["code-basic/Ruby.json:0", "code-medium/Go.json:0", "code-medium/Go.json:2",
                    "code-text/Java集合.json:0"]


def test_shared_slice_reconciles_with_plausible_counts(shared_raw):
    res = convert_source("codegpt_cn", shared_raw, progress=False)
    assert res.status == "built"
    assert res.units_read == res.units_kept + res.units_quarantined
    assert res.units_read == 16057  # SOURCES.md: 16057 records kept in the shared slice
    assert 14000 <= res.units_kept <= res.units_read
    assert set(res.quarantine_reasons) <= {QA, "no MulCo programming language", "cut off", "code lines run together into one line"}
    recs = [r for _, r in res.records]
    assert len(recs) == res.units_kept
    assert {r["plang"] for r in recs} == {"python", "java", "javascript", "cpp", "c", "csharp", "go", "php",
                                          "ruby", "sql"}
    for r in recs:
        assert list(record.errors(r)) == [], r["source_id"]


def _row(user, assistant, member="code-basic/Python3.json"):
    from mulco.sources.base import Row

    return Row(f"codegpt/CodeGPT-Dataset-V1-CN.zip!{member}", 0, {"user": user, "assistant": assistant})


def test_markup_residue_in_requests_is_normalised():
    (r,) = codegpt_cn.to_records(_row("用python3读取文件</br>并打印\n\n\n\n每一行", "```python\nprint(1)\n```"))
    assert r["instruction"] == "用python3读取文件\n并打印\n\n每一行"


def test_an_unclosed_last_fence_is_closed_when_its_code_parses_and_cut_off_otherwise():
    (r,) = codegpt_cn.to_records(_row("用Ruby生成随机数", "随机数：\n```ruby\nputs rand(100)\n", "code-basic/Ruby.json"))
    assert r["output"] == "随机数：\n```ruby\nputs rand(100)\n```"
    with pytest.raises(codegpt_cn.BadRow, match="cut off"):
        codegpt_cn.to_records(_row("用Ruby遍历", '```ruby\nhash.each { |k, v| puts "', "code-basic/Ruby.json"))


def test_a_java_member_answer_that_is_javascript_is_labelled_javascript():
    js = "```java\nconst nums = [1, 2, 3];\nconsole.log(nums.map(n => n * 2));\n```"
    (r,) = codegpt_cn.to_records(_row("用Java把数组翻倍", js, "code-basic/Java.json"))
    assert r["plang"] == "javascript"
    java = "```java\nint[] nums = {1, 2, 3};\nSystem.out.println(nums.length);\n```"
    (r,) = codegpt_cn.to_records(_row("用Java打印数组长度", java, "code-basic/Java.json"))
    assert r["plang"] == "java"


def test_an_answer_that_is_only_code_is_bare_and_one_mixing_prose_keeps_its_fences():
    (r,) = codegpt_cn.to_records(_row("用python3打印", "```python\nprint(1)\nprint(2)\n```"))
    assert r["output"] == "print(1)\nprint(2)"
    mixed = "先导入模块：\n```python\nimport os\nprint(os.getcwd())\n```\n输出当前目录。"
    (r,) = codegpt_cn.to_records(_row("用python3打印当前目录", mixed))
    assert r["output"] == mixed


def test_python_lines_run_together_are_quarantined():
    joined = "```python\nimport re string = \"abc123\" nums = re.findall(r'\\d+', string) print(nums) ```"
    with pytest.raises(codegpt_cn.BadRow, match="run together"):
        codegpt_cn.to_records(_row("用python3提取数字", joined))
