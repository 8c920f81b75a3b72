"""Which model families keep packed records apart? (issue 17.6; the table in docs/training.md)

For each model type, a tiny random model of its default config (``collama_train.data.guard.tiny_config``)
runs two records packed in one row (restarting position ids, no attention mask, no cache) and each
record alone; the largest logit difference is printed for sdpa and eager, with the time the probe
took (what ``check_packing`` spends at start-up on a family that is on neither list). CPU only.

    python bench/bench_packing_families.py [--types llama,opt,...]
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TYPES = ("llama,mistral,mixtral,qwen2,qwen2_moe,qwen3,qwen3_moe,gemma,gemma2,gemma3_text,phi,phi3,starcoder2,gpt2,"
         "gpt_bigcode,gpt_neox,falcon,codegen,gptj,cohere,olmo,olmo2,stablelm,granite,opt,bloom,mpt")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--types", default=TYPES)
    a = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    from transformers import AutoConfig
    from transformers.utils import logging

    from collama_train.data.guard import PACKING_EXACT, PACKING_LEAKS, TOLERANCE, packing_leak

    logging.set_verbosity_error()
    print(f"{'model type':<14} {'sdpa':>9} {'eager':>9} {'probe s':>8}  verdict (listed as)")
    bad = 0
    for kind in a.types.split(","):
        cfg = AutoConfig.for_model(kind)
        row, t0 = [], time.perf_counter()
        for attn in ("sdpa", "eager"):
            try:
                row.append(f"{packing_leak(cfg, attn):9.1e}")
            except Exception as e:  # noqa: BLE001 - a family without this kernel
                row.append(f"{type(e).__name__[:9]:>9}")
        secs = (time.perf_counter() - t0) / 2
        leaks = [float(x) for x in row if x.strip()[0].isdigit()]
        verdict = "exact" if leaks and max(leaks) <= TOLERANCE else "LEAKS" if leaks else "?"
        listed = "exact" if kind in PACKING_EXACT else "leaks" if kind in PACKING_LEAKS else "-"
        bad += (verdict == "exact") != (listed == "exact")
        print(f"{kind:<14} {row[0]} {row[1]} {secs:8.2f}  {verdict} ({listed})")
    print("lists agree with the measurement" if not bad else f"{bad} families listed against the measurement")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
