"""The run report: ``RUN/collama_run.json`` and the short table printed at the end of a run.

The data part is ``Prepared.report`` from ``collama_train.data`` as it is (source and revision,
configs and weights, records and tokens per config, drops, packing efficiency, cache key and hit);
this module adds the model, the training settings and what the run measured (wall time, real
tokens per second, loss history, final loss).
"""
from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

REPORT_NAME = "collama_run.json"


def loss_history(log_history: list[dict]) -> list[dict]:
    """``[{"step", "loss", "learning_rate", "tokens_per_s"}]`` from ``TrainerState.log_history``."""
    out = []
    for entry in log_history:
        if "loss" in entry:
            out.append({k: entry[k] for k in ("step", "loss", "learning_rate", "grad_norm", "tokens_per_s") if k in entry})
    return out


def build_report(*, argv, model_args, data_args, run_args, training_args, data_report: dict, state, train_metrics: dict,
                 wall_time_s: float, world_size: int, deepspeed, eval_results: dict | None = None) -> dict:
    import dataclasses

    import torch
    import transformers

    from . import __version__

    history = loss_history(state.log_history)
    tokens = int(state.num_input_tokens_seen or 0)
    train_runtime = train_metrics.get("train_runtime") or wall_time_s
    return {
        "collama_train": __version__,
        "command": ["collama-train", *argv],
        "model": {k: v for k, v in dataclasses.asdict(model_args).items()},
        "data": data_report,
        "data_args": dataclasses.asdict(data_args),
        "training": {
            "output_dir": str(training_args.output_dir),
            "world_size": world_size,
            "deepspeed": deepspeed if isinstance(deepspeed, (str, type(None))) else "dict",
            "seed": training_args.seed,
            "per_device_train_batch_size": training_args.per_device_train_batch_size,
            "gradient_accumulation_steps": training_args.gradient_accumulation_steps,
            "learning_rate": training_args.learning_rate,
            "lr_scheduler_type": str(getattr(training_args.lr_scheduler_type, "value", training_args.lr_scheduler_type)),
            "num_train_epochs": training_args.num_train_epochs,
            "max_steps": training_args.max_steps,
            "fp16": training_args.fp16,
            "bf16": training_args.bf16,
            "resumed_from": run_args_resumed(run_args, training_args),
        },
        "results": {
            "steps": state.global_step,
            "epochs": state.epoch,
            "final_loss": history[-1]["loss"] if history else None,
            "train_loss": train_metrics.get("train_loss"),
            "tokens": tokens,
            "tokens_per_s": round(tokens / train_runtime, 1) if tokens and train_runtime else None,
            "train_runtime_s": train_runtime,
            "wall_time_s": round(wall_time_s, 2),
            "loss_history": history,
        },
        "eval": eval_results,
        "environment": {"python": platform.python_version(), "torch": torch.__version__,
                        "transformers": transformers.__version__, "platform": sys.platform,
                        "cuda": torch.cuda.is_available()},
    }


def run_args_resumed(run_args, training_args):
    return getattr(training_args, "resume_from_checkpoint", None)


def write_report(report: dict, output_dir: str | os.PathLike) -> Path:
    path = Path(output_dir) / REPORT_NAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def _fmt(v, nd=4):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}g}"
    return str(v)


def summary(report: dict) -> str:
    """A short plain-text table: per config records/tokens, then the run's figures."""
    lines = []
    data = report.get("data") or {}
    configs = data.get("configs") or data.get("per_config") or {}
    rows = []
    if isinstance(configs, dict):
        items = configs.items()
    elif isinstance(configs, list):
        items = [(c.get("name", "?"), c) for c in configs if isinstance(c, dict)]
    else:
        items = []
    for name, c in items:
        if isinstance(c, dict):
            rows.append((str(name), _fmt(c.get("weight")), _fmt(c.get("records_before", c.get("records"))),
                         _fmt(c.get("records_after", c.get("records_used"))), _fmt(c.get("tokens"))))
    if rows:
        header = ("config", "weight", "records", "used", "tokens")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)))
        for r in rows:
            lines.append("  ".join(v.ljust(w) for v, w in zip(r, widths)))
        lines.append("")
    res = report.get("results", {})
    hist = res.get("loss_history") or []
    first = hist[0]["loss"] if hist else None
    pairs = [
        ("data", data.get("source") or data.get("data") or report.get("data_args", {}).get("data")
         or report.get("data_args", {}).get("data_path")),
        ("revision", data.get("revision") or data.get("fingerprint")),
        ("records", data.get("records") or data.get("total_records")),
        ("dropped", data.get("dropped") if not isinstance(data.get("dropped"), dict) else sum(data["dropped"].values())),
        ("packing efficiency", data.get("packing_efficiency")),
        ("tokenized cache hit", data.get("cache_hit")),
        ("steps", res.get("steps")),
        ("loss first -> final", f"{_fmt(first)} -> {_fmt(res.get('final_loss'))}"),
        ("real tokens", res.get("tokens")),
        ("tokens/s", res.get("tokens_per_s")),
        ("wall time (s)", res.get("wall_time_s")),
    ]
    w = max(len(k) for k, _ in pairs)
    for k, v in pairs:
        lines.append(f"{k.ljust(w)}  {_fmt(v)}")
    return "\n".join(lines)
