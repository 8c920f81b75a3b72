"""Exact and near dedup, and leakage: hand-made near duplicates are caught, distinct code is kept,
clusters keep the test record, then the smallest id."""
from __future__ import annotations


from mulco.record import make_record
from mulco.steps.dedup import DedupConfig, ExactDedup, Leakage, NearDedup
from mulco.steps.pipeline import Corpus, run_steps

MOVING_AVERAGE = '''def moving_average(values, window):
    """Return the moving averages of values over a sliding window."""
    if window <= 0:
        raise ValueError("window must be positive")
    result = []
    total = 0.0
    for index, value in enumerate(values):
        total += value
        if index >= window:
            total -= values[index - window]
        if index >= window - 1:
            result.append(total / window)
    return result
'''
RENAMED = MOVING_AVERAGE.replace("result", "averages").replace("total", "running")
REFORMATTED = '''def moving_average( values , window ) :
    """Return the moving averages of values over a sliding window."""
    if window<=0: raise ValueError( "window must be positive" )
    result=[]; total=0.0
    for index,value in enumerate( values ):
        total+=value
        if index>=window: total-=values[index-window]
        if index>=window-1: result.append( total/window )
    return result
'''
OTHER_IMPL = '''def moving_average(values, window):
    """Return the moving averages of values over a sliding window."""
    if window <= 0:
        raise ValueError("window must be positive")
    return [sum(values[i - window + 1:i + 1]) / window for i in range(window - 1, len(values))]
'''
BOILERPLATE = '''import java.util.Scanner;

public class Main {
    public static void main(String[] args) {
        Scanner scanner = new Scanner(System.in);
        int n = scanner.nextInt();
        int[] numbers = new int[n];
        for (int i = 0; i < n; i++) {
            numbers[i] = scanner.nextInt();
        }
        System.out.println(solve(numbers));
    }

'''
KADANE = BOILERPLATE + '''    static long solve(int[] numbers) {
        long best = Long.MIN_VALUE, current = 0;
        for (int x : numbers) {
            current = Math.max(x, current + x);
            best = Math.max(best, current);
        }
        return best;
    }
}
'''
PAIRS = BOILERPLATE + '''    static long solve(int[] numbers) {
        java.util.Map<Integer, Integer> seen = new java.util.HashMap<>();
        long pairs = 0;
        for (int x : numbers) {
            pairs += seen.getOrDefault(-x, 0);
            seen.merge(x, 1, Integer::sum);
        }
        return pairs;
    }
}
'''


def rec(n: int, output: str, *, instruction="Write a function that computes moving averages.", lang="en",
        plang="python", task="code_generation", subtask=None, inp=""):
    return make_record(source="codealpaca", source_id=f"f.json:{n}", license="x", task=task, subtask=subtask,
                       lang=lang, plang=plang, instruction=instruction, input=inp, output=output)


def run(records, splits=None, steps=None, cfg=None):
    cfg = cfg or DedupConfig()
    splits = splits or ["train"] * len(records)
    corpus = Corpus(records, splits, ["codealpaca"] * len(records), threads=1)
    steps = steps or [ExactDedup(cfg), NearDedup(cfg)]
    results, dropped = run_steps(corpus, steps)
    return corpus, {records[i]["id"]: d for i, d in dropped.items()}, results


def test_renamed_variables_and_reformatted_code_are_near_duplicates():
    recs = [rec(0, MOVING_AVERAGE), rec(1, RENAMED), rec(2, REFORMATTED)]
    _, dropped, results = run(recs)
    keep = min(r["id"] for r in recs)
    assert set(dropped) == {r["id"] for r in recs} - {keep}
    assert all(d.step == "near_dedup" and d.matched == keep for d in dropped.values())
    near = results[1].stats
    assert near["clusters"] == 1 and near["records_in_clusters"] == 3


def test_distinct_functions_sharing_boilerplate_are_kept():
    recs = [rec(0, KADANE, plang="java", instruction="Solve it in Java."),
            rec(1, PAIRS, plang="java", instruction="Solve it in Java."),
            rec(2, MOVING_AVERAGE), rec(3, OTHER_IMPL)]
    _, dropped, _ = run(recs)
    assert dropped == {}


def test_one_liners_differing_in_a_name_used_once_are_kept():
    # the same template with a different field: renaming logic must not merge these
    a = "public void serialize(LittleEndianOutput out) {out.writeShort(field_1_vcenter);}"
    b = "public void serialize(LittleEndianOutput out) {out.writeShort(_options);}"
    recs = [rec(0, a, plang="java", instruction="Translate."), rec(1, b, plang="java", instruction="Translate.")]
    assert run(recs)[1] == {}


def test_chinese_record_differing_by_one_character_is_caught():
    q = "请用Python编写一个函数，计算列表中所有偶数的平方和，并返回结果；如果列表为空，则返回零。"
    q2 = q.replace("平方和", "立方和")
    code = "```python\ndef f(xs):\n    return sum(x * x for x in xs if x % 2 == 0)\n```"
    recs = [rec(0, code, instruction=q, lang="zh"), rec(1, code, instruction=q2, lang="zh")]
    _, dropped, _ = run(recs)
    assert len(dropped) == 1 and next(iter(dropped.values())).step == "near_dedup"


def test_exact_duplicates_ignore_whitespace_and_case_and_keep_the_smallest_id():
    a = rec(0, "def add(a, b):\n    return a + b\n", instruction="Add two numbers.")
    b = rec(1, "def add(a,b):\n  return a+b", instruction="add  two NUMBERS.")
    _, dropped, _ = run([a, b])
    keep, drop = sorted([a["id"], b["id"]])
    assert list(dropped) == [drop] and dropped[drop].step == "exact_dedup" and dropped[drop].matched == keep


def test_en_and_zh_twins_are_not_duplicates():
    code = "def add(a, b):\n    return a + b\n"
    en = rec(0, code, instruction="Add two numbers.", lang="en")
    zh = rec(0, code, instruction="两个数相加。", lang="zh")
    assert run([en, zh])[1] == {}


def test_a_cluster_keeps_its_test_record_then_validation():
    recs = [rec(0, MOVING_AVERAGE), rec(1, RENAMED), rec(2, REFORMATTED)]
    splits = ["train", "validation", "test"]
    _, dropped, _ = run(recs, splits)
    assert recs[2]["id"] not in dropped and len(dropped) == 2
    assert {d.matched for d in dropped.values()} == {recs[2]["id"]}
    _, dropped, _ = run(recs, ["train", "validation", "train"])
    assert recs[1]["id"] not in dropped


def test_label_tasks_are_deduplicated_per_answer():
    code = "```c\nint f(char *p) { return strlen(p); }\n```"
    yes = rec(0, "Yes", task="code_search", subtask="defect_detection", plang="c", inp=code, instruction="Vulnerable?")
    no = rec(1, "No", task="code_search", subtask="defect_detection", plang="c", inp=code, instruction="Vulnerable?")
    assert run([yes, no])[1] == {}


def test_leakage_across_tasks_drops_the_train_record():
    doc = "Return the moving averages of values over a sliding window."
    summ = rec(0, doc, task="code_summarization", inp=MOVING_AVERAGE, instruction="Summarize this Python function.")
    gen = rec(1, MOVING_AVERAGE, task="code_generation", inp=doc, instruction="Implement the following in Python.")
    gen["source_id"] = "g.json:1"
    cfg = DedupConfig()
    _, dropped, results = run([summ, gen], ["test", "train"], steps=[ExactDedup(cfg), NearDedup(cfg), Leakage(cfg)])
    assert list(dropped) == [gen["id"]]
    assert dropped[gen["id"]].step == "leakage" and dropped[gen["id"]].matched == summ["id"]
    # the same pair in one split is multi-task data, not leakage
    assert run([summ, gen], ["train", "train"], steps=[ExactDedup(cfg), NearDedup(cfg), Leakage(cfg)])[1] == {}


def test_thresholds_are_settable():
    recs = [rec(0, MOVING_AVERAGE), rec(1, RENAMED)]
    assert run(recs, cfg=DedupConfig(dedup_threshold=0.99))[1] == {}
    assert len(run(recs, cfg=DedupConfig(dedup_ngram=3, dedup_threshold=0.7))[1]) == 1


def test_dedup_is_deterministic_and_independent_of_threads():
    import random

    rnd = random.Random(3)
    base = [MOVING_AVERAGE, RENAMED, REFORMATTED, OTHER_IMPL, KADANE, PAIRS]
    recs = []
    for i in range(400):
        text = rnd.choice(base).replace("values", rnd.choice(["values", "xs", "data"])) + f"\n# {rnd.randrange(5)}\n"
        recs.append(rec(i, text))
    a = run(recs)[1]
    corpus = Corpus(recs, ["train"] * len(recs), ["codealpaca"] * len(recs), threads=2)
    cfg = DedupConfig()
    b = {recs[i]["id"]: d for i, d in run_steps(corpus, [ExactDedup(cfg), NearDedup(cfg)])[1].items()}
    assert a == b and len(a) > 300
