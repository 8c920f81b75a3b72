"""Answer groups (issue 11, item 2): records with the same (or a near-duplicate) answer are
judged by the answer, whatever the prompt's wording; a group keeps --prompts-per-answer records,
all in one split, so no answer is on both sides of a split."""
from __future__ import annotations

from mulco.record import make_record
from mulco.steps.answers import AnswerDedup
from mulco.steps.dedup import DedupConfig
from mulco.steps.pipeline import Corpus, run_steps

READ = '''```python
with open("data.txt", encoding="utf-8") as fh:
    for line in fh:
        print(line.rstrip())
```
以上代码逐行读取文件并打印每一行。'''


def rec(n, instruction, output, source="codegpt_cn", lang="zh", plang="python", inp=""):
    return make_record(source=source, source_id=f"f:{n}", license="x", task="code_generation", lang=lang, plang=plang,
                       instruction=instruction, input=inp, output=output)


def run(records, splits, **cfg):
    corpus = Corpus(records, splits, [r["source"] for r in records], threads=1)
    results, dropped = run_steps(corpus, [AnswerDedup(DedupConfig(**cfg))])
    return corpus, {records[i]["id"]: d for i, d in dropped.items()}, results[0].stats


def test_prompts_worded_differently_with_one_answer_keep_one_record_the_test_one():
    a = rec(0, "如何在Python中读取文件？", READ)
    b = rec(1, "用Python逐行读取一个文本文件", READ)
    c = rec(2, "Python 读文件的方法是什么", READ.replace("line", "row"))  # near duplicate: a name changed
    other = rec(3, "如何在Python中读取文件？", "```python\nimport json\nprint(json.load(open('a.json')))\n```\n读取 JSON。")
    corpus, dropped, stats = run([a, b, c, other], ["train", "test", "validation", "train"])
    assert sorted(dropped) == sorted([a["id"], c["id"]])
    assert {d.matched for d in dropped.values()} == {b["id"]}
    assert stats["groups"] == 1 and stats["cross_split_groups"] == 1 and stats["records_in_groups"] == 3


def test_a_group_keeping_two_prompts_puts_both_in_one_split():
    a = rec(0, "如何在Python中读取文件？", READ)
    b = rec(1, "用Python逐行读取一个文本文件", READ)
    c = rec(2, "Python 读文件的方法是什么", READ)
    corpus, dropped, stats = run([a, b, c], ["train", "test", "validation"], prompts_per_answer=2)
    assert list(dropped) == [a["id"]]  # the third most preferred
    assert corpus.splits[1] == corpus.splits[2] == "test" and stats["moved"] == 1


def test_short_answers_and_template_records_are_not_grouped():
    yes = [rec(k, q, "True", source="codealpaca", lang="en") for k, q in
           enumerate(["Is 7 prime? Answer True or False.", "Is the list [1, 2] sorted? Answer True or False."])]
    templ = [make_record(source="codesearchnet", source_id=f"s:{k}", license="x", task="code_summarization",
                         lang="en", plang="ruby", instruction="Summarize what this Ruby function does in one sentence.",
                         input="def f(x)\n  x * 2 + 1\nend", output="Doubles x and adds one to the result.")
             for k in range(2)]
    corpus, dropped, stats = run([*yes, *templ], ["train", "test", "train", "test"])
    assert dropped == {} and stats["records_judged"] == 0
