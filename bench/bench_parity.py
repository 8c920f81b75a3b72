"""Parity: collama-eval's metrics against CodeXGLUE's evaluator rules on real test records.

For each task, up to N (default 300) test records of a `mulco build` folder (EN) get predictions a
model could write: for code, the reference perturbed (exact, a token dropped / added / renamed,
truncated, three edits, empty, unrelated, reflowed, re-indented); for cloze and query-to-code,
answers written as sentences the way instruction-tuned models answer (EN and ZH forms, some
wrong, some hedges), each with the answer a reader takes from it. The official rules come from
``tests/codexglue_reference.py`` (written from the evaluators' definitions, no shared code).

Clone and defect detection have no records in the shared raw slices (BigCloneBench's and Devign's
code are not in them), so those two use N synthetic items: a gold label each and an answer drawn
from the same kinds of forms.

    python bench/bench_parity.py --data /tmp/evalbuild [--n 300]

Prints one row per task and metric: the official figure, ours, and the difference.
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

YES_FORMS = ["Yes", "Yes.", "**Yes**", "**Answer:** Yes", "The answer is yes.", "Yep", "Y", "Yes, {why}.",
             "{why}, so yes.", "No doubt, {why}.", "是", "是的，{why_zh}。", "答案：是"]
NO_FORMS = ["No", "No.", "**No**", "Answer: No", "The answer is no.", "Nope.", "N", "No, {why_not}.",
            "{why_not}, so no.", "否", "不是，{why_not_zh}。", "答案：否"]
DECLARATIVE = {"clone_detection": (["They are clones.", "These functions are semantically equivalent.", "它们是克隆。"],
                                   ["They are not clones.", "They implement different functionality.", "它们功能不同。"]),
               "defect_detection": (["The function is vulnerable.", "This code contains a bug.", "存在漏洞。"],
                                    ["Not vulnerable.", "The code is safe.", "没有漏洞。"])}
HEDGES = ["I'm not sure.", "It is hard to say without more context.", "不确定", "无法判断"]
CLOZE_FORMS = ["{w}", "`{w}`", "**{w}**", '"{w}"', "Answer: {w}", "**Answer:** `{w}`", "The answer is {w}.",
               "The missing word is `{w}`.", "`{w}` is the masked token.", "答案是 `{w}`", "缺失的词是 {w}。", "应填入 `{w}`"]
QUERY_FORMS = ["{c}", "Candidate {c}", "Candidates {c}.", "The answer is candidate {c}.", "**{c}**", "候选 {c}",
               "答案：{c}"]


def perturb_code(code: str, i: int, rng: random.Random) -> str:
    toks = code.split(" ")
    j = rng.randrange(max(1, len(toks)))
    kinds = [
        lambda: code,
        lambda: " ".join(toks[:j] + toks[j + 1:]),
        lambda: " ".join(toks[:j] + ["tmp"] + toks[j:]),
        lambda: " ".join("renamed" if k == j else t for k, t in enumerate(toks)),
        lambda: code[: len(code) // 2],
        lambda: " ".join(("X" if k in (j, j // 2, j // 3) else t) for k, t in enumerate(toks)),
        lambda: "",
        lambda: "return 0 ;",
        lambda: "\n    ".join(" ".join(code.split()[k:k + 5]) for k in range(0, len(code.split()), 5)),
        lambda: "\n".join("  " + ln.strip() for ln in code.splitlines()),
    ]
    return kinds[i % len(kinds)]()


def records(data: str, config: str, n: int) -> list[dict]:
    import mulco

    try:
        recs = mulco.read_table(mulco.resolve([config], data, split="test")).to_pylist()
    except (mulco.SelectionError, mulco.UnknownConfigError):
        return []
    recs.sort(key=lambda r: r["id"])
    return random.Random(0).sample(recs, min(n, len(recs)))


def _row(task, metric, official, ours):
    print(f"| {task} | {metric} | {official:.2f} | {ours:.2f} | {ours - official:+.2f} |")


def code_tasks(data, n):
    import codexglue_reference as ref

    from collama_train.evaluate import codebleu_score, registry

    for config, task, sub in (("code_search.code_repair.en", "code_search", "code_repair"),
                              ("code_search.code_translation.en", "code_search", "code_translation"),
                              ("code_generation.en", "code_generation", None)):
        recs = records(data, config, n)
        if not recs:
            continue
        rng = random.Random(1)
        refs = [r["output"] for r in recs]
        preds = [perturb_code(x, i, rng) for i, x in enumerate(refs)]
        name = f"{sub or task} (n={len(recs)})"
        got = registry.get(task, sub).score(preds, refs, "en", None)
        _row(name, "bleu", round(ref.nmt_bleu(preds, refs), 2), round(got["bleu"], 2))
        official_em = ref.em_tokens(preds, refs) if sub is None else ref.em_line(preds, refs)
        _row(name, "exact_match", official_em, got["exact_match"])
        if "exact_match_ws" in got:
            print(f"| {name} | exact_match_ws (ours only) | – | {got['exact_match_ws']:.2f} | – |")
        plang = recs[0].get("target_plang") or recs[0].get("plang")
        if codebleu_score.supported(plang):
            same = [r for r in recs if (r.get("target_plang") or r.get("plang")) == plang]
            sp = [preds[recs.index(r)] for r in same]
            sr = [r["output"] for r in same]
            parts = codebleu_score.parts(sp, sr, plang)
            pkg = 25 * (parts["ngram_match_score"] + parts["weighted_ngram_match_score"] + parts["syntax_match_score"]
                        + (parts["dataflow_match_score"] or 1))
            print(f"| {name} | codebleu {plang} (n={len(same)}): package formula -> ours | {pkg:.2f} | "
                  f"{codebleu_score.codebleu(sp, sr, plang):.2f} | – |")


def summaries(data, n):
    import codexglue_reference as ref

    from collama_train.evaluate import registry
    from collama_train.evaluate.postprocess import one_sentence

    recs = records(data, "code_summarization.en", n)
    if not recs:
        return
    rng = random.Random(6)
    refs = [r["output"] for r in recs]
    preds = [perturb_code(x, i, rng).replace("\n", " ") for i, x in enumerate(refs)]
    got = registry.get("code_summarization", None).score(preds, refs, "en")
    official = ref.smoothed_bleu([one_sentence(p) for p in preds], [one_sentence(r) for r in refs])
    _row(f"code_summarization (n={len(recs)})", "smoothed_bleu4", official, got["smoothed_bleu4"])


def completion(data, n):
    import codexglue_reference as ref

    from collama_train.evaluate import registry

    recs = records(data, "code_search.code_completion.en", n)
    if not recs:
        return
    rng = random.Random(2)
    refs = [r["output"].strip() for r in recs]
    preds = [perturb_code(x, i, rng).replace("\n", " ") for i, x in enumerate(refs)]
    got = registry.get("code_search", "code_completion").score(preds, refs, "en")
    name = f"code_completion (n={len(recs)})"
    _row(name, "exact_match", ref.em_tokens(preds, refs), got["exact_match"])
    _row(name, "edit_sim", ref.edit_sim(preds, refs), got["edit_sim"])


def cloze(data, n):
    import codexglue_reference as ref

    from collama_train.evaluate import registry

    recs = records(data, "code_search.cloze_test.en", n)
    if not recs:
        return
    rng = random.Random(3)
    gold = [r["output"].strip() for r in recs]
    answers, intended = [], []
    for i, w in enumerate(gold):
        roll = rng.random()
        if roll < 0.05:
            answers.append(rng.choice(HEDGES))
            intended.append(None)
            continue
        word = w if roll < 0.75 else rng.choice(gold)
        answers.append(CLOZE_FORMS[i % len(CLOZE_FORMS)].format(w=word))
        intended.append(word)
    got = registry.get("code_search", "cloze_test").score(answers, gold, "en")
    name = f"cloze_test (n={len(recs)})"
    _row(name, "exact_match_strict (raw text)", ref.cloze_accuracy([a.strip() for a in answers], gold),
         got["exact_match_strict"])
    _row(name, "exact_match (intended answers)", ref.cloze_accuracy([w or "\0" for w in intended], gold),
         got["exact_match"])
    print(f"| {name} | unparsed (hedges: {intended.count(None)}) | – | {got['unparsed']} | – |")


def _yes_no_answer(rng, label, sub):
    why = {"why": "both sort the list", "why_zh": "两者都对列表排序", "why_not": "the second returns early",
           "why_not_zh": "第二个提前返回"}
    if rng.random() < 0.05:
        return rng.choice(HEDGES), None
    said = label if rng.random() < 0.75 else not label
    if rng.random() < 0.3:
        return rng.choice(DECLARATIVE[sub][0 if said else 1]), said
    return rng.choice(YES_FORMS if said else NO_FORMS).format(**why), said


def yes_no(n):
    import codexglue_reference as ref

    from collama_train.evaluate import registry

    for sub in ("clone_detection", "defect_detection"):
        rng = random.Random(4)
        gold = [rng.random() < 0.5 for _ in range(n)]
        pairs = [_yes_no_answer(rng, g, sub) for g in gold]
        answers = [a for a, _ in pairs]
        gi = [int(g) for g in gold]
        got = registry.get("code_search", sub).score(answers, ["Yes" if g else "No" for g in gold], "en")
        strict = ref.binary(ref.raw_labels(answers, gi), gi)
        flexible = ref.binary([int(w) if w is not None else 1 - g for (_, w), g in zip(pairs, gi)], gi)
        name = f"{sub} (synthetic, n={n})"
        for m in ("accuracy", "precision", "recall", "f1"):
            _row(name, f"{m}_strict (raw text)", strict[m], got[f"{m}_strict"])
            _row(name, f"{m} (intended answers)", flexible[m], got[m])
        hedges = sum(w is None for _, w in pairs)
        print(f"| {name} | unparsed (hedges: {hedges}) | – | {got['unparsed']} | – |")


def query(data, n):
    from collama_train.evaluate import postprocess, registry

    recs = records(data, "code_search.query_to_code.en", n)
    if not recs:
        return
    rng = random.Random(5)
    refs = [r["output"] for r in recs]
    answers, intended = [], []
    for i, x in enumerate(refs):
        chosen = postprocess.strict_candidates(x)
        if not chosen:
            answers.append(rng.choice(["none", "None of them.", "无", "都不是"]))
            intended.append(())
            continue
        c = ", ".join(map(str, chosen)) if i % 2 else " and ".join(map(str, chosen))
        answers.append(QUERY_FORMS[i % len(QUERY_FORMS)].format(c=c))
        intended.append(chosen)
    got = registry.get("code_search", "query_to_code").score(answers, refs, "en")
    right = sum(postprocess.parse_candidates(a) == w for a, w in zip(answers, intended))
    _row(f"query_to_code (n={len(recs)})", "answers read as intended (%)", 100.0, 100.0 * right / len(recs))
    print(f"| query_to_code (n={len(recs)}) | accuracy / accuracy_strict | – | "
          f"{got['accuracy']:.2f} / {got['accuracy_strict']:.2f} | – |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="a `mulco build` folder with a test split")
    p.add_argument("--n", type=int, default=300, help="records per task")
    a = p.parse_args(argv)
    print("| task | metric | official rule | collama-eval | difference |\n|---|---|---|---|---|")
    code_tasks(a.data, a.n)
    summaries(a.data, a.n)
    completion(a.data, a.n)
    cloze(a.data, a.n)
    yes_no(a.n)
    query(a.data, a.n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
