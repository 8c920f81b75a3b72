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
        "data_summary": data_summary(data_report),
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


def card_hash(data: str | None) -> str | None:
    """sha256 of a local MulCo folder's dataset card (README.md): which build the run trained on."""
    if not data:
        return None
    card = Path(data) / "README.md"
    if not card.is_file():
        return None
    import hashlib

    return hashlib.sha256(card.read_bytes()).hexdigest()


#: A config drawn more than this many times its records (by its weight) gets one warning line.
OVERSAMPLING_WARN = 10.0


def sampling_factors(data: dict) -> dict:
    """Per config: records after weighting / records available (1 = natural, 105 = each record ~105 times)."""
    configs = ((data.get("train") or {}).get("configs")) or {}
    return {n: round(c["records_after"] / c["records_before"], 3) for n, c in configs.items()
            if c.get("records_before") and c.get("records_after") is not None}


def oversampling_warning(data: dict, threshold: float = OVERSAMPLING_WARN) -> str | None:
    """One line naming every config drawn more than ``threshold`` times its records, or None."""
    configs = ((data.get("train") or {}).get("configs")) or {}
    heavy = [(n, f) for n, f in sampling_factors(data).items() if f > threshold]
    if not heavy:
        return None
    parts = ", ".join(f"{n} x{f:.3g} ({configs[n]['records_before']:,} records -> {configs[n]['records_after']:,})"
                      for n, f in heavy)
    return (f"warning: oversampled above x{threshold:g}: {parts}; each record is repeated that often per epoch "
            f"(lower its weight, or set --max-samples)")


def data_summary(data: dict) -> dict:
    """The data figures the run report repeats at its top level (from ``Prepared.report``)."""
    train = data.get("train") or {}
    configs = train.get("configs") or {}
    source = data.get("source")
    where = (source.get("data") or source.get("data_path")) if isinstance(source, dict) else source
    revision = source.get("revision") if isinstance(source, dict) else None
    return {
        "source": where,
        "revision": revision,
        "fingerprint": data.get("fingerprint"),
        "card_sha256": card_hash(where),
        "mixture": data.get("mixture"),
        "records_per_config": {n: c.get("records_trained") for n, c in configs.items()},
        "sampling_factor_per_config": sampling_factors(data),
        "tokens_per_config": {n: c.get("tokens") for n, c in configs.items()},
        "records": train.get("records"),
        "tokens": train.get("tokens"),
        "dropped_prompt_too_long": train.get("dropped_prompt_too_long"),
        "truncated": train.get("truncated"),
        "packed": train.get("packed"),
        "packing_efficiency": train.get("packing_efficiency"),
        "padding_efficiency_batch8": train.get("padding_efficiency_batch8"),
        "cache_hit": data.get("cache_hit"),
        "cache_key": data.get("cache_key"),
    }


def _revision(d: dict) -> str:
    if d.get("revision"):
        return d["revision"]
    if d.get("card_sha256"):
        return f"local, card sha256 {d['card_sha256'][:16]}"
    return f"local (no dataset card; fingerprint {d['fingerprint']})" if d.get("fingerprint") else "local"


def summary(report: dict) -> str:
    """A short plain-text table: per config weight/records/tokens, then the run's figures."""
    lines = []
    data = report.get("data") or {}
    configs = (data.get("train") or {}).get("configs") or {}
    rows = [(str(n), _fmt(c.get("weight")), _fmt(c.get("records_before")), _fmt(c.get("records_trained")),
             _fmt(c.get("tokens")), _fmt(c.get("dropped_prompt_too_long"))) for n, c in configs.items()]
    if rows:
        header = ("config", "weight", "records", "trained", "tokens", "dropped")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
        for r in rows[:20]:
            lines.append("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
        if len(rows) > 20:
            lines.append(f"... {len(rows) - 20} more configs (collama_run.json has them all)")
        lines.append("")
    d = data_summary(data)
    res = report.get("results", {})
    hist = res.get("loss_history") or []
    first = hist[0]["loss"] if hist else None
    pairs = [
        ("data", d["source"]), ("revision", _revision(d)), ("records", d["records"]),
        ("dropped / truncated", f"{_fmt(d['dropped_prompt_too_long'])} / {_fmt(d['truncated'])}"),
        ("packing efficiency" if d["packed"] else "padding efficiency (batch 8)",
         d["packing_efficiency"] if d["packed"] else d["padding_efficiency_batch8"]),
        ("tokenized cache hit", d["cache_hit"]),
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
