"""Record filters and the parse check: each returns None (keep) or a reason."""
from __future__ import annotations

from mulco.record import make_record
from mulco.steps.filters import FilterConfig, empty_output, en_mostly_cjk, length_bounds, record_filters, zh_without_cjk
from mulco.steps.parse import ParseCheck, ParseConfig, check_record, code_blocks, parses
from mulco.steps.pipeline import Corpus, Flag, run_steps


def rec(**kw):
    base = dict(source="codealpaca", source_id="f:1", license="x", task="code_generation", lang="en", plang="python",
                instruction="Write a function.", input="", output="def f():\n    return 1\n")
    base.update(kw)
    return make_record(**base)


def test_empty_and_whitespace_outputs():
    assert empty_output(rec()) is None
    assert empty_output(rec(output="")) == "empty output"
    assert empty_output(rec(output=" \n\t")) == "whitespace-only output"


def test_length_bounds_in_characters_and_lines():
    cfg = FilterConfig(max_output_chars=50, max_lines=5, min_instruction_chars=3)
    check = length_bounds(cfg)
    assert check(rec()) is None
    assert check(rec(output="x" * 51)).startswith("output too long: 51 > 50 characters")
    assert check(rec(input="a\n" * 6)).startswith("input too long") and "lines" in check(rec(input="a\n" * 6))
    assert check(rec(instruction="ab")).startswith("instruction too short")


def test_language_script_filters():
    assert zh_without_cjk(rec(lang="zh", instruction="Write a function.")).startswith("ZH record")
    assert zh_without_cjk(rec(lang="zh", instruction="写一个 Python 函数。")) is None
    check = en_mostly_cjk(FilterConfig())
    assert check(rec(instruction="写一个函数，返回列表的和。")).startswith("EN record whose instruction is mostly Chinese")
    assert check(rec(instruction="Translate 你好 into English, keeping the greeting polite.")) is None
    assert check(rec(lang="zh", instruction="写一个函数")) is None


def test_filters_run_in_order_and_count():
    recs = [rec(source_id=f"f:{i}", output=o) for i, o in enumerate(["ok", " ", "x" * 20_000])]
    corpus = Corpus(recs, ["train"] * 3, ["codealpaca"] * 3, threads=1)
    from mulco.steps.pipeline import RecordStep

    results, dropped = run_steps(corpus, [RecordStep(n, f) for n, f in record_filters(FilterConfig())])
    assert [r.name for r in results] == ["empty_output", "broken_output", "length", "zh_without_cjk", "en_mostly_cjk"]
    assert [r.dropped for r in results] == [1, 0, 1, 0, 0]
    assert {d.step for _, d in dropped.items()} == {"empty_output", "length"}


def test_parse_check_per_language():
    assert parses("python", "def f(x):\n    return x + 1\n") is True
    assert parses("python", "def f(x:\n    return") is False
    assert parses("java", "public int f(int a) { return a + 1; }") is True  # a bare method
    assert parses("java", "public int f(int a) { return a + ; }") is False
    assert parses("csharp", "public override void Serialize(ILittleEndianOutput out1){out1.WriteShort(x);}") is True
    assert parses("php", "function f($a) { return $a; }") is True
    assert parses("go", "func (c *Client) Get() error { return nil }") is True
    assert parses("ruby", "def f(a)\n  a + 1\nend") is True
    assert parses("c", "int main(void) { return 0; }") is True


def test_fenced_code_is_checked_block_by_block():
    md = "Here:\n```python\ndef f():\n    return 1\n```\nand in Java:\n```java\nclass A {}\n```"
    assert code_blocks(md, "python") == ["def f():\n    return 1\n"]
    assert code_blocks("x = 1", "python") == ["x = 1"]


def test_parse_policy_drops_or_flags_per_task():
    drop = frozenset(ParseConfig().parse_drop)
    summ = rec(task="code_summarization", input="def f(:\n  pass", output="Does f.")
    assert check_record(summ, drop) == "python input does not parse (code_summarization)"
    repair = rec(task="code_search", subtask="code_repair", plang="java", input="void f( { }", output="void f() { }")
    assert check_record(repair, drop) is None  # the input is buggy on purpose: not checked
    repair["output"] = "void f() { return ; ; } }"
    r = check_record(repair, drop)
    assert isinstance(r, Flag) and "output does not parse" in r  # abstracted fixes: only flagged
    gen = rec(output="Use a loop:\n```python\nfor x in:\n```")
    assert isinstance(check_record(gen, drop), Flag)
    cloze = rec(task="code_search", subtask="cloze_test", input="def f(<mask>", output="x")
    assert check_record(cloze, drop) is None  # not checked


def test_parse_step_counts_flags_without_dropping():
    recs = [rec(source_id="a:1", output="```python\nfor x in:\n```"), rec(source_id="a:2"),
            rec(source_id="a:3", task="code_summarization", input="def f(:", output="Does f.")]
    corpus = Corpus(recs, ["train"] * 3, ["codealpaca"] * 3, threads=1)
    results, dropped = run_steps(corpus, [ParseCheck(ParseConfig())])
    assert results[0].flagged == 1 and results[0].dropped == 1 and list(dropped) == [2]
    assert results[0].stats["policy"]["code_summarization"] == "drop"


# ---------------------------------------------------------------------------------------------
# Answers that are not what the record says (issue 11, item 4)

def test_fence_only_empty_and_unclosed_fences_are_broken():
    from mulco.steps.filters import broken_output

    assert broken_output(rec(output="```csharp")) == "cut off: a code fence is never closed"
    assert broken_output(rec(output="```javascript\n\n\n```")) == "fence-only output: no code inside the fence"
    assert broken_output(rec(output="Here is the code:\n```python\n```\nDone.")) == "empty code block"
    assert broken_output(rec(output="Here:\n```python\ndef f():\n    return 1\n```\nDone.")) is None


def test_code_that_stops_early_is_broken_but_complete_code_is_not():
    from mulco.steps.filters import broken_output

    cut = "```csharp\nusing System;\nusing System.IO;\n```"
    assert broken_output(rec(output=cut, plang="csharp")) == "cut off: the code holds only its import/using lines"
    mid_string = '```ruby\nhash.each { |k, v| puts "'
    assert broken_output(rec(output=mid_string + "```", plang="ruby")) == "cut off: a string left open at the end"
    open_call = "def f(xs):\n    return sorted(xs, key=lambda x: (x[0], x[1]"
    assert broken_output(rec(output=open_call)) == "cut off: brackets left open at the end"
    # brackets inside strings and comments, and Python's // operator, are not open brackets
    fine = "def f(n):\n    s = '(('  # ((( not code\n    return n // 2, s\n"
    assert broken_output(rec(output=fine)) is None
    java = 'public int f(int a) {\n    // {\n    String s = "{[(";\n    return a;\n}'
    assert broken_output(rec(output=java, plang="java")) is None


def test_python_lines_run_together_are_broken():
    from mulco.steps.filters import broken_output

    joined = "```python\nimport re string = \"abc123\" nums = re.findall(r'\\d+', string) print(nums) ```"
    assert broken_output(rec(output=joined)) == "code lines run together into one line"
    one_line = "```python\nprint(sorted([3, 1, 2], reverse=True)[:2])\n```"
    assert broken_output(rec(output=one_line)) is None


# ---------------------------------------------------------------------------------------------
# Honest Chinese: ZH template twins are marked and can be left out (issue 11, item 5)

def test_zh_template_twins_can_be_left_out_all_or_by_fraction():
    import pytest

    from mulco.steps.twins import ZhTwins, policy

    twins = [rec(source="codepro", source_id=f"q:{i}", lang="zh", task="code_search", subtask="query_to_code",
                 instruction="选出能回答下面问题的代码片段。", output="1", text_origin="template") for i in range(200)]
    native = rec(source="codegpt_cn", lang="zh", instruction="用python3读取文件", text_origin="native")
    en = rec(text_origin="template", source="codepro", task="code_search", subtask="query_to_code", output="1")
    records = [*twins, native, en]

    def kept(value):
        corpus = Corpus(records, ["train"] * len(records), [r["source"] for r in records], threads=1)
        _, dropped = run_steps(corpus, [ZhTwins(FilterConfig(zh_twins=value).zh_twins)])
        return [r for i, r in enumerate(records) if i not in dropped]

    assert len(kept("all")) == len(records)
    assert kept("none") == [native, en]
    quarter = kept("0.25")
    assert native in quarter and en in quarter and 30 <= len(quarter) - 2 <= 70
    assert kept("0.25") == quarter  # deterministic
    with pytest.raises(ValueError, match="zh-twins must be paper, all, none or a fraction"):
        policy("half")


def test_zh_twins_follow_the_paper_by_default():
    """Issue 23: the paper's table has Chinese rows only for summaries, generation and query to code
    (ZH:EN 5k:10k for CodePro); code-to-code tasks and line completion are EN only. The default keeps
    ZH query-to-code twins at half of every twin, and no ZH twin of repair, translation, cloze,
    completion; native ZH is never touched; --zh-twins all keeps the old build."""
    from mulco.steps.registry import make_steps
    from mulco.steps.spec import Inputs
    from mulco.steps.twins import paper_shares

    assert FilterConfig().zh_twins == "paper"
    assert paper_shares()[("code_search", "query_to_code", "codepro")] == 0.5
    assert paper_shares()[("code_summarization", None, "codesearchnet")] == 1.0
    assert ("code_search", "code_repair", "codexglue_refinement") not in paper_shares()

    def twins(subtask, source, n):
        return [rec(source=source, source_id=f"{subtask}:{i}", lang="zh", task="code_search", subtask=subtask,
                    instruction="选出能回答下面问题的代码片段。", output="1", text_origin="template") for i in range(n)]
    q2c = twins("query_to_code", "codepro", 400)
    code_to_code = [*twins("code_repair", "codexglue_refinement", 50), *twins("code_translation", "codexglue_translation", 50),
                    *twins("cloze_test", "codesearchnet", 50), *twins("code_completion", "codexglue_line_completion", 50)]
    native = rec(source="codegpt_cn", lang="zh", instruction="用python3读取文件", text_origin="native")
    en = rec(text_origin="template", source="codexglue_refinement", task="code_search", subtask="code_repair", output="x")
    records = [*q2c, *code_to_code, native, en]
    corpus = Corpus(records, ["train"] * len(records), [r["source"] for r in records], threads=1)
    from mulco.build import BuildConfig

    steps = [s for s in make_steps(BuildConfig(), Inputs()) if s.name == "zh_twins"]  # on by default
    results, dropped = run_steps(corpus, steps)
    kept = [r for i, r in enumerate(records) if i not in dropped]
    assert results[0].stats["by_task"]["code_search.query_to_code"] == {"twins": 400, "kept": len(kept) - 2}
    kept_q2c = [r for r in kept if r["subtask"] == "query_to_code"]
    assert 160 <= len(kept_q2c) <= 240 and native in kept and en in kept
    assert not [r for r in kept if r in code_to_code]
    reasons = {d.reason for _, d in dropped.items()}
    assert "ZH template twin not kept (--zh-twins paper): the paper has no Chinese code_search.code_repair" in reasons
    assert "ZH template twin not kept (--zh-twins paper): Chinese code_search.query_to_code at 0.5 of English" in reasons


def test_text_origin_says_how_the_text_came_to_be():
    from mulco.build import convert_source, sample_raw_dir

    origins = {}
    for name in ("codegpt_cn", "codealpaca", "codepro", "codesearchnet"):
        res = convert_source(name, sample_raw_dir(), progress=False)
        for _, r in res.records:
            origins.setdefault((name, r["lang"]), set()).add(r["text_origin"])
        for _, r in res.pending:  # ZH text that needs a translator: machine translation once filled
            origins.setdefault((name, "zh-pending"), set()).add(r["text_origin"])
    assert origins[("codegpt_cn", "zh")] == {"native"} and origins[("codealpaca", "en")] == {"native"}
    assert origins[("codepro", "zh")] == origins[("codepro", "en")] == {"template"}
    assert origins[("codesearchnet", "zh")] == {"template"}  # completion and cloze twins
    assert origins[("codesearchnet", "zh-pending")] == {"machine_translation"}


def test_twins_left_out_are_left_out_before_the_corpus_work_starts():
    """zh_twins is an early step: it runs before any step's prepare (the forked parse check) and the
    corpus features start, so the twins it drops are neither parsed nor shingled."""
    from mulco.steps.pipeline import Outcome
    from mulco.steps.twins import ZhTwins

    twin = rec(source="codexglue_refinement", source_id="r:1", lang="zh", task="code_search", subtask="code_repair",
               instruction="修复下面的代码。", input="void f() {", output="void f() {}", text_origin="template")
    en = rec(source="codexglue_refinement", source_id="r:1", task="code_search", subtask="code_repair",
             instruction="Fix this code.", input="void f() {", output="void f() {}", text_origin="template")
    seen = {}

    class Later:
        name = "later"

        def prepare(self, corpus):
            seen["prepare"] = corpus.early_alive.tolist()

        def run(self, corpus):
            seen["keys"] = corpus.features().exact_keys.tolist()
            return Outcome()

    corpus = Corpus([twin, en], ["train", "train"], ["codexglue_refinement"] * 2, threads=1)
    results, dropped = run_steps(corpus, [ZhTwins("paper"), Later()])
    assert list(dropped) == [0] and [r.name for r in results] == ["zh_twins", "later"]
    assert seen["prepare"] == [False, True]
    blank = Corpus([dict(en, input="", output="", instruction="")], ["train"], ["x"], threads=1)
    assert seen["keys"][0] == blank.features().exact_keys[0] != seen["keys"][1]  # the twin's content not read
