"""Answer groups (issue 11, item 2): records with the same (or a near-duplicate) answer are
judged by the answer, whatever the prompt's wording; a group keeps --prompts-per-answer records,
all in one split, so no answer is on both sides of a split."""
from __future__ import annotations

import numpy as np

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


def test_short_label_like_answers_and_template_records_are_not_grouped():
    """--answer-min-words exempts short answers of subtasks whose answer is not code (a label such as
    'True' fits many questions); template records are left to exact/near dedup."""
    yes = [make_record(source="codegpt_cn", source_id=f"y:{k}", license="x", task="code_summarization", lang="en",
                       plang="python", instruction=q, input="", output="True")
           for k, q in enumerate(["Does `def f(x): return x % 2 == 0` return a bool? Answer True or False.",
                                  "Is `lambda: 1` pure? Say True or False."])]
    templ = [make_record(source="codesearchnet", source_id=f"s:{k}", license="x", task="code_summarization",
                         lang="en", plang="ruby", instruction="Summarize what this Ruby function does in one sentence.",
                         input="def f(x)\n  x * 2 + 1\nend", output="Doubles x and adds one to the result.")
             for k in range(2)]
    corpus, dropped, stats = run([*yes, *templ], ["train", "test", "train", "test"])
    assert dropped == {} and stats["records_judged"] == 0


def test_short_code_answers_form_a_group_whatever_their_length():
    """Issue 20: six differently worded C# questions in train had the two-line answer of a test
    record; answers that are code are grouped whatever their length, and one group has one split."""
    answer = "int num = 123;\nstring str = num.ToString();"
    qs = ["用C#如何将int类型转换为string类型？", "用C#如何将数字转换为字符串？", "用C#把一个整数转化为字符串；"]
    recs = [rec(k, q, answer, plang="csharp") for k, q in enumerate(qs)]
    recs.append(rec(9, "C#里怎样把整数变成字符串", "int num = 123;\nstring s = num.ToString();", plang="csharp"))
    other = rec(3, "用C#如何获取字符串长度？", "int length = str.Length;", plang="csharp")  # short, its own answer
    corpus, dropped, stats = run([*recs, other], ["train", "train", "test", "validation", "train"])
    assert stats["records_judged"] == stats["short_code_answers"] == 5
    # the exact copies join the test record; 'str' -> 's' is a near duplicate by its answer shingles
    assert set(dropped) >= {recs[0]["id"], recs[1]["id"]} and recs[2]["id"] not in dropped
    assert other["id"] not in dropped
    left = [i for i, r in enumerate(corpus.records) if r["id"] not in dropped and r["output"] == answer]
    assert [corpus.splits[i] for i in left] == ["test"]
    # with several kept per answer, the short group still shares one split
    corpus, dropped, stats = run([*recs[:3], other], ["train", "validation", "test", "train"], prompts_per_answer=3)
    assert dropped == {} and corpus.splits[:3] == ["test"] * 3 and stats["moved"] == 2


def test_short_near_duplicate_answers_form_a_group_by_their_exact_similarity():
    """Issue 20: paraphrased questions with one short answer that differs in a word (`let`/`const`;
    an added print) were kept: the MinHash estimate of a few shingles missed them. Answers whose
    5-token windows as written have a Jaccard similarity >= the threshold are one group."""
    from mulco.steps.answers import _written_edges, written
    from mulco.steps.text import tokenize

    push = ["let arr = [1, 2, 3];\narr.push(4);", "const arr = [1, 2, 3];\narr.push(4);"]
    read = ['file = File.open("filename.txt", "r")\ncontents = file.read\nfile.close\nputs contents',
            'file = File.open("filename.txt", "r")\ncontents = file.read\nfile.close\nputs(contents)']
    recs = [rec(0, "用JavaScript如何向数组添加一个元素；", push[0], plang="javascript"),
            rec(1, "JavaScript怎么往数组末尾加元素？", push[1], plang="javascript"),
            rec(2, "用Ruby如何读取文件内容？", read[0], plang="ruby"),
            rec(3, "Ruby读取一个文本文件并打印", read[1], plang="ruby"),
            rec(4, "用JavaScript如何删除数组最后一个元素？", "const arr = [1, 2, 3];\narr.pop();", plang="javascript")]
    corpus, dropped, stats = run(recs, ["test", "train", "train", "validation", "train"])
    assert sorted(dropped) == sorted([recs[1]["id"], recs[2]["id"]])  # the test / validation one is kept
    assert recs[4]["id"] not in dropped and stats["groups"] == 2
    u, v = _written_edges(tokenize([written(r) for r in recs]), np.zeros(5, dtype=np.int64), DedupConfig())
    assert sorted(zip(u.tolist(), v.tolist())) == [(0, 1), (2, 3)]


def test_groups_do_not_depend_on_the_block_the_answers_are_hashed_in():
    """Issue 21: answers are hashed block by block in index order and only the candidate pairs'
    answers are read again; any block size gives the same groups, drops (naming the kept record)
    and stats. A record whose split is its source's own cannot move: dropped, naming the split."""
    recs = [rec(k, q, READ) for k, q in enumerate(["如何在Python中读取文件？", "用Python逐行读取一个文本文件"])]
    recs.append(rec(2, "Python 读文件的方法是什么", READ.replace("line", "row")))
    recs.append(rec(3, "怎样读取文本文件", READ, source="own_split"))  # not a hashed split: cannot move
    js = "```python\nimport json\nprint(json.load(open('a.json')))\n```\n读取 JSON。"
    recs += [rec(4, "如何读取JSON文件？", js), rec(5, "Python怎么加载一个JSON文件", js)]
    recs += [rec(10 + k, f"第{k}个问题：如何打印列表？", f"```python\nitems = [{k}, 2, 3]\nfor item in items:\n"
                 f"    print(item * {k})\n```\n逐个打印。") for k in range(6)]
    splits = ["train", "test", "train", "validation", "test", "validation", *["train"] * 6]
    runs = [run(recs, splits, prompts_per_answer=2) for _ in range(2)]
    for block in (1, 3):
        corpus = Corpus(recs, splits, [r["source"] for r in recs], threads=1)
        results, dropped = run_steps(corpus, [AnswerDedup(DedupConfig(prompts_per_answer=2), block=block)])
        runs.append((corpus, {recs[i]["id"]: d for i, d in dropped.items()}, results[0].stats))
    (_, dropped, stats), others = runs[0], runs[1:]
    for _, d, st in others:
        assert d == dropped and st == stats
    assert dropped[recs[3]["id"]].reason == f"answer duplicate: same answer as {recs[1]['id']}, in split test"
    assert dropped[recs[0]["id"]].matched == recs[1]["id"]  # the third of the group, beyond the two kept
    assert stats["moved"] == 1 and runs[0][0].splits[5] == "test"  # moved to the split of its group
    assert runs[0][0].split_rank[5] == 0
    assert stats["by_config"]["code_generation.zh.python"]["dropped"] == len(dropped)


def test_window_intersections_are_counted_in_batches_of_pairs():
    """The exact check counts |A ∩ B| a batch of pairs at a time (bounded memory); pairs of large
    sets span several batches and every count is the count of the sets."""
    from mulco.steps.answers import _PAIR_ELEMENTS, _intersections

    rng = np.random.default_rng(0)
    pool = rng.integers(0, 2**63, size=_PAIR_ELEMENTS, dtype=np.uint64)
    sets = [np.unique(rng.choice(pool, size=n, replace=False)) for n in (_PAIR_ELEMENTS // 2, _PAIR_ELEMENTS // 3, 7, 1)]
    sets.append(sets[0][::3].copy())
    h = np.concatenate(sets)
    starts = np.concatenate(([0], np.cumsum([len(s) for s in sets])))
    u = np.array([0, 1, 0, 2, 3, 4, 0, 1], dtype=np.int64)
    v = np.array([1, 2, 4, 3, 0, 1, 0, 4], dtype=np.int64)
    want = [len(set(sets[a].tolist()) & set(sets[b].tolist())) for a, b in zip(u.tolist(), v.tolist())]
    assert _intersections(h, starts, u, v).tolist() == want
    assert want[2] == len(sets[4]) and want[6] == len(sets[0])
