"""Make a large raw folder for benchmarks: the shared raw slices replicated with small perturbations.

Every copied row has one word renamed (``perturb``), the same rename on both files of an aligned
pair (``.buggy``/``.fixed``, ``.java``/``.cs``), so a copy is a near duplicate of its row and not
an exact one. HumanEval, MBPP, Markdown files and Devign are copied unchanged. A row gets
``int(factor)`` copies, plus one with probability ``factor - int(factor)`` (seeded, so the same
arguments write the same files).

``--records N`` picks the factor so that a build of the folder sends about N records into the
quality steps: the records of the slices are counted by converting them (no quality steps) once
as they are (n0) and once with one copy per row (n1); then ``factor = (N - n0) / (n1 - n0)``.

    python bench/make_corpus.py --records 1000000 --out /tmp/raw1m [--raw ../shared/data/raw]

Used by ``bench/bench_build.py`` (the 100k bench) and ``bench/bench_scale.py`` (the 1M build).
"""
from __future__ import annotations

import argparse
import ast
import json
import random
import re
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
DEFAULT_RAW = REPO.parent / "shared" / "data" / "raw"

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")


def perturb(text: str, rnd: random.Random, rename: dict | None = None) -> str:
    """Rename one word (the same mapping for every text given the same ``rename``)."""
    if rename is None:
        words = WORD.findall(text)
        if not words:
            return text + " "
        w = rnd.choice(words)
        rename = {w: f"{w}{rnd.randrange(10, 99)}"}
    for a, b in rename.items():
        text = re.sub(rf"\b{re.escape(a)}\b", b, text)
    return text


def _perturb_obj(obj, rnd):
    if isinstance(obj, str):
        return perturb(obj, rnd)
    if isinstance(obj, dict):
        keys = [k for k, v in obj.items() if isinstance(v, str) and len(v) > 20]
        if keys:
            k = rnd.choice(keys)
            obj = dict(obj, **{k: perturb(obj[k], rnd)})
        return obj
    return obj


def replicate(src: Path, dst: Path, factor: float, seed: int = 0) -> None:
    """Copy the raw folder ``src`` to ``dst``, adding perturbed copies of about ``factor`` of the rows."""
    rnd = random.Random(seed)
    copies = lambda: int(factor) + (1 if rnd.random() < factor - int(factor) else 0)
    for path in sorted(src.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(src)
        out = dst / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        name = path.name
        if rel.parts[0] in ("humaneval", "mbpp") or name.endswith(".md") or "Defect-detection" in rel.parts:
            shutil.copyfile(path, out)
        elif re.search(r"\.(buggy|fixed|java|cs)$", name):
            continue  # aligned pairs are written together below
        elif name.endswith((".jsonl", ".json")) and path.read_bytes().lstrip()[:1] != b"[":
            lines = path.read_text(encoding="utf-8").splitlines()
            with open(out, "w", encoding="utf-8") as fh:  # streamed: a large factor makes big files
                fh.write("".join(l + "\n" for l in lines) if lines else "\n")
                for l in lines:
                    fh.writelines(json.dumps(_perturb_obj(json.loads(l), rnd), ensure_ascii=False) + "\n"
                                  for _ in range(copies()))
        elif name.endswith(".json"):
            items = json.loads(path.read_text(encoding="utf-8-sig"))
            items += [_perturb_obj(it, rnd) for it in list(items) for _ in range(copies())]
            out.write_text(json.dumps(items, ensure_ascii=False, indent=2), encoding="utf-8")
        elif name.endswith(".txt") and path.read_text(encoding="utf-8", errors="replace").startswith("["):
            items = ast.literal_eval(path.read_text(encoding="utf-8"))
            extra = []
            for it in items:
                for c in range(copies()):
                    it2 = list(it)
                    it2[0] = (it[0][0] + 10_000_000 * (c + 1), it[0][1])  # a new question id
                    it2[2] = [[perturb(it[2][0][0], rnd)]]
                    extra.append(it2)
            out.write_text(repr(items + extra), encoding="utf-8")
        elif name.endswith(".zip"):
            with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
                for info in zin.infolist():
                    data = zin.read(info)
                    try:
                        items = json.loads(data.decode("utf-8-sig"))
                        items += [_perturb_obj(it, rnd) for it in list(items) for _ in range(copies())]
                        data = json.dumps(items, ensure_ascii=False).encode("utf-8")
                    except (ValueError, UnicodeDecodeError):
                        pass
                    zout.writestr(info, data)
        else:
            shutil.copyfile(path, out)
    # aligned line pairs: the same rename on both sides of a row
    for a_suf, b_suf in ((".buggy", ".fixed"), (".java", ".cs")):
        for a in sorted(src.rglob(f"*{a_suf}")):
            b = a.with_name(a.name[: -len(a_suf)] + b_suf)
            if not b.exists():
                continue
            la = a.read_text(encoding="utf-8").splitlines()
            lb = b.read_text(encoding="utf-8").splitlines()
            ea, eb = [], []
            for x, y in zip(la, lb):
                for _ in range(copies()):
                    words = WORD.findall(x)
                    if not words:
                        continue
                    w = rnd.choice(words)
                    ren = {w: f"{w}{rnd.randrange(10, 99)}"}
                    ea.append(perturb(x, rnd, ren))
                    eb.append(perturb(y, rnd, ren))
            for p, lines, extra in ((a, la, ea), (b, lb, eb)):
                o = dst / p.relative_to(src)
                o.parent.mkdir(parents=True, exist_ok=True)
                o.write_text("\n".join(lines + extra) + "\n", encoding="utf-8")


def count_records(raw: Path, workers: int = 2) -> int:
    """Records a build of ``raw`` sends into the quality steps (converted, not checked; records
    that need a translator are not counted, as the build skips them without one)."""
    from mulco import sources as registry

    jobs = [(n, raw, False, False, False) for n in registry.names()]
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as pool:
            return sum(pool.map(_count_job, jobs))
    return sum(_count_job(j) for j in jobs)


def _count_job(job) -> int:
    from mulco.build import convert_source

    return len(convert_source(*job).records)


def factor_for(src: Path, records: int, workers: int = 2, log=print) -> float:
    """The replication factor for about ``records`` records (see the module docstring)."""
    n0 = count_records(src, workers)
    tmp = Path(tempfile.mkdtemp(prefix="mulco-corpus-"))
    try:
        replicate(src, tmp / "raw", 1.0)
        n1 = count_records(tmp / "raw", workers)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if log:
        log(f"the slices make {n0:,} records; {n1 - n0:,} more per copy of every row")
    return max(0.0, (records - n0) / max(1, n1 - n0))


def make_corpus(src: Path, dst: Path, records: int, workers: int = 2, seed: int = 0, log=print) -> float:
    """Write to ``dst`` a raw folder that builds into about ``records`` records; return the factor."""
    factor = factor_for(src, records, workers, log)
    if dst.exists():
        shutil.rmtree(dst)
    t0 = time.perf_counter()
    replicate(src, dst, factor, seed)
    if log:
        size = sum(p.stat().st_size for p in dst.rglob("*") if p.is_file())
        log(f"wrote {dst} (+{factor:.3f} perturbed copies per row, {size / 2**20:,.0f} MiB) in {time.perf_counter() - t0:.1f} s")
    return factor


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--raw", type=Path, default=DEFAULT_RAW, help="The raw slices to replicate.")
    p.add_argument("--out", type=Path, required=True, help="The raw folder to write (replaced).")
    p.add_argument("--records", type=int, default=1_000_000, help="About this many records entering the quality steps.")
    p.add_argument("--factor", type=float, default=None, help="Use this replication factor instead of --records.")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--verify", action="store_true", help="Count the records of the written folder.")
    args = p.parse_args(argv)
    if not args.raw.is_dir():
        print(f"no raw folder at {args.raw}", file=sys.stderr)
        return 2
    if args.factor is not None:
        if args.out.exists():
            shutil.rmtree(args.out)
        replicate(args.raw, args.out, args.factor, args.seed)
    else:
        make_corpus(args.raw, args.out, args.records, args.workers, args.seed)
    if args.verify:
        print(f"{count_records(args.out, args.workers):,} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
