"""collama-eval's numbers against CodeXGLUE's evaluator rules (issue 22), and the answer forms the
flexible filter must read (issue 22 items 1-3, issue 17 item 8).

The expected numbers come from ``codexglue_reference`` (the official rules written again, sharing
no code with ``collama_train.evaluate``) and, for a few, from hand computation written next to them.
The answer-form tables hold answers as instruction-tuned models write them, EN and ZH, each with
the answer a reader takes from it (``None``: a hedge or no answer, which must stay unread).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import codexglue_reference as ref
from collama_train.evaluate import codebleu_score, postprocess, registry

# ---------------------------------------------------------------- answer forms (>= 30 per task, EN and ZH)

CLONE_FORMS = [
    ("Yes", True), ("No", False), ("yes", True), ("Yes.", True), ("No.", False), ("YES", True), ("**Yes**", True),
    ("**Answer:** Yes", True), ("Answer: No", False), ("The answer is no.", False),
    ("The answer is Yes, they are clones.", True), ("Yep", True), ("Nope.", False), ("Y", True), ("N", False),
    ("Yes, both sort the list in place.", True), ("No, the second one returns early.", False),
    ("They are clones.", True), ("They are not clones.", False),
    ("These two functions are semantically equivalent.", True), ("They are not equivalent.", False),
    ("The two snippets implement different functionality.", False), ("No doubt, they do the same thing.", True),
    ("Both compute the sum of a list, so yes.", True), ("They differ in how null is handled, so no.", False),
    ("Final answer: yes", True), ("True", True), ("False", False), ("Definitely not.", False),
    ("I'm not sure.", None), ("It is hard to say without more context.", None), ("Maybe.", None),
    ("It depends on the input.", None), ("yesterday", None),
    ("是", True), ("否", False), ("是的", True), ("不是", False), ("是的，它们等价。", True),
    ("不是，它们的功能不同。", False), ("答案：是", True), ("答案：否", False), ("**是**", True), ("它们是克隆。", True),
    ("它们不是克隆。", False), ("这两个函数功能相同。", True), ("这两段代码功能不同。", False), ("两者等价，所以是。", True),
    ("对", True), ("不对", False), ("否。第二个函数提前返回。", False), ("毫无疑问，它们做的是同一件事。", True),
    ("没有区别，它们等价。", True), ("There is no functional difference.", True), ("没有任何不同。", True),
    ("不确定", None), ("无法判断", None), ("不好说，取决于输入。", None),
]
DEFECT_FORMS = [
    ("Yes", True), ("No", False), ("Yes.", True), ("no", False), ("**No**", False), ("**Answer:** Yes", True),
    ("Answer: no", False), ("The answer is yes.", True), ("The answer is no.", False),
    ("Yep, there is a buffer overflow.", True), ("Nope.", False), ("Y", True), ("N", False),
    ("Yes, it frees the pointer twice.", True), ("No, the bounds are checked.", False), ("Not vulnerable.", False),
    ("The function is vulnerable.", True), ("This code contains a use-after-free bug.", True),
    ("There is no vulnerability in this function.", False), ("The code is safe.", False),
    ("It does not contain any defect.", False), ("The length is never checked, so yes.", True),
    ("All inputs are validated, so no.", False), ("Vulnerable: yes", True), ("True", True), ("False", False),
    ("No doubt: the index can go past the end.", True),
    ("I'm not sure.", None), ("Cannot be determined from this snippet.", None),
    ("Possibly, if the input is untrusted.", None), ("Unclear without the caller.", None),
    ("是", True), ("否", False), ("是的，存在缓冲区溢出。", True), ("不是", False), ("否，边界已检查。", False),
    ("存在漏洞。", True), ("该函数有缺陷。", True), ("没有漏洞。", False), ("不存在缺陷。", False),
    ("这段代码是安全的。", False), ("这段代码不安全。", True), ("答案：是", True), ("答案：否", False),
    ("有。", True), ("无缺陷", False), ("不确定", None), ("无法确定", None), ("也许有问题", None),
]
CLOZE_FORMS = [
    ("max", "max"), ("`max`", "max"), ("**max**", "max"), ('"max"', "max"), ("'min'", "min"), ("max.", "max"),
    ("Answer: max", "max"), ("**Answer:** `max`", "max"), ("The answer is max.", "max"),
    ("The missing word is `max`.", "max"), ("`max` is the masked token.", "max"), ("The masked token is `min`.", "min"),
    ("The <mask> should be `append`.", "append"), ("It should be filled with `len`.", "len"),
    ("`return`", "return"), ("return", "return"), ("self", "self"), ("The word is `None`.", "None"),
    ("`max`\nBecause the loop keeps the largest value.", "max"), ("```\nmin\n```", "min"),
    ("The answer is the `max` function.", "max"), ("append()", "append"),
    ("I'm not sure.", None), ("It could be max or min.", None), ("Not sure, maybe `max`.", None),
    ("max", "max"), ("答案：max", "max"), ("答案是 `max`", "max"), ("缺失的词是 `min`。", "min"),
    ("应填入 `append`", "append"), ("被遮盖的词是 len。", "len"), ("应该是 `return`", "return"), ("**self**", "self"),
    ("填 `i`", "i"), ("缺失的词是max。", "max"), ("不确定", None), ("无法确定", None),
]
QUERY_FORMS = [
    ("1", (1,)), ("1, 3", (1, 3)), ("3, 1", (3, 1)), ("Candidate 2", (2,)), ("Candidate 2 (it sorts 10 items)", (2,)),
    ("Candidates 1 and 3", (1, 3)), ("**2**", (2,)), ("Answer: 2", (2,)), ("The answer is candidate 4.", (4,)),
    ("#2", (2,)), ("2 and 4 answer the question.", (2, 4)), ("Candidates 1, 2 and 5.", (1, 2, 5)),
    ("none", ()), ("None of them.", ()), ("No candidate answers it.", ()),
    ("Only candidate 3 is correct; 1 and 2 use a different API.", (3,)), ("Candidate 2 (see line 10)", (2,)),
    ("1,3", (1, 3)), ("Candidate 1 answers it with 2 loops.", (1,)), ("Candidate 1 and candidate 3", (1, 3)),
    ("I'm not sure.", None), ("It is hard to say.", None),
    ("候选 2", (2,)), ("候选 2 和 4", (2, 4)), ("2、4", (2, 4)), ("第 3 个候选", (3,)), ("答案：1, 3", (1, 3)),
    ("无", ()), ("都不是", ()), ("没有候选能回答", ()), ("候选 1（它对 10 个元素排序）", (1,)), ("3，1", (3, 1)),
    ("2号和4号", (2, 4)), ("不确定", None),
]


def _rate(forms, read):
    answered = [f for f in forms if f[1] is not None]
    right = sum(read(a) == want for a, want in answered)
    return right / len(answered)


@pytest.mark.parametrize("forms,task", [(CLONE_FORMS, "clone_detection"), (DEFECT_FORMS, "defect_detection")])
def test_flexible_reads_the_yes_no_forms_and_never_answers_a_hedge(forms, task):
    assert len(forms) >= 30 and any(a.isascii() for a, _ in forms) and sum(not a.isascii() for a, _ in forms) >= 15
    assert _rate(forms, lambda a: postprocess.parse_yes_no(a, task)) >= 0.95
    for answer, want in forms:
        got = postprocess.parse_yes_no(answer, task)
        if want is None:
            assert got is None, answer  # a hedge never becomes an answer
        strict = postprocess.strict_yes_no(answer)
        assert strict is None or strict == got  # whatever strict reads, flexible reads the same
    # strict reads exactly the template labels
    assert [a for a, _ in forms if postprocess.strict_yes_no(a) is not None] == [
        a for a, _ in forms if a in ("Yes", "No", "是", "否")]


def test_flexible_reads_the_cloze_and_candidate_forms():
    for forms, read in ((CLOZE_FORMS, postprocess.cloze_word), (QUERY_FORMS, postprocess.parse_candidates)):
        assert len(forms) >= 30 and sum(not a.isascii() for a, _ in forms) >= 10
        assert _rate(forms, read) >= 0.95
        assert all(read(a) is None for a, want in forms if want is None)


def test_issue_17_answer_parsing_cases():
    q = registry.get("code_search", "query_to_code").score
    # the first candidate named is the one "hit" checks: "3, 1" against {3} is a hit, not a miss
    assert q(["3, 1"], ["3"], "en")["hit"] == 100.0 and q(["1, 3"], ["3"], "en")["hit"] == 0.0
    assert postprocess.parse_candidates("Candidate 2 (it sorts 10 items)") == (2,)
    assert postprocess.parse_candidates("候选 2（它排序 10 个元素）") == (2,)
    # "not sure" is not "No": unread, wrong, counted
    for hedge in ("不确定", "不确定。", "我不确定", "Not sure", "not sure, probably not"):
        assert postprocess.parse_yes_no(hedge) is None, hedge
    s = registry.get("code_search", "clone_detection").score(["不确定", "否"], ["否", "否"], "zh")
    assert s["accuracy"] == 50.0 and s["unparsed"] == 1
    # neighbours that are answers
    assert postprocess.parse_yes_no("不是") is False and postprocess.parse_yes_no("确定不是") is False
    assert postprocess.parse_yes_no("I'm sure they are clones.", "clone_detection") is True


# ---------------------------------------------------------------- label tasks vs the official rules

def _labels_fixture(forms):
    """Answers with their gold label: a right answer, or the opposite one, alternately; hedges on both."""
    answers, gold, intended = [], [], []
    for i, (answer, want) in enumerate(forms):
        g = (want if i % 3 else (not want)) if want is not None else bool(i % 2)
        answers.append(answer)
        gold.append(g)
        intended.append(want)
    return answers, gold, intended


@pytest.mark.parametrize("forms,task", [(CLONE_FORMS, "clone_detection"), (DEFECT_FORMS, "defect_detection")])
def test_yes_no_scores_equal_the_official_rule(forms, task):
    answers, gold, intended = _labels_fixture(forms)
    gold_int = [int(g) for g in gold]
    refs = ["Yes" if g else "No" for g in gold]
    got = registry.get("code_search", task).score(answers, refs, "en")
    # strict: the official evaluator on the raw text (only a label is a label)
    strict = ref.binary(ref.raw_labels(answers, gold_int), gold_int)
    # flexible: the official evaluator on the answers a reader takes (an unread answer is the wrong label)
    read = [int(w) if w is not None else 1 - g for w, g in zip(intended, gold_int)]
    flexible = ref.binary(read, gold_int)
    for m in ("accuracy", "precision", "recall", "f1"):
        assert got[f"{m}_strict"] == pytest.approx(strict[m], abs=1e-9), m
    # flexible differs from the reader only where the table says it may (<= 5 % of the answers)
    misread = sum(postprocess.parse_yes_no(a, task) != w for a, w in zip(answers, intended))
    assert abs(got["accuracy"] - flexible["accuracy"]) <= 100 * misread / len(answers) + 1e-9
    if misread == 0:
        for m in ("precision", "recall", "f1"):
            assert got[m] == pytest.approx(flexible[m], abs=1e-9), m
    assert got["unparsed"] == sum(postprocess.parse_yes_no(a, task) is None for a in answers)


def test_binary_scores_by_hand():
    # 6 items: Yes/Yes tp, "Nope."/No tn, "They are clones."/No fp, "Not sure"/Yes fn (unread), "N"/Yes fn,
    # "不确定"/No -> unread on a negative: a false positive. tp=1 fp=2 tn=1 fn=2
    preds = ["Yes", "Nope.", "They are clones.", "Not sure", "N", "不确定"]
    refs = ["Yes", "No", "No", "Yes", "Yes", "否"]
    s = registry.get("code_search", "clone_detection").score(preds, refs, "en")
    assert (round(s["accuracy"], 2), round(s["precision"], 2), round(s["recall"], 2), round(s["f1"], 2)) == \
        (33.33, 33.33, 33.33, 33.33)
    assert s["unparsed"] == 2
    # strict: only "Yes" is a label: tp=1, the 5 others wrong -> fp=3 (negatives), fn=2
    assert (round(s["accuracy_strict"], 2), round(s["precision_strict"], 2), round(s["recall_strict"], 2)) == \
        (16.67, 25.0, 33.33)


def test_cloze_scores_equal_the_official_rule():
    answers = [a for a, _ in CLOZE_FORMS]
    gold = [w if w is not None else "max" for _, w in CLOZE_FORMS]
    got = registry.get("code_search", "cloze_test").score(answers, gold, "en")
    assert got["exact_match_strict"] == pytest.approx(ref.cloze_accuracy([a.strip() for a in answers], gold))
    assert got["exact_match"] == pytest.approx(ref.cloze_accuracy(
        [w if w is not None else "\0" for _, w in CLOZE_FORMS], gold))
    assert got["unparsed"] == sum(w is None for _, w in CLOZE_FORMS)
    # by hand: 5 answers, 2 bare (strict), 4 readable, 1 hedge
    s = registry.get("code_search", "cloze_test").score(["max", " min ", "**max**", "Answer: len", "not sure"],
                                                        ["max", "min", "max", "len", "max"], "en")
    assert (s["exact_match_strict"], s["exact_match"], s["unparsed"]) == (40.0, 80.0, 1)


# ---------------------------------------------------------------- code tasks vs the official rules

JAVA = [
    "public int add(int a, int b) {\n    int c = a + b;\n    return c;\n}",
    "public static int max(int[] xs) {\n    int m = xs[0];\n    for (int x : xs) {\n        if (x > m) m = x;\n    }\n    return m;\n}",
    "public String name() {\n    return this.name;\n}",
    "public void clear() {\n    items.clear();\n    size = 0;\n}",
    "public boolean isEmpty() {\n    return size == 0;\n}",
    "private int count(String s, char c) {\n    int n = 0;\n    for (char x : s.toCharArray()) if (x == c) n++;\n    return n;\n}",
    "public void log(String msg) {\n    System.out.println(msg);\n}",
    "public int sq(int v) {\n    return v * v;\n}",
]


def _perturb(code: str, i: int) -> str:
    toks = code.split(" ")
    kinds = [
        lambda: code,  # exact
        lambda: " ".join(toks[:3] + toks[4:]),  # a token dropped
        lambda: " ".join(toks[:2] + ["final"] + toks[2:]),  # a token added
        lambda: code.replace("int", "long", 1),  # renamed
        lambda: code[: len(code) // 2],  # truncated
        lambda: code.replace("(", "( ", 1).replace("return", "yield").replace(";", " ;", 1),  # three edits
        lambda: "",  # empty
        lambda: "SELECT * FROM t WHERE x = 1",  # unrelated
        lambda: " ".join(code.split()),  # reflowed: same tokens, one line
        lambda: code.replace("\n    ", "\n  "),  # re-indented
    ]
    return kinds[i % len(kinds)]()


def _code_fixture():
    refs = [c for c in JAVA for _ in range(3)]
    preds = [_perturb(c, i) for i, c in enumerate(refs)]
    return preds, refs


@pytest.mark.parametrize("subtask", ["code_repair", "code_translation"])
def test_code_to_code_bleu_and_exact_match_equal_the_official_rule(subtask):
    preds, refs = _code_fixture()
    got = registry.get("code_search", subtask).score(preds, refs, "en", "java")
    assert round(got["bleu"], 2) == round(ref.nmt_bleu(preds, refs), 2)
    assert got["exact_match"] == pytest.approx(ref.em_line(preds, refs))
    # reflowed and re-indented predictions are not official matches, only whitespace-insensitive ones
    assert got["exact_match_ws"] == pytest.approx(ref.em_tokens(preds, refs))
    assert got["exact_match_ws"] > got["exact_match"]
    # by hand: one exact, one reflowed, one with a trailing newline -> official EM 2 of 3
    s = registry.get("code_search", subtask).score(["a = 1 ;", "a =\n 1 ;", "a = 1 ;\n"], ["a = 1 ;"] * 3, "en")
    assert s["exact_match"] == pytest.approx(200 / 3) and s["exact_match_ws"] == 100.0


def test_code_generation_and_completion_equal_the_official_rule():
    preds, refs = _code_fixture()
    gen = registry.get("code_generation", None).score(preds, refs, "en", "java")
    assert gen["exact_match"] == pytest.approx(ref.em_tokens(preds, refs))  # CONCODE: token lists
    assert round(gen["bleu"], 2) == round(ref.nmt_bleu(preds, refs), 2)
    lines = [c.splitlines()[1].strip() for c in refs]
    plines = [(_perturb(x, i).strip() or "}") for i, x in enumerate(lines)]
    comp = registry.get("code_search", "code_completion").score(plines, lines, "en")
    assert comp["exact_match"] == pytest.approx(ref.em_tokens(plines, lines))
    assert comp["edit_sim"] == pytest.approx(ref.edit_sim(plines, lines))
    # by hand: each item's ratio is rounded before the mean, halves to even as Python's round
    # ("a"+7x vs "a"+7y: 2*1/16 = 12.5 -> 12; "abc"/"abd": 66.67 -> 67)
    s = registry.get("code_search", "code_completion").score(["a" + "x" * 7, "abd"], ["a" + "y" * 7, "abc"], "en")
    assert s["edit_sim"] == (12 + 67) / 2


def test_summaries_smoothed_bleu_equals_the_official_rule():
    refs = ["Returns the maximum of two integers.", "Parses a JSON string into a map (keys: strings).",
            "Closes the connection, if it is open.", "Computes 3.5% interest on 1,000 dollars."] * 3
    preds = [refs[0], "Returns the max of 2 ints", "", "Closes the connection if open.",
             "returns THE MAXIMUM of two integers", "Parses JSON.", "Opens a file.", "Computes 3.5 % interest on 1000 dollars",
             "x", refs[9].upper(), "Parses a JSON string into a map (keys: strings).", "Closes the connection, if it is open"]
    got = registry.get("code_summarization", None).score(preds, refs, "en")["smoothed_bleu4"]
    assert got == pytest.approx(ref.smoothed_bleu(preds, refs), abs=1e-9)


def test_summaries_smoothed_bleu_by_hand():
    # hand computation in test_eval_metrics (32.50 and 17.86); the corpus figure is their mean
    s = registry.get("code_summarization", None).score(
        ["Returns the maximum value of a function.", "max function."],
        ["Returns the maximum of two integers."] * 2, "en")
    assert round(s["smoothed_bleu4"], 2) == round((32.4986 + 17.8612) / 2, 2)


# ---------------------------------------------------------------- CodeBLEU

needs_codebleu = pytest.mark.skipif(not codebleu_score.available(), reason="codebleu is not installed")


@needs_codebleu
def test_codebleu_empty_and_dataflow_free_cases_score_as_codexglue():
    method = ["public int add(int a, int b) {\n    int c = a + b;\n    return c;\n}"]
    no_flow = ["public void f() {\n    g();\n}"]
    assert codebleu_score.codebleu(method, method, "java") == pytest.approx(100.0)
    # the package gives 25 (a data-flow score of 0 counted as 1); CodeXGLUE: 0
    assert codebleu_score.codebleu([""], method, "java") == 0.0
    # an exact copy of code without data flow: 0.25 x (1 + 1 + 1 + 0), not 100
    assert codebleu_score.codebleu(no_flow, no_flow, "java") == pytest.approx(75.0)
    preds, refs = _code_fixture()
    parts = codebleu_score.parts(preds, refs, "java")
    assert codebleu_score.codebleu(preds, refs, "java") == pytest.approx(25 * sum(parts.values()))


_SEED_SCRIPT = """
import json, sys
from collama_train.evaluate import codebleu_score
ref = ["def f(a, b):\\n    x = a\\n    y = b\\n    if a > b:\\n        x = b + y\\n        y = a + x\\n    else:\\n"
       "        x = a * y\\n        y = x - b\\n    for i in range(x):\\n        y = y + i + x + a\\n    return x + y\\n"]
pred = [ref[0].replace("x", "t").replace("range(t)", "range(y)")]
print(json.dumps(codebleu_score.parts(pred, ref, "python")["dataflow_match_score"]))
"""


@needs_codebleu
def test_codebleu_does_not_move_with_the_hash_seed():
    # with the package alone this data-flow score is 0.767 under PYTHONHASHSEED=0 and 0.8 under 1..5
    out = set()
    for seed in ("0", "6"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        res = subprocess.run([sys.executable, "-c", _SEED_SCRIPT], capture_output=True, text=True, env=env, check=True)
        out.add(json.loads(res.stdout))
    assert len(out) == 1
