"""``prepare()``: select, mix, tokenize, (pack), through the cache; and the log of what happened."""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

from .arguments import DataArguments, DataError, check_tokenizer, parse_licenses, parse_mixture, validate_data_args
from .cache import cache_key, cache_root, load_cached, save_entry
from .packing import pack_examples, packing_efficiency, padding_efficiency
from .sources import Source, json_source, mixture_counts, mulco_source, sample_indices
from .tokenizing import IGNORE_INDEX, tokenize_records


@dataclass
class Prepared:
    """The tokenized training (and evaluation) set and what happened on the way."""

    train: Any            # datasets.Dataset: input_ids, labels, [position_ids], length
    eval: Any | None
    report: dict



def _build_train(args, tokenizer, template, source: Source, mixture, seed: int) -> tuple[dict, dict]:
    import numpy as np

    weights = dict(mixture)
    rows = source.loader()
    natural = {n: t.num_rows for n, t in rows.items()}
    if sum(natural.values()) == 0:
        raise DataError("the mixture is empty: no record is left after the filters"
                        + (f" (--licenses {args.licenses})" if args.licenses else ""))
    for n, k in natural.items():
        if k == 0 and weights.get(n) is not None:
            raise DataError(f"config {n!r} has a weight but no record is left after the filters (--licenses {args.licenses})")
    counts = mixture_counts(natural, {n: weights.get(n) for n in natural}, args.max_samples)
    rng = np.random.default_rng(seed)
    picks = {n: sample_indices(natural[n], counts[n], rng) for n in natural}
    per_config, chosen = {}, []  # chosen: (config, example)
    for n in natural:
        uniq = sorted(set(picks[n]))
        taken = rows[n].take(uniq)
        sub = {c: taken.column(c).to_pylist() for c in ("instruction", "input", "output")}
        examples, drops = tokenize_records(template, tokenizer, sub, args.max_length)
        by_row = dict(zip(uniq, examples))
        kept = [by_row[i] for i in picks[n] if by_row[i] is not None]
        dropped = sum(by_row[i] is None for i in picks[n])
        truncated = sum(1 for e in kept if e[2])
        w = weights.get(n)
        per_config[n] = {
            "weight": w, "records_before": natural[n], "records_after": counts[n],
            "sampling": ("natural" if counts[n] == natural[n] else
                         f"over x{counts[n] / natural[n]:.2f}" if counts[n] > natural[n] else
                         f"under x{counts[n] / max(natural[n], 1):.2f}"),
            "records_trained": len(kept), "dropped_prompt_too_long": dropped, "truncated": truncated,
            "unique_records_tokenized": len(uniq), "tokens": sum(len(e[0]) for e in kept),
            "response_tokens": sum(len(e[1]) - e[1].count(IGNORE_INDEX) for e in kept),
        }
        chosen.extend(kept)
    if not chosen:
        raise DataError(f"every selected record was dropped: no prompt fits in --max_length {args.max_length}")
    order = rng.permutation(len(chosen)).tolist()
    chosen = [chosen[i] for i in order]
    lengths = [len(e[0]) for e in chosen]
    if args.packing:
        cols = pack_examples(chosen, args.max_length)
    else:
        cols = {"input_ids": [e[0] for e in chosen], "labels": [e[1] for e in chosen], "length": lengths}
    total = sum(lengths)
    stats = {
        "configs": per_config, "records": len(chosen), "tokens": total,
        "response_tokens": sum(v["response_tokens"] for v in per_config.values()),
        "dropped_prompt_too_long": sum(v["dropped_prompt_too_long"] for v in per_config.values()),
        "truncated": sum(v["truncated"] for v in per_config.values()),
        "rows": len(cols["input_ids"]),
        "packing_efficiency": (total / (len(cols["length"]) * args.max_length) if args.packing
                               else packing_efficiency(lengths, args.max_length)),
        "padding_efficiency_batch8": padding_efficiency(lengths, 8, seed),
        "max_length": args.max_length, "packed": bool(args.packing),
        "length_max": max(lengths), "length_mean": total / len(lengths),
    }
    return cols, stats


def _build_eval(args, tokenizer, template, source: Source) -> tuple[dict, dict]:
    rows = source.loader()
    ids, labels, lengths = [], [], []
    stats = {"configs": {}, "dropped_prompt_too_long": 0, "truncated": 0}
    for n, table in rows.items():
        cols = {c: table.column(c).to_pylist() for c in ("instruction", "input", "output")}
        examples, drops = tokenize_records(template, tokenizer, cols, args.max_length)
        kept = [e for e in examples if e is not None]
        stats["configs"][n] = {"records": len(cols["instruction"]), "records_kept": len(kept), **drops}
        stats["dropped_prompt_too_long"] += drops["dropped_prompt_too_long"]
        stats["truncated"] += drops["truncated"]
        for e in kept:
            ids.append(e[0])
            labels.append(e[1])
            lengths.append(len(e[0]))
    if not ids:
        raise DataError(f"the {args.eval_split!r} split has no usable record for these configs")
    stats.update(records=len(ids), tokens=sum(lengths))
    return {"input_ids": ids, "labels": labels, "length": lengths}, stats


def prepare(args: DataArguments, tokenizer, *, seed: int = 42, main_process_first=None) -> Prepared:
    """Select, mix, tokenize and (optionally) pack the training data, through the on-disk cache.

    ``main_process_first``: a context-manager factory (``training_args.main_process_first``);
    rank 0 builds and writes the cache inside it, the other ranks then read it."""
    from ..prompts import from_name

    validate_data_args(args)
    check_tokenizer(tokenizer)
    template = from_name(args.template)
    if template.needs_tokenizer and not getattr(tokenizer, "chat_template", None):
        raise DataError(f"template {args.template!r} needs a tokenizer with a chat template (tokenizer.chat_template "
                        "is not set); use --template alpaca")
    mixture = parse_mixture(args.configs)
    licenses = parse_licenses(args.licenses)
    if args.data_path:
        source, spelled = json_source(args.data_path), None
        eval_source = None
    else:
        names = [n for n, _ in mixture]
        source, sel, spelled = mulco_source(args, names, args.split, licenses)
        mixture = [(n, w) for n, w in mixture if n in sel.names]
        eval_source = None
        if args.eval_split:
            eval_source, _, _ = mulco_source(args, names, args.eval_split, spelled, missing="skip")
    key = cache_key(args, tokenizer, mixture, spelled, source.fingerprint,
                     eval_source.fingerprint if eval_source else None, seed)
    folder = cache_root(args) / key
    ctx = main_process_first() if main_process_first is not None else contextlib.nullcontext()
    with ctx:
        loaded = load_cached(folder, want_eval=eval_source is not None)
        if loaded is None:
            report = _build_and_save(args, tokenizer, template, source, eval_source, mixture, seed, key, folder)
            report["cache_hit"] = False
            loaded = load_cached(folder, want_eval=eval_source is not None)
            if loaded is None:
                raise DataError(f"the tokenized cache {folder} cannot be read back after writing it")
        else:
            report = loaded[0]
            report["cache_hit"] = True
    log_report(report)
    return Prepared(train=loaded[1], eval=loaded[2], report=report)


def _build_and_save(args, tokenizer, template, source, eval_source, mixture, seed, key, folder) -> dict:
    t0 = time.perf_counter()
    cols, stats = _build_train(args, tokenizer, template, source, mixture, seed)
    ev_cols, ev_stats = _build_eval(args, tokenizer, template, eval_source) if eval_source else (None, None)
    seconds = time.perf_counter() - t0
    report = {
        "source": source.description, "fingerprint": source.fingerprint, "template": args.template,
        "mixture": [{"config": n, "weight": w} for n, w in mixture],
        "licenses": args.licenses, "seed": seed, "max_samples": args.max_samples,
        "train": stats, "eval": ev_stats, "cache_key": key, "cache_dir": str(folder),
        "tokenize_seconds": round(seconds, 3), "records_per_second": round(stats["records"] / max(seconds, 1e-9), 1),
    }
    save_entry(folder, key, report, cols, bool(args.packing), ev_cols)
    return report


def log_report(report: dict, log=None) -> None:
    """Log the records of each config before and after weighting (logger ``collama_train.data``)."""
    import logging

    log = log or logging.getLogger("collama_train.data").info
    tr = report["train"]
    log(f"tokenized data: {'cache hit' if report.get('cache_hit') else 'built'} ({report['cache_dir']})")
    for name, c in tr["configs"].items():
        w = "natural" if c["weight"] is None else f"weight {c['weight']:g}"
        log(f"  {name}: {c['records_before']} records -> {c['records_after']} ({w}, {c['sampling']}), "
            f"{c['records_trained']} trained, {c['tokens']} tokens, {c['dropped_prompt_too_long']} dropped, "
            f"{c['truncated']} truncated")
    log(f"  total: {tr['records']} records, {tr['tokens']} tokens in {tr['rows']} rows; packing efficiency "
        f"{tr['packing_efficiency']:.3f}, padding to the longest {tr['padding_efficiency_batch8']:.3f}")
