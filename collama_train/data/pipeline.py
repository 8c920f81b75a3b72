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
from .tokenizing import IGNORE_INDEX, Examples, encode_records


@dataclass
class Prepared:
    """The tokenized training (and evaluation) set and what happened on the way."""

    train: Any            # datasets.Dataset: input_ids, labels, [position_ids], length
    eval: Any | None
    report: dict



def _config_examples(args, tokenizer, template, table, pick):
    """The examples of one config's sampled rows ``pick`` (repeats allowed; each distinct row is
    tokenized once) and its report entry's counts."""
    import numpy as np

    pick = np.asarray(pick, dtype=np.int64)
    uniq = np.unique(pick)
    taken = table.take(uniq)
    sub = {c: taken.column(c).to_pylist() for c in ("instruction", "input", "output")}
    examples, index, _ = encode_records(template, tokenizer, sub, args.max_length)
    at = index[np.searchsorted(uniq, pick)]
    kept = examples.take(at[at >= 0])
    return kept, {"records_trained": len(kept), "dropped_prompt_too_long": int((at < 0).sum()),
                  "truncated": int(kept.truncated.sum()), "unique_records_tokenized": len(uniq),
                  "tokens": int(kept.offsets[-1]), "response_tokens": int((kept.labels != IGNORE_INDEX).sum())}


def _sampling(before: int, after: int) -> str:
    if after == before:
        return "natural"
    # 3 significant digits: a 1-in-1000 sample reads "under x0.001", not "under x0.00"
    return f"over x{after / before:.3g}" if after > before else f"under x{after / max(before, 1):.3g}"


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
    per_config, parts = {}, []
    for n in natural:
        kept, c = _config_examples(args, tokenizer, template, rows[n], picks[n])
        per_config[n] = {"weight": weights.get(n), "records_before": natural[n], "records_after": counts[n],
                         "sampling": _sampling(natural[n], counts[n]), **c}
        parts.append(kept)
    chosen = Examples.concat(parts)
    if not len(chosen):
        raise DataError(f"every selected record was dropped: no prompt fits in --max_length {args.max_length}")
    chosen = chosen.take(rng.permutation(len(chosen)))
    lengths = chosen.lengths
    if args.packing:
        cols = pack_examples(chosen, args.max_length)
    else:
        cols = {"input_ids": (chosen.ids, chosen.offsets), "labels": (chosen.labels, chosen.offsets), "length": lengths}
    total = int(lengths.sum())
    length_list = lengths.tolist()
    stats = {
        "configs": per_config, "records": len(chosen), "tokens": total,
        "response_tokens": sum(v["response_tokens"] for v in per_config.values()),
        "dropped_prompt_too_long": sum(v["dropped_prompt_too_long"] for v in per_config.values()),
        "truncated": sum(v["truncated"] for v in per_config.values()),
        "rows": len(cols["length"]),
        "packing_efficiency": (total / (len(cols["length"]) * args.max_length) if args.packing
                               else packing_efficiency(length_list, args.max_length)),
        "padding_efficiency_batch8": padding_efficiency(length_list, 8, seed),
        "max_length": args.max_length, "packed": bool(args.packing),
        "length_max": max(length_list), "length_mean": total / len(length_list),
    }
    return cols, stats


def _build_eval(args, tokenizer, template, source: Source) -> tuple[dict, dict]:
    rows = source.loader()
    parts = []
    stats = {"configs": {}, "dropped_prompt_too_long": 0, "truncated": 0}
    for n, table in rows.items():
        cols = {c: table.column(c).to_pylist() for c in ("instruction", "input", "output")}
        examples, _, drops = encode_records(template, tokenizer, cols, args.max_length)
        stats["configs"][n] = {"records": len(cols["instruction"]), "records_kept": len(examples), **drops}
        stats["dropped_prompt_too_long"] += drops["dropped_prompt_too_long"]
        stats["truncated"] += drops["truncated"]
        parts.append(examples)
    kept = Examples.concat(parts)
    if not len(kept):
        raise DataError(f"the {args.eval_split!r} split has no usable record for these configs")
    stats.update(records=len(kept), tokens=int(kept.offsets[-1]))
    return {"input_ids": (kept.ids, kept.offsets), "labels": (kept.labels, kept.offsets), "length": kept.lengths}, stats


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
