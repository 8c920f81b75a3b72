"""Benchmark: the full `mulco build` on >= 100k records, step by step, next to a straightforward
baseline run in the same process on the same records.

The corpus is the shared raw slices (../shared/data/raw, or --raw) replicated with small
perturbations (a renamed word per copied row, the same in both files of an aligned pair) into a
temporary raw folder until the build makes at least --records records. The baseline is what one
would write first: a ``jsonschema`` Draft202012Validator built once, and ``datasketch`` MinHash
(``update_batch``) + MinHashLSH with the same num_perm, threshold and shingle size over the same
content text, tokenised with a regex. Prints records/s per step and in total, and the speedups.

    python bench/bench_build.py [--records 100000] [--no-baseline] [--candidates]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from make_corpus import (
    replicate,  # (the corpus is made as bench/make_corpus.py makes it)
)

# --------------------------------------------------------------------------------------------
# Baseline


_TOKEN = re.compile(r"[A-Za-z0-9_]+|[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff]|\w+|[^\s\w]")


def baseline(records: list[dict], contents: list[str], cfg) -> dict:
    import jsonschema
    from datasketch import MinHash, MinHashLSH

    from mulco.record import schema

    out = {}
    t0 = time.perf_counter()
    v = jsonschema.Draft202012Validator(schema())
    bad = sum(1 for r in records if not v.is_valid(r))
    out["schema"] = time.perf_counter() - t0
    assert bad == 0
    n = cfg.dedup_ngram
    t0 = time.perf_counter()
    sigs = []
    for text in contents:
        toks = _TOKEN.findall(text.lower())
        sh = {" ".join(toks[i:i + n]).encode("utf-8") for i in range(max(1, len(toks) - n + 1))}
        m = MinHash(num_perm=cfg.dedup_num_perm, seed=cfg.dedup_seed)
        m.update_batch(list(sh))
        sigs.append(m)
    out["minhash"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    lsh = MinHashLSH(threshold=cfg.dedup_threshold, num_perm=cfg.dedup_num_perm)
    dups = 0
    for i, m in enumerate(sigs):
        if lsh.query(m):
            dups += 1
        lsh.insert(str(i), m)
    out["lsh"] = time.perf_counter() - t0
    out["near_duplicates"] = dups
    return out


def candidates(records: list[dict], contents: list[str], cfg) -> dict:
    """Other ways to compute the signatures, on the same shingles (seconds)."""
    import numpy as np

    from mulco.steps import minhash, text

    feats = text.features(contents, num_perm=0, threads=2, keep=True,
                           fields=[text.code_fields(r) for r in records])
    h, t = feats.shingles
    n = len(contents)
    out = {}
    t0 = time.perf_counter()
    minhash.signatures(h, t, n, num_perm=cfg.dedup_num_perm)
    out["numpy one-permutation (ours, 1 thread)"] = time.perf_counter() - t0
    try:
        import rensa

        order = np.argsort(t, kind="stable")
        hs, ts = h[order], t[order]
        offsets = np.concatenate(([0], np.cumsum(np.bincount(ts, minlength=n)))).astype(np.uint64)
        t0 = time.perf_counter()
        mat = rensa.RMinHash.digest_matrix_from_flat_token_hashes(hs, offsets, cfg.dedup_num_perm, cfg.dedup_seed)
        out["rensa R-MinHash digest matrix (Rust, rayon)"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        np.array(mat.to_rows(), dtype=np.uint32)
        out["rensa: export of the matrix to numpy (to_rows)"] = time.perf_counter() - t0
    except ImportError:
        out["rensa"] = float("nan")
    # classic k independent permutations (a*x+b), numpy, on a 10% sample, scaled
    sample = t < n // 10
    hh, tt = h[sample], t[sample]
    t0 = time.perf_counter()
    rng = np.random.default_rng(1)
    a = rng.integers(1, 2**61, cfg.dedup_num_perm, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**61, cfg.dedup_num_perm, dtype=np.uint64)
    starts = np.flatnonzero(np.concatenate(([True], tt[1:] != tt[:-1])))
    for k in range(cfg.dedup_num_perm):
        np.minimum.reduceat((hh * a[k] + b[k]) >> np.uint64(32), starts)
    out["numpy k permutations (estimated from a 10% sample)"] = (time.perf_counter() - t0) * 10
    return out


# --------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--raw", type=Path, default=REPO.parent / "shared" / "data" / "raw")
    p.add_argument("--records", type=int, default=100_000, help="Minimum records entering the quality steps.")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--candidates", action="store_true", help="Also time other MinHash implementations.")
    p.add_argument("--keep", type=Path, default=None, help="Keep the replicated raw folder here.")
    args = p.parse_args(argv)
    if not args.raw.is_dir():
        print(f"no raw folder at {args.raw}", file=sys.stderr)
        return 2

    from mulco.build import BuildConfig, build

    tmp = Path(tempfile.mkdtemp(prefix="mulco-bench-"))
    try:
        raw = args.keep or tmp / "raw"
        factor = 0.25
        while True:
            if raw.exists():
                shutil.rmtree(raw)
            t0 = time.perf_counter()
            replicate(args.raw, raw, factor)
            print(f"replicated raw slices (+{factor:.0%} perturbed copies) in {time.perf_counter() - t0:.1f} s")
            cfg = BuildConfig(raw_dir=raw, out=tmp / "out", progress=False, workers=args.workers, threads=args.threads)
            captured = {}

            import mulco.build as B

            orig = B.apply_quality

            def spy(results, cfg_, raw_dir, log=None, **kw):
                from mulco.store import RecordStore

                # the records as the steps see them: on disk, in the store files of each source
                parts = [p for res in results for p in res.parts]
                captured["records"] = list(RecordStore([p for p, _ in parts], [ls for _, ls in parts]))
                return orig(results, cfg_, raw_dir, log, **kw)

            B.apply_quality = spy
            try:
                result = build(cfg, log=None)
            finally:
                B.apply_quality = orig
            n = result.records_in
            if n >= args.records:
                break
            factor = (factor + 1) * args.records / max(1, n) * 1.02 - 1
            print(f"only {n:,} records; again with more copies")
        kept = sum(result.leaves.values())
        print(f"\n{n:,} records entered the quality steps, {kept:,} kept "
              f"(workers={args.workers}, threads={args.threads}, {os.cpu_count()} CPUs)\n")
        rows = []
        steps_total = 0.0
        for k, v in result.timings.items():
            if k.startswith("step:"):
                steps_total += v
        for k, v in result.timings.items():
            rows.append((k, v))
        print(f"{'phase / step':32s} {'seconds':>8s} {'records/s':>12s}")
        for k, v in rows:
            print(f"{k:32s} {v:8.2f} {n / v if v else float('inf'):12,.0f}")
        print(f"{'quality steps, total':32s} {steps_total:8.2f} {n / steps_total:12,.0f}")
        print(f"{'whole build':32s} {result.seconds:8.2f} {n / result.seconds:12,.0f}")
        if not args.no_baseline:
            from mulco.steps.text import content

            records = captured["records"]
            contents = [content(r) for r in records]
            print("\nbaseline (same process, same records): jsonschema + datasketch ...", flush=True)
            base = baseline(records, contents, cfg)
            ours_schema = result.timings.get("step:schema", 0)
            ours_dedup = result.timings.get("step:exact_dedup", 0) + result.timings.get("step:near_dedup", 0)
            print(f"{'':32s} {'ours s':>8s} {'baseline s':>11s} {'speedup':>8s}")
            print(f"{'schema validation':32s} {ours_schema:8.2f} {base['schema']:11.2f} {base['schema'] / ours_schema:7.1f}x")
            b_mh = base["minhash"] + base["lsh"]
            print(f"{'MinHash + LSH (dedup steps)':32s} {ours_dedup:8.2f} {b_mh:11.2f} {b_mh / ours_dedup:7.1f}x")
            b_tot = base["schema"] + b_mh
            print(f"{'baseline total vs our steps':32s} {steps_total:8.2f} {b_tot:11.2f} {b_tot / steps_total:7.1f}x")
            print(f"{'baseline total vs whole build':32s} {result.seconds:8.2f} {b_tot:11.2f} {b_tot / result.seconds:7.1f}x")
            print(f"(baseline: minhash {base['minhash']:.1f} s, lsh {base['lsh']:.1f} s, "
                  f"{base['near_duplicates']:,} records with an LSH candidate)")
        if args.candidates:
            from mulco.steps.text import content

            contents = [content(r) for r in captured["records"]]
            print("\nMinHash candidates on the same shingles:")
            for k, v in candidates(captured["records"], contents, cfg).items():
                print(f"  {k:60s} {v:7.2f} s  {n / v:12,.0f} records/s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
