"""Benchmark: scoring N predictions (default 10,000) with each collama-eval metric, and the whole
`collama-eval score` path (read generations.jsonl -> score every cell -> write results), plus the
sandbox's throughput (programs/s) and the pass@k estimator.

References are MulCo records of each (task, subtask) — from --data (a `mulco build` folder), else
the bundled sample built into a temporary folder — cycled to N; predictions are the references
perturbed deterministically (every third kept, dropped or replaced token, every fourth yes/no
flipped, ...), so every metric sees a realistic mix of right and wrong answers.

    python bench/bench_eval.py [--n 10000] [--data OUT] [--programs 32]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def perturb(ref: str, i: int, subtask: str | None) -> str:
    if subtask in ("clone_detection", "defect_detection"):
        flip = {"Yes": "No", "No": "Yes", "是": "否", "否": "是"}
        return flip.get(ref, ref) if i % 4 == 0 else ref
    if subtask == "query_to_code":
        return ref if i % 3 else "1"
    toks = ref.split(" ")
    k = i % 3
    if k == 0:
        return ref
    if len(toks) < 2:
        return ref if k == 1 else "x"
    j = i % len(toks)
    if k == 1:
        return " ".join(toks[:j] + toks[j + 1:])
    return " ".join(toks[:j] + ["x"] + toks[j + 1:])


def load_rows(data: Path) -> dict[tuple, list[dict]]:
    import pyarrow.parquet as pq

    groups: dict[tuple, list[dict]] = defaultdict(list)
    for f in sorted((data / "data").rglob("*.parquet")):
        for r in pq.read_table(f).to_pylist():
            groups[(r["task"], r["subtask"])].append(r)
    return groups


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--data", type=Path, help="a `mulco build` folder (default: the bundled sample, built now)")
    p.add_argument("--programs", type=int, default=32, help="sandboxed programs to time")
    a = p.parse_args(argv)

    from collama_train.evaluate import execution, passk, registry, report, sandbox

    tmp = Path(tempfile.mkdtemp(prefix="bench-eval-"))
    data = a.data
    if data is None:
        from mulco.build import BuildConfig, build

        data = tmp / "sample"
        build(BuildConfig(out=data, progress=False))
    groups = load_rows(data)

    print(f"scoring {a.n:,} predictions per metric family (references from {data})")
    print(f"{'task':32} {'lang':4} {'code':6} {'metrics':44} {'seconds':>8} {'preds/s':>10}")
    all_rows = []
    for (task, sub), recs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        spec = registry.get(task, sub)
        for lang in ("en", "zh"):
            pool = [r for r in recs if r["lang"] == lang] or recs  # (the sample has no ZH summaries: EN text)
            code = Counter(r.get("target_plang") or r["plang"] for r in pool).most_common(1)[0][0]
            if "codebleu" in spec.metrics:  # CodeBLEU is per programming language: one language
                pool = [r for r in pool if (r.get("target_plang") or r["plang"]) == code]
            refs = [pool[i % len(pool)]["output"] for i in range(a.n)]
            preds = [perturb(ref, i, sub) for i, ref in enumerate(refs)]
            t = time.perf_counter()
            m = spec.score(preds, refs, lang, code)
            dt = time.perf_counter() - t
            shown = ", ".join(f"{k.replace('exact_match', 'em')} {v:.1f}" for k, v in m.items() if k != "unparsed")[:44]
            print(f"{spec.name:32} {lang:4} {code or '-':6} {shown:44} {dt:8.2f} {a.n / dt:10,.0f}")
            for i, (ref, pred) in enumerate(zip(refs, preds)):
                r = pool[i % len(pool)]
                all_rows.append({"id": f"{r['id']}-{i}", "task": task, "subtask": sub, "lang": lang, "plang": r["plang"],
                                 "target_plang": r.get("target_plang"), "prompt": "", "prediction": pred, "reference": ref})

    gen = tmp / "generations.jsonl"
    gen.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in all_rows), encoding="utf-8")
    t = time.perf_counter()
    rows = report.read_generations(gen)
    t_read = time.perf_counter() - t
    res = report.score(rows)
    t_score = time.perf_counter() - t - t_read
    report.write_results(res, tmp / "out")
    t_all = time.perf_counter() - t
    print(f"\n`collama-eval score` path on {len(rows):,} generations ({len(res['cells'])} cells): "
          f"read+check {t_read:.2f} s, score {t_score:.2f} s, total {t_all:.2f} s")

    t = time.perf_counter()
    counts = [(200, i % 201) for i in range(a.n)]
    passk.mean_pass_at_k(counts)
    print(f"pass@1/10/100 estimator, {a.n:,} problems x n=200: {time.perf_counter() - t:.2f} s")

    mbpp = REPO / "tests" / "fixtures" / "eval" / "mbpp"
    recs = execution.mbpp_records(mbpp, "test")
    progs = [execution.program("mbpp", recs[i % len(recs)]["output"], recs[i % len(recs)]["execution"])
             for i in range(a.programs)]
    net = sandbox.check_platform()
    t = time.perf_counter()
    outs = sandbox.run_many(progs, sandbox.Limits(timeout=10))
    dt = time.perf_counter() - t
    print(f"sandbox ({net}): {a.programs} MBPP programs in {dt:.2f} s = {a.programs / dt:.1f} programs/s "
          f"({sum(o.passed for o in outs)} passed)")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
