"""Generations file in, results out: read and check ``generations.jsonl``, score it per cell
(task x lang x plang) with the registry's metrics, write ``results.json``/``results.md``, and
compare two result folders.

A generations line: ``id``, ``task``, ``subtask``, ``lang``, ``plang``, ``prompt``, ``prediction``,
``reference`` (required), plus optional ``target_plang`` (translation), ``sample`` (index when several
samples were drawn per record) and ``execution`` (tests for HumanEval/MBPP).
"""
from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Iterable

from . import registry
from .passk import KS, mean_pass_at_k

REQUIRED = ("id", "task", "subtask", "lang", "plang", "prompt", "prediction", "reference")
RESULTS_VERSION = 1
#: the plang of a task x lang row that pools every plang's records
ALL = "all"


class GenerationsError(ValueError):
    """A generations file that cannot be scored (the message names the file and line)."""


def generations_path(path: str | Path) -> Path:
    p = Path(path)
    if p.is_dir():
        p = p / "generations.jsonl"
    if not p.is_file():
        raise GenerationsError(f"{p}: no such generations file")
    return p


def check_row(row, where: str) -> dict:
    """Check one generations row (``where`` = "file:line" for the message)."""
    if not isinstance(row, dict):
        raise GenerationsError(f"{where}: a line must be a JSON object, got {type(row).__name__}")
    missing = [k for k in REQUIRED if k not in row]
    if missing:
        raise GenerationsError(f"{where}: missing field(s) {', '.join(missing)} (required: {', '.join(REQUIRED)})")
    for k in ("id", "task", "lang", "prediction", "reference"):
        if not isinstance(row[k], str):
            raise GenerationsError(f"{where}: field {k!r} must be a string, got {type(row[k]).__name__}")
    try:
        spec = registry.get(row["task"], row["subtask"])
    except registry.UnknownTaskError as e:
        raise GenerationsError(f"{where}: {e}") from None
    if spec.execution and not isinstance(row.get("execution"), dict):
        raise GenerationsError(f"{where}: {spec.name} needs the 'execution' field (the tests) to be scored")
    parse = registry.REFERENCE_PARSERS.get(row["subtask"] or "")
    if parse is not None and parse(row["reference"]) is None:
        raise GenerationsError(f"{where}: reference {row['reference'][:40]!r} is not a valid {spec.name} answer")
    return row


def read_generations(path: str | Path) -> list[dict]:
    p = generations_path(path)
    rows = []
    with open(p, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise GenerationsError(f"{p}:{i}: not valid JSON ({e.msg})") from None
            rows.append(check_row(row, f"{p}:{i}"))
    if not rows:
        raise GenerationsError(f"{p}: no generations in the file")
    return rows


def cell_key(row: dict) -> tuple[str, str, str]:
    task = registry.get(row["task"], row["subtask"]).name
    plang = row.get("plang") or "-"
    if row.get("target_plang"):
        plang = f"{plang}->{row['target_plang']}"
    return task, row["lang"], plang


def score(rows: Iterable[dict], *, allow_code_execution: bool = False, limits=None, ks=KS) -> dict:
    """Score generation rows; returns the results dict (also what ``results.json`` holds)."""
    cells: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        cells[cell_key(row)].append(row)
    out, notes = [], []
    no_codebleu: set[str] = set()
    pooled: dict[tuple[str, str], list[dict]] = defaultdict(list)
    exec_jobs: list[tuple[dict, dict[str, list[str]]]] = []
    for key in sorted(cells):
        group = cells[key]
        spec = registry.get(group[0]["task"], group[0]["subtask"])
        cell = {"task": key[0], "lang": key[1], "plang": key[2], "metrics": {}}
        if spec.execution:
            by_id: dict[str, list[str]] = defaultdict(list)
            for r in group:
                by_id[r["id"]].append(r)
            cell["n"] = len(by_id)
            cell["samples"] = min(len(v) for v in by_id.values())
            exec_jobs.append((cell, by_id))
        else:
            first = [r for r in group if int(r.get("sample") or 0) == 0]
            cell["n"] = len(first)
            code_plang = group[0].get("target_plang") or group[0].get("plang")
            cell["metrics"] = spec.score([r["prediction"] for r in first], [r["reference"] for r in first], key[1],
                                         code_plang)
            if "codebleu" in spec.metrics and "codebleu" not in cell["metrics"]:
                no_codebleu.add(code_plang or "no plang")
            pooled[(key[0], key[1])].extend(first)
        out.append(cell)
    # one more row per task and language over all its plangs (the records pooled, not the cells averaged)
    for (task, lang), group in pooled.items():
        if sum(1 for c in out if (c["task"], c["lang"]) == (task, lang)) < 2:
            continue
        spec = registry.get(group[0]["task"], group[0]["subtask"])
        metrics = spec.score([r["prediction"] for r in group], [r["reference"] for r in group], lang, None)
        last = max(i for i, c in enumerate(out) if (c["task"], c["lang"]) == (task, lang))
        out.insert(last + 1, {"task": task, "lang": lang, "plang": ALL, "metrics": metrics, "n": len(group)})
    if no_codebleu:
        from . import codebleu_score

        why = ("the codebleu package is not installed: " + codebleu_score.INSTALL) if not codebleu_score.available() \
            else "codebleu has no grammar for it"
        notes.append(f"CodeBLEU not computed for {', '.join(sorted(no_codebleu))} ({why})")
    if exec_jobs:
        if not allow_code_execution:
            notes.append("pass@k not computed: scoring HumanEval/MBPP runs the generated code; rerun with "
                         "`collama-eval score DIR --allow-code-execution`")
        else:
            _score_execution(exec_jobs, limits, ks, notes)
    return {"version": RESULTS_VERSION, "cells": out, "notes": notes}


def _score_execution(jobs, limits, ks, notes) -> None:
    from . import execution, sandbox

    limits = limits or sandbox.Limits()
    notes.append(sandbox.network_note(sandbox.check_platform(limits.memory_mb)))
    programs, owners = [], []
    for ci, (_cell, by_id) in enumerate(jobs):
        for tid, rows in by_id.items():
            for r in rows:
                programs.append(execution.program(r["task"], r["prediction"], r["execution"]))
                owners.append((ci, tid))
    outcomes = sandbox.run_many(programs, limits)
    passed: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    status: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (ci, tid), o in zip(owners, outcomes):
        passed[(ci, tid)][0] += 1
        passed[(ci, tid)][1] += o.passed
        status[ci][o.status] += 1
    for ci, (cell, by_id) in enumerate(jobs):
        counts = [tuple(passed[(ci, tid)]) for tid in by_id]
        cell["metrics"] = mean_pass_at_k(counts, ks)
        cell["outcomes"] = dict(sorted(status[ci].items()))


# ---------------------------------------------------------------- writing

def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.2f}"
    return str(v)


def metric_names(cells: list[dict]) -> list[str]:
    order = []
    for spec in registry._SPECS:  # registry order first, then anything else
        order.extend(m for m in spec.metrics if m not in order)
    present = {m for c in cells for m in c["metrics"]}
    return [m for m in order if m in present] + sorted(present - set(order))


def markdown(results: dict) -> str:
    """One table per task (its own metric columns): lang x plang rows with the record count."""
    cells = results["cells"]
    parts = []
    for task in dict.fromkeys(c["task"] for c in cells):
        group = [c for c in cells if c["task"] == task]
        metrics = metric_names(group)
        head = ["lang", "plang", "n", *metrics]
        lines = [f"### {task}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for c in group:
            vals = [c["lang"], c["plang"], str(c["n"]), *(_fmt(c["metrics"].get(m)) for m in metrics)]
            lines.append("| " + " | ".join(vals) + " |")
        parts.append("\n".join(lines) + "\n")
    text = "\n".join(parts)
    if results.get("notes"):
        text += "\n" + "\n".join(f"- {n}" for n in results["notes"]) + "\n"
    return text


def run_line(run: dict) -> str:
    """One line saying what was evaluated how (empty for re-scored files without that)."""
    parts = [f"{k} `{run[k]}`" for k in ("model", "data", "configs", "split", "template", "backend") if run.get(k)]
    if run.get("limit"):
        parts.append(f"limit `{run['limit']}` per {run.get('limit_per') or 'config'}")
    if run.get("rescored"):
        parts.append(f"re-scored from `{run.get('generations')}`")
    sp = run.get("speed") or {}
    if sp.get("generated_tokens"):
        parts.append(f"{sp['generated_tokens']} tokens generated in {sp['seconds']:.1f} s ({sp['tokens_per_second']} tokens/s)")
    return (" · ".join(parts) + "\n\n") if parts else ""


def write_results(results: dict, out: str | Path) -> tuple[Path, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rj, rm = out / "results.json", out / "results.md"
    rj.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    rm.write_text("# collama-eval results\n\n" + run_line(results.get("run") or {}) + markdown(results), encoding="utf-8")
    return rj, rm


def load_results(path: str | Path) -> dict:
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        cells = data["cells"]
        for c in cells:
            c["task"], c["lang"], c["plang"], c["metrics"]  # noqa: B018 - shape check
    except FileNotFoundError:
        raise GenerationsError(f"{p}: no results.json (run `collama-eval score` on the folder first)") from None
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise GenerationsError(f"{p}: not a collama-eval results file ({type(e).__name__}: {e})") from None
    return data


def rescored_run(generations: Path) -> dict:
    """The run metadata for re-scored generations: the evaluation's own (model, data, split, template,
    generation settings, limit), kept from the ``results.json`` beside the file when there is one,
    plus where the generations came from."""
    run: dict = {}
    beside = generations.parent / "results.json"
    if beside.is_file():
        try:
            run = dict(json.loads(beside.read_text(encoding="utf-8")).get("run") or {})
        except (json.JSONDecodeError, AttributeError, TypeError):
            run = {}
    run["generations"] = str(generations.resolve())
    run["rescored"] = True
    return run


def check_table_out(path: str | Path) -> None:
    """``compare --out``: a Markdown file to write; a folder or a missing parent is refused at once."""
    p = Path(path)
    if p.is_dir():
        raise GenerationsError(f"--out {p}: is a folder; give a file name, e.g. {p / 'compare.md'}")
    if not p.parent.is_dir():
        raise GenerationsError(f"--out {p}: folder {p.parent} does not exist; create it or pick another path")


def compare(a: dict, b: dict, name_a: str = "A", name_b: str = "B") -> str:
    """Per-cell, per-metric table: A, B and B - A (cells present in only one side show '–'). Rows whose
    record counts differ are marked (``n`` "4≠2", the difference starred and explained below);
    two results with no cell in common are refused."""
    ca = {(c["task"], c["lang"], c["plang"]): c for c in a["cells"]}
    cb = {(c["task"], c["lang"], c["plang"]): c for c in b["cells"]}
    if not set(ca) & set(cb):
        raise GenerationsError(f"{name_a} and {name_b} have no task x lang x plang in common "
                               f"({name_a}: {_tasks(ca)}; {name_b}: {_tasks(cb)}): nothing to compare")
    lines = [f"| task | lang | plang | metric | n | {name_a} | {name_b} | Δ |", "|---|---|---|---|---|---|---|---|"]
    uneven = 0
    for key in sorted(set(ca) | set(cb)):
        x, y = ca.get(key), cb.get(key)
        differ = bool(x and y and x["n"] != y["n"])
        uneven += differ
        n = f"{x['n']}≠{y['n']}" if differ else "/".join(str(c["n"]) if c else "–" for c in (x, y))
        for m in metric_names([c for c in (x, y) if c]):
            va = x["metrics"].get(m) if x else None
            vb = y["metrics"].get(m) if y else None
            delta = vb - va if isinstance(va, (int, float)) and isinstance(vb, (int, float)) else None
            d = "–" if delta is None else f"{delta:+.2f}" + (" *" if differ else "")
            lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {m} | {n} | {_fmt(va)} | {_fmt(vb)} | {d} |")
    text = "\n".join(lines) + "\n"
    if uneven:
        text += (f"\n* {uneven} cell(s) scored a different number of records in {name_a} and {name_b} "
                 "(another --limit or split?): their difference is not like for like.\n")
    return text


def _tasks(cells: dict) -> str:
    names = sorted({f"{k[0]}.{k[1]}" for k in cells})
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "") if names else "no cells"
