"""Scale benchmark: ``mulco build`` of a large replicated corpus (1M records by default), its wall
time and peak memory, then ``load_dataset`` of one config and a ``streaming=True`` pass over one.

The corpus is made by ``bench/make_corpus.py`` (the shared raw slices replicated with small
perturbations) unless ``--raw`` names one already made. Each of the three parts runs in its own
process (``mulco build`` through its command line), so each has its own peak:

* **peak RSS** is ``ru_maxrss`` of the process (``getrusage(RUSAGE_CHILDREN)``), the largest
  resident size any single process of the part reached (the build's forked parse-check worker
  included: a waited-for grandchild counts);
* **peak tree PSS** is sampled every 0.1 s from ``/proc/<pid>/smaps_rollup`` over the process
  and its children: the memory the part really used together, pages shared after a fork counted
  once.

    python bench/bench_scale.py --records 1000000 [--raw /tmp/raw1m] [--out /tmp/mulco1m] [--config NAME]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from make_corpus import (  # (the corpus bench/make_corpus.py writes)
    DEFAULT_RAW,
    make_corpus,
)


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out += [int(c) for c in fh.read().split()]
    except OSError:
        pass
    return out


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree_bytes(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for f in files:
            try:
                total += os.stat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


class TreeSampler(threading.Thread):
    """Largest sum of PSS over a process and its descendants, sampled; with ``staging`` (the output
    folder of a build) also the largest size on disk of its staging folders (``.NAME.tmp-*``, where
    the build keeps its records and spill files)."""

    def __init__(self, pid: int, every: float = 0.1, staging: Path | None = None):
        super().__init__(daemon=True)
        self.pid, self.every, self.peak_kib = pid, every, 0
        self.staging, self.peak_disk, self._n = staging, 0, 0
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            self._n += 1
            if self.staging is not None and self._n % 10 == 0:
                size = sum(_tree_bytes(d) for d in self.staging.parent.glob(f".{self.staging.name}.tmp-*"))
                self.peak_disk = max(self.peak_disk, size)
            pids, todo = [], [self.pid]
            while todo:
                p = todo.pop()
                pids.append(p)
                todo += _children(p)
            self.peak_kib = max(self.peak_kib, sum(_pss_kib(p) for p in pids))
            self._halt.wait(self.every)

    def stop(self):
        self._halt.set()
        self.join()


def run_measured(cmd: list[str], env: dict | None = None, staging: Path | None = None) -> dict:
    """Run ``cmd``; wall seconds, its peak RSS (MiB, ``os.wait4``: the process and the children it
    waited for), the peak PSS of its process tree (MiB, sampled) and, with ``staging``, the peak
    size of the build's staging folder (MiB)."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        sampler = TreeSampler(proc.pid, staging=staging)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop()
        log.seek(0)
        out = log.read()
    if proc.returncode:
        sys.stderr.write(out)
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed with exit status {proc.returncode}")
    return {"seconds": wall, "peak_rss_mib": usage.ru_maxrss / 1024, "peak_pss_mib": sampler.peak_kib / 1024,
            "peak_staging_mib": sampler.peak_disk / 2**20, "stdout": out}


_LOAD = r"""
import json, sys, time
import datasets
datasets.disable_progress_bars()
out, name, mode = sys.argv[1:4]
t0 = time.perf_counter()
if mode == "load":
    ds = datasets.load_dataset(out, name)
    rows = {s: d.num_rows for s, d in ds.items()}
    n = sum(rows.values())
    # touch every row once, as a user would
    chars = sum(len(r["output"]) for d in ds.values() for r in d.select_columns(["output"]))
else:
    ds = datasets.load_dataset(out, name, split="train", streaming=True)
    n = chars = 0
    for r in ds:
        n += 1
        chars += len(r["output"])
    rows = {"train": n}
print(json.dumps({"rows": rows, "records": n, "chars": chars, "inner_seconds": time.perf_counter() - t0}))
"""


def pick_config(out: Path) -> str:
    """The one-task, one-language config with the most train records (e.g. ``code_completion.en``)."""
    report = json.loads((out / "build_report.json").read_text(encoding="utf-8"))
    sizes: dict[str, int] = {}
    for leaf in report["leaves"]:
        name = f"{leaf['task']}.{leaf['lang']}"
        sizes[name] = sizes.get(name, 0) + (leaf["records"] if leaf["split"] == "train" else 0)
    return max(sorted(sizes), key=lambda k: sizes[k])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, default=1_000_000, help="Records of the corpus to make (without --raw).")
    p.add_argument("--raw", type=Path, default=None, help="A corpus already made by bench/make_corpus.py.")
    p.add_argument("--slices", type=Path, default=DEFAULT_RAW, help="The raw slices to replicate.")
    p.add_argument("--out", type=Path, default=None, help="Build output folder (default: a temporary one, removed).")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--config", default=None, help="Config to load and stream (default: the largest task.lang config).")
    p.add_argument("--json", type=Path, default=None, help="Also write the numbers here.")
    args = p.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="mulco-scale-"))
    try:
        raw = args.raw
        if raw is None:
            raw = tmp / "raw"
            make_corpus(args.slices, raw, args.records, args.workers)
        out = args.out or tmp / "out"
        mulco = [sys.executable, "-m", "mulco.cli"]
        print(f"mulco build --raw-dir {raw} --out {out} --workers {args.workers} --threads {args.threads} ...", flush=True)
        b = run_measured(mulco + ["build", "--raw-dir", str(raw), "--out", str(out), "--workers", str(args.workers),
                                  "--threads", str(args.threads), "--no-progress"], staging=Path(out))
        report = json.loads((out / "build_report.json").read_text(encoding="utf-8"))
        totals = report["totals"]
        records_in = sum(s["records_in"] for s in report["steps"][:1]) if report.get("steps") else totals["records_made"]
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
        name = args.config or pick_config(out)
        env = dict(os.environ, HF_HOME=str(tmp / "hf"), HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1",
                   HF_HUB_DISABLE_TELEMETRY="1")
        res = {}
        for mode in ("load", "stream"):
            r = run_measured([sys.executable, "-c", _LOAD, str(out), name, mode], env=env)
            r.update(json.loads(r.pop("stdout").strip().splitlines()[-1]))
            res[mode] = r
        numbers = {
            "raw_dir": str(raw), "raw_mib": sum(f.stat().st_size for f in raw.rglob("*") if f.is_file()) / 2**20,
            "records_made": totals["records_made"], "records_in": records_in, "records_kept": totals["records_kept"],
            "build_seconds": b["seconds"], "build_peak_rss_mib": b["peak_rss_mib"], "build_peak_pss_mib": b["peak_pss_mib"],
            "build_peak_staging_mib": b["peak_staging_mib"],
            "output_mib": size / 2**20, "config": name,
            "load_dataset": {k: v for k, v in res["load"].items()},
            "streaming": {k: v for k, v in res["stream"].items()},
            "cpus": os.cpu_count(), "workers": args.workers, "threads": args.threads,
        }
        print(f"\n{records_in:,} records into the quality steps ({totals['records_made']:,} made), "
              f"{totals['records_kept']:,} kept; raw {numbers['raw_mib']:,.0f} MiB, output {numbers['output_mib']:,.0f} MiB, "
              f"staging folder at most {numbers['build_peak_staging_mib']:,.0f} MiB; "
              f"{os.cpu_count()} CPUs\n")
        rows = [("mulco build", b["seconds"], b["peak_rss_mib"], b["peak_pss_mib"], records_in),
                (f"load_dataset({name!r})", res["load"]["seconds"], res["load"]["peak_rss_mib"], res["load"]["peak_pss_mib"],
                 res["load"]["records"]),
                (f"streaming {name!r} train", res["stream"]["seconds"], res["stream"]["peak_rss_mib"],
                 res["stream"]["peak_pss_mib"], res["stream"]["records"])]
        print(f"{'':40s} {'seconds':>8s} {'peak RSS MiB':>13s} {'tree PSS MiB':>13s} {'records':>10s} {'records/s':>10s}")
        for label, s, rss, pss, n in rows:
            print(f"{label:40s} {s:8.1f} {rss:13,.0f} {pss:13,.0f} {n:10,} {n / s:10,.0f}")
        if args.json:
            args.json.write_text(json.dumps(numbers, indent=2) + "\n", encoding="utf-8")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
