"""`--profile seed` (issue 11, item 7): each cell of the paper's MulCo sampled to its size,
stratified by programming language and split, deterministic, with requested vs delivered and
what a shortfall lacks."""
from __future__ import annotations

import json

from mulco.record import make_record
from mulco.steps.pipeline import Corpus, run_steps
from mulco.steps.profile import SEED_CELLS, Cell, Profile, allocate


def rec(n, source, task, subtask, lang, plang):
    return make_record(source=source, source_id=f"f:{n}", license="x", task=task, subtask=subtask, lang=lang,
                       plang=plang, instruction="Do it.", input="x", output=f"y{n}")


def test_allocate_is_proportional_with_largest_remainders():
    assert allocate(10, {"a": 30, "b": 10, "c": 0}) == {"a": 8, "b": 2, "c": 0}  # 7.5 / 2.5: a wins the tie on key
    assert allocate(10, {"a": 3, "b": 2}) == {"a": 3, "b": 2}  # fewer than the size: all
    assert sum(allocate(7, {"a": 5, "b": 5, "c": 5}).values()) == 7


def test_a_cell_keeps_its_size_stratified_by_plang_and_split_and_the_rest_goes():
    cells = (Cell("q2c.en", 6, "code_search", "query_to_code", "en", ("codepro",), ("python", "sql")),
             Cell("sum.zh", 4, "code_summarization", None, "zh", ("codesearchnet",), ("ruby", "go"), translator=True))
    recs, splits = [], []
    for n in range(12):  # 8 python (6 train, 2 test), 4 sql (train)
        pl = "python" if n < 8 else "sql"
        recs.append(rec(n, "codepro", "code_search", "query_to_code", "en", pl))
        splits.append("test" if n in (0, 1) else "train")
    recs.append(rec(99, "codexglue_line_completion", "code_search", "code_completion", "en", "python"))  # no cell
    splits.append("train")
    corpus = Corpus(recs, splits, [r["source"] for r in recs], threads=1)
    step = Profile(cfg=None, built={"codepro": "built", "codesearchnet": "absent"}, cells=cells)
    results, dropped = run_steps(corpus, [step])
    kept = [r for i, r in enumerate(recs) if i not in dropped]
    (q2c, summ) = results[0].stats["cells"]
    assert q2c["requested"] == 6 and q2c["available"] == 12 and q2c["delivered"] == 6 == len(kept)
    assert q2c["by_plang"] == {"python": 4, "sql": 2} and q2c["by_split"] == {"test": 1, "train": 5}
    assert "shortfall" not in q2c
    assert summ["delivered"] == 0 and "codesearchnet not built" in summ["shortfall"] and "--translator-url" in summ["shortfall"]
    assert dropped[len(recs) - 1].reason == "profile seed: not in a cell of the paper's MulCo"
    # deterministic, and the kept records of a stratum are the ones with the smallest ids
    corpus2 = Corpus(list(reversed(recs)), list(reversed(splits)), [r["source"] for r in reversed(recs)], threads=1)
    _, dropped2 = run_steps(corpus2, [Profile(cfg=None, built={"codepro": "built"}, cells=cells)])
    assert {r["id"] for i, r in enumerate(reversed(recs)) if i not in dropped2} == {r["id"] for r in kept}
    train_py = sorted(r["id"] for r, s in zip(recs, splits) if s == "train" and r["plang"] == "python")
    assert sorted(r["id"] for r in kept if r["plang"] == "python" and splits[recs.index(r)] == "train") == train_py[:3]


def test_seed_cells_are_the_papers_table():
    sizes = {c.name.split(" (")[0]: c.size for c in SEED_CELLS}
    assert sizes["code_summarization.en"] == sizes["code_summarization.zh"] == 10_000
    assert sum(c.size for c in SEED_CELLS) == 100_000


def test_en_only_cells_are_filled_with_en_records_and_zh_twins_are_outside_the_profile():
    """Issue 20: the paper's table gives code repair 5k EN, translation 5k EN, every code-to-code task
    EN only; a seed build counted EN and ZH twins together (2,500 + 2,500). EN cells take EN records
    only; ZH twins of them (kept by --zh-twins all) are dropped as outside the profile, and reported."""
    by_lang = {c.subtask: c.lang for c in SEED_CELLS if c.task == "code_search" and c.subtask != "query_to_code"}
    assert by_lang == dict.fromkeys(("clone_detection", "defect_detection", "cloze_test", "code_repair",
                                     "code_translation"), "en")
    cells = (Cell("repair.en", 4, "code_search", "code_repair", "en", ("codexglue_refinement",), ("java",)),)
    recs = [rec(n, "codexglue_refinement", "code_search", "code_repair", lang, "java")
            for n in range(6) for lang in ("en", "zh")]
    corpus = Corpus(recs, ["train"] * len(recs), [r["source"] for r in recs], threads=1)
    results, dropped = run_steps(corpus, [Profile(cfg=None, built={"codexglue_refinement": "built"}, cells=cells)])
    kept = [r for i, r in enumerate(recs) if i not in dropped]
    assert len(kept) == 4 and {r["lang"] for r in kept} == {"en"}
    (cell,) = results[0].stats["cells"]
    assert cell["delivered"] == 4 and cell["available"] == 6
    assert results[0].stats["zh_twins_outside"] == {"repair.en": 6}
    zh_reasons = {d.reason for i, d in dropped.items() if recs[i]["lang"] == "zh"}
    assert zh_reasons == {"profile seed: ZH twin of an EN-only cell (repair.en; the paper has no Chinese row for it)"}


def test_a_seed_build_reports_requested_vs_delivered_and_reconciles(tmp_path):
    from mulco.build import BuildConfig, build

    res = build(BuildConfig(out=tmp_path / "out", profile="seed", progress=False), log=None)
    report = json.loads((res.out / "build_report.json").read_text())
    cells = {c["cell"]: c for c in report["profile"]["cells"]}
    assert set(cells) == {c.name for c in SEED_CELLS}
    assert all(c["delivered"] <= c["requested"] and c.get("shortfall") for c in cells.values())  # a tiny sample
    clone = cells["code_search.clone_detection.en (BigCloneBench, Java)"]
    assert "bigclonebench" in clone["shortfall"] or clone["delivered"] > 0
    assert report["reconciles"] is True
    assert sum(res.leaves.values()) == sum(c["delivered"] for c in cells.values())
    assert "## Profile: seed" in (res.out / "build_report.md").read_text()
