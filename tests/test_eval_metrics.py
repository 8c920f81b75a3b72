"""collama_train.evaluate metrics against hand-computed values on tiny inputs, and CodeXGLUE's
smoothed BLEU-4 reproduced step by step (its tokenization, add-one smoothing from the bigrams on,
brevity penalty min(0, 1-(r+1)/(c+1)))."""
from __future__ import annotations

import math

import pytest

from collama_train.evaluate import bleu, classify, passk, postprocess, registry, text


# ---------------------------------------------------------------- answer clean-up

def test_strip_fences_takes_the_first_fenced_block():
    assert postprocess.strip_fences("Here:\n```python\ndef f():\n    return 1\n```\nDone.") == "def f():\n    return 1"
    assert postprocess.strip_fences("````go\nx := \"```\"\n````") == 'x := "```"'
    assert postprocess.strip_fences("```\nunclosed\ncode") == "unclosed\ncode"
    assert postprocess.strip_fences("\nplain code\n") == "plain code"


def test_first_line_and_cloze_word():
    assert postprocess.first_line("\n  return a + b  \nmore") == "return a + b"
    assert postprocess.first_line("```js\n}\n```") == "}"
    assert postprocess.cloze_word("`append`.\nbecause ...") == "append"
    assert postprocess.cloze_word("") is None  # nothing to read: unparsed


@pytest.mark.parametrize("answer,expected", [
    ("Yes", True), ("No", False), ("yes.", True), ("NO, they differ", False), ("**Yes**", True),
    ("Answer: No", False), ("是", True), ("否", False), ("不是。", False), ("是的，它们等价", True),
    ("yesterday", None), ("Maybe", None), ("", None), ("  ", None), ("True", True),
])
def test_yes_no_parsing_in_both_languages(answer, expected):
    assert postprocess.parse_yes_no(answer) is expected


def test_yes_no_words_are_the_templates_labels():
    import mulco

    for lang in mulco.LANGS:
        for key in ("clone_detection", "defect_detection"):
            labels = mulco.answer_labels(lang)[key]
            assert postprocess.parse_yes_no(labels["true"]) is True
            assert postprocess.parse_yes_no(labels["false"]) is False


def test_candidate_parsing():
    assert postprocess.parse_candidates("1, 3") == (1, 3)
    assert postprocess.parse_candidates("Candidate 2") == (2,)
    assert postprocess.parse_candidates("候选 2 和 4") == (2, 4)
    assert postprocess.parse_candidates("none of them") == () == postprocess.parse_candidates("无")  # no candidate answers
    assert postprocess.parse_candidates("I cannot tell") is None


# ---------------------------------------------------------------- BLEU

def test_codexglue_tokenization():
    assert bleu.split_puncts("returns the max(a,b).") == "returns the max ( a , b ) ."
    # NIST normalization: lowercases, splits punctuation, keeps 3.5 and 1,000 together
    assert bleu.nist_tokens("Costs 3.5 USD, or 1,000 (cents)") == ["costs", "3.5", "usd", ",", "or", "1,000", "(", "cents", ")"]


def test_smoothed_bleu4_reproduces_codexglue_by_hand():
    ref = "Returns the maximum of two integers."
    # 1) pred 8 tokens vs ref 7: 1-grams 5/8 (unsmoothed), 2-grams (2+1)/(7+1), 3-grams (1+1)/(6+1),
    #    4-grams (0+1)/(5+1); brevity: min(0, 1-(7+1)/(8+1)) = 0
    pred1 = "Returns the maximum value of a function."
    s1 = math.exp((math.log(5 / 8) + math.log(3 / 8) + math.log(2 / 7) + math.log(1 / 6)) / 4)
    # 2) "max function ." 3 tokens: 1-grams 1/3, 2-grams (0+1)/(2+1), 3-grams (0+1)/(1+1), 4-grams (0+1)/(0+1);
    #    brevity: 1-(7+1)/(3+1) = -1
    pred2 = "max function."
    s2 = math.exp((math.log(1 / 3) + math.log(1 / 3) + math.log(1 / 2) + math.log(1)) / 4 - 1)
    assert bleu.smoothed_bleu4([pred1], [ref]) == pytest.approx(100 * s1, abs=1e-9)
    assert round(bleu.smoothed_bleu4([pred1], [ref]), 2) == 32.50
    assert bleu.smoothed_bleu4([pred2], [ref]) == pytest.approx(100 * s2, abs=1e-9)
    assert round(bleu.smoothed_bleu4([pred2], [ref]), 2) == 17.86
    # the corpus figure is the mean of the sentence scores (bleuFromMaps)
    assert bleu.smoothed_bleu4([pred1, pred2], [ref, ref]) == pytest.approx(50 * (s1 + s2), abs=1e-9)
    # identical (case and punctuation spacing do not matter) -> 100; nothing in common -> ~0
    assert bleu.smoothed_bleu4(["RETURNS the maximum of two integers ."], [ref]) == pytest.approx(100.0)
    assert bleu.smoothed_bleu4(["zzz"], [ref]) < 1e-6


def test_corpus_bleu_is_codexglue_code_to_code_bleu():
    assert bleu.corpus_bleu(["a b c d"], ["a b c d"]) == pytest.approx(100.0)
    # smooth=True: (m+1)/(n+1) for every order: 4/5, 3/4, 2/3, 1/2; same length -> BP 1
    assert bleu.corpus_bleu(["a b c e"], ["a b c d"]) == pytest.approx(100 * (4 / 5 * 3 / 4 * 2 / 3 * 1 / 2) ** 0.25)
    # shorter hypothesis: BP = exp(1 - 4/2); counts pooled over the corpus
    p = ((2 + 1) / (2 + 1) * (1 + 1) / (1 + 1) * (0 + 1) / (0 + 1) * 1) ** 0.25
    assert bleu.corpus_bleu(["a b"], ["a b c d"]) == pytest.approx(100 * p * math.exp(1 - 4 / 2))


def test_zh_bleu_is_character_level():
    # 甲乙丙戊 vs 甲乙丙丁, one character per token: 3/4, 2/3, 1/2 and (sacrebleu "exp" smoothing) 1/2 for 4-grams
    assert bleu.zh_bleu(["甲乙丙戊"], ["甲乙丙丁"]) == pytest.approx(100 * (3 / 4 * 2 / 3 * 1 / 2 * 1 / 2) ** 0.25, abs=0.01)
    assert bleu.zh_bleu(["返回两个数中较大的一个。"], ["返回两个数中较大的一个。"]) == pytest.approx(100.0)


# ---------------------------------------------------------------- match, classification, pass@k

def test_exact_match_and_edit_similarity():
    assert text.exact_match(["a  b", "c"], ["a b", "d"]) == 50.0  # white-space tokens, as CodeXGLUE completion
    # code-to-code: the one-line forms (line breaks -> spaces, stripped) must be equal
    assert text.exact_match_line(["a b\n", "a\nb", "a  b"], ["a b", "a b", "a b"]) == pytest.approx(200 / 3)
    # Indel ratio: 2 * matches / total length, rounded per item as fuzzywuzzy: "abc" vs "abd": 2*2/6 -> 67
    assert text.edit_similarity(["abc", "xyz"], ["abd", "xyz"]) == (67 + 100) / 2


def test_binary_scores_count_unparseable_as_wrong():
    pred = [True, True, False, None, False, None]
    gold = [True, False, False, True, True, False]
    # an unparsed answer is the wrong label: the unparsed positive a false negative, the unparsed negative a
    # false positive (it costs precision as a wrong "Yes" would): tp=1 fp=2 tn=1 fn=2
    s = classify.binary_scores(pred, gold)
    assert s["accuracy"] == pytest.approx(100 * 2 / 6)
    assert s["precision"] == pytest.approx(100 / 3)
    assert s["recall"] == pytest.approx(100 / 3)
    assert s["f1"] == pytest.approx(100 / 3)
    assert s["unparsed"] == 2
    # before: the unparsed negative was "No", so precision was 50 on the same answers
    assert classify.binary_scores([True, True, False, None, False, False], gold)["precision"] == 50.0


def test_choice_scores():
    pred = [(1,), (1, 2), None, (3, 1)]
    gold = [(1,), (1,), (2,), (1, 3)]
    s = classify.choice_scores(pred, gold)
    assert s["accuracy"] == 50.0 and s["hit"] == 75.0 and s["unparsed"] == 1


def test_pass_at_k_unbiased_estimator():
    assert passk.pass_at_k(5, 2, 1) == pytest.approx(2 / 5)
    assert passk.pass_at_k(5, 2, 2) == pytest.approx(1 - 3 / 10)  # 1 - C(3,2)/C(5,2)
    assert passk.pass_at_k(5, 0, 3) == 0.0 and passk.pass_at_k(5, 4, 2) == 1.0
    got = passk.mean_pass_at_k([(10, 1), (10, 0)])
    assert set(got) == {"pass@1", "pass@10"}  # pass@100 needs 100 samples
    assert got["pass@1"] == pytest.approx(100 * (0.1 + 0) / 2) and got["pass@10"] == pytest.approx(50.0)
    with pytest.raises(ValueError):
        passk.pass_at_k(3, 1, 10)


# ---------------------------------------------------------------- the registry

def test_registry_covers_every_mulco_task():
    import mulco

    for task in mulco.TASKS:
        for sub in mulco.SUBTASKS[task] or (None,):
            assert registry.get(task, sub).score is not None
    with pytest.raises(registry.UnknownTaskError, match="code_search.clone_detection"):
        registry.get("code_search", "clone_detecton")


@pytest.mark.parametrize("task,subtask,pred,ref,lang,metric,value", [
    ("code_search", "clone_detection", "是", "是", "zh", "accuracy", 100.0),
    ("code_search", "defect_detection", "Yes, it frees twice.", "No", "en", "accuracy", 0.0),
    ("code_search", "cloze_test", "`append`", "append", "en", "exact_match", 100.0),
    ("code_search", "code_completion", "```go\n}\n```", "}", "en", "exact_match", 100.0),
    ("code_search", "code_repair", "Fixed:\n```java\nint x = 1 ;\n```", "int x = 1 ;", "en", "exact_match", 100.0),
    ("code_search", "query_to_code", "1, 2", "1, 2", "zh", "accuracy", 100.0),
    ("code_summarization", None, "Max returns the larger of a and b.\nIt compares.", "Max returns the larger of a and b.",
     "en", "smoothed_bleu4", 100.0),
])
def test_registry_scores_cleaned_answers(task, subtask, pred, ref, lang, metric, value):
    assert registry.get(task, subtask).score([pred], [ref], lang)[metric] == pytest.approx(value)


# ---------------------------------------------------------------- CodeBLEU (optional package)

def test_codebleu_matches_the_reference_package_example():
    from collama_train.evaluate import codebleu_score

    if not codebleu_score.available():
        pytest.skip("codebleu is not installed (" + codebleu_score.INSTALL + ")")
    # the codebleu README's example: 0.5537 (ngram 0.1041, weighted 0.1109, syntax 1.0, dataflow 1.0)
    pred = "def add ( a , b ) :\n return a + b"
    ref = "def sum ( first , second ) :\n return second + first"
    assert codebleu_score.codebleu([pred], [ref], "python") == pytest.approx(55.37, abs=0.01)
    assert codebleu_score.codebleu([ref], [ref], "python") == pytest.approx(100.0)
    got = registry.get("code_search", "code_translation").score(["```java\nint a = 1 ;\n```"], ["int a = 1 ;"], "en", "java")
    assert got["codebleu"] == pytest.approx(100.0) and got["exact_match"] == 100.0
    # no grammar for SQL: no codebleu in the cell
    assert "codebleu" not in registry.get("code_generation", None).score(["SELECT 1"], ["SELECT 1"], "en", "sql")


def test_missing_codebleu_is_said_in_the_results(monkeypatch):
    from collama_train.evaluate import codebleu_score, report

    monkeypatch.setattr(codebleu_score, "available", lambda: False)
    row = {"id": "a", "task": "code_search", "subtask": "code_repair", "lang": "en", "plang": "java", "prompt": "",
           "prediction": "int a ;", "reference": "int a ;"}
    res = report.score([row])
    assert set(res["cells"][0]["metrics"]) == {"bleu", "exact_match", "exact_match_ws"}
    assert any("CodeBLEU not computed for java" in n and codebleu_score.INSTALL in n for n in res["notes"])


def test_scoring_needs_no_torch(tmp_path):
    """`collama-eval score` works with the light install: no torch/transformers/datasets import."""
    import json
    import subprocess
    import sys

    row = {"id": "a", "task": "code_search", "subtask": "cloze_test", "lang": "en", "plang": "go", "prompt": "",
           "prediction": "append", "reference": "append"}
    (tmp_path / "generations.jsonl").write_text(json.dumps(row) + "\n")
    code = ("import sys; from collama_train.evaluate.cli import main; rc = main(['score', sys.argv[1]]); "
            "print([m for m in ('torch', 'transformers', 'datasets') if m in sys.modules], rc)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[] 0") and "| en | go | 1 | 100.00 |" in out


def test_results_pool_the_plangs_of_a_task_and_language():
    from collama_train.evaluate import report

    def row(i, plang, pred, ref):
        return {"id": str(i), "task": "code_search", "subtask": "defect_detection", "lang": "en", "plang": plang,
                "prompt": "", "prediction": pred, "reference": ref}

    rows = [row(1, "c", "Yes", "Yes"), row(2, "c", "No", "Yes"), row(3, "cpp", "Yes", "No"), row(4, "cpp", "??", "No"),
            row(5, "cpp", "No", "No")]
    cells = {c["plang"]: c for c in report.score(rows)["cells"]}
    assert list(cells) == ["c", "cpp", "all"]
    assert cells["c"]["metrics"]["accuracy"] == 50.0 and cells["cpp"]["metrics"]["accuracy"] == pytest.approx(100 / 3)
    # pooled, not averaged: 2 right of 5 (the cells' mean would be 41.67); tp=1 fp=2 (one unparsed) fn=1
    a = cells["all"]
    assert a["n"] == 5 and a["metrics"]["accuracy"] == 40.0 and a["metrics"]["unparsed"] == 1
    assert a["metrics"]["precision"] == pytest.approx(100 / 3) and a["metrics"]["recall"] == 50.0
    assert a["metrics"]["f1"] == pytest.approx(40.0)
    assert ("| en | all | 5 | 40.00 | 33.33 | 50.00 | 40.00 | 40.00 | 33.33 | 50.00 | 40.00 | 1 |"
            in report.markdown(report.score(rows)))
