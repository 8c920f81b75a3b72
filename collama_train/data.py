"""Training data: select MulCo configs, mix them, render prompts, tokenize once (cached), mask, pack.

The steps, each small and reported (see docs/data-pipeline.md):

1. **Select** (:func:`mulco.resolve`): config names -> leaf Parquet files, each record once even
   when two selected configs contain it; ``--licenses`` keeps only records whose ``license`` is listed.
2. **Mix** (:func:`mixture_counts`): a weight is the config's *share of the final mixture*. With
   every config weighted, the weights are normalised (``a:3,b:1`` = 75 % / 25 %) and the mixture
   has as many records as the configs have together; configs without a weight keep their natural
   size and the weighted ones take their share of the total (their weights must then sum below 1).
   A config asked for more records than it has is *over-sampled* (every record repeated, then a
   seeded sample of the rest), one asked for fewer is *under-sampled* (a seeded sample without
   replacement). ``--max-samples N`` scales every count so the total is at most N (shares kept).
   Sampling and the final order use the run's seed.
3. **Render** with a template from :mod:`collama_train.prompts` (EN and ZH records alike).
4. **Tokenize** prompts and completions *separately*, in large batches (one fast-tokenizer call
   per 1,000 strings), and concatenate the ids: ``prompt + completion + [eos]``. Labels are -100 on
   the prompt's *positions* (never by token id, so a pad==eos tokenizer or a pad token inside a
   response changes nothing) and the completion ids elsewhere; a boundary merge cannot hide the
   response because the two parts are never tokenized together. Exactly one EOS ends each example.
   A record whose prompt leaves no room for one response token in ``max_length`` is dropped and
   counted; a long response is cut to fit (EOS kept) and counted. No example is ever fully masked.
5. **Pack** (``--packing``): best-fit-decreasing of whole records into rows of ``max_length``,
   ``position_ids`` restarting at 0 for each record; :class:`Collator` can flatten a batch into one
   row with no attention mask, which transformers turns into a block-diagonal causal mask.
6. **Cache**: the result is saved with ``datasets.Dataset.save_to_disk`` under a key that hashes
   the tokenizer, template, configs, weights, licences, max length, packing, seed, sample limit,
   splits and the data's fingerprint; rank 0 builds it first, the other ranks read it.
"""
from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import mulco

#: Bump when the tokenized layout or the masking rules change (invalidates old caches).
FORMAT_VERSION = 1
#: Strings per fast-tokenizer call.
TOKENIZE_BATCH = 1000
IGNORE_INDEX = -100
SEED_COMPAT_NAME = "data_path"


class DataError(ValueError):
    """Bad data arguments or data: the message is one line naming the problem."""


@dataclass
class DataArguments:
    """What to train on and how it is turned into token ids."""

    data: str | None = field(default=None, metadata={
        "help": "A folder written by `mulco build`, or a MulCo Hub dataset repo id (e.g. collama/mulco)."})
    data_path: str | None = field(default=None, metadata={
        "help": "Seed compatibility (Stanford-Alpaca train.py): a JSON file holding a list of "
                "{instruction, input, output} records. Use instead of --data."})
    configs: str = field(default="all", metadata={
        "help": "Comma-separated MulCo config names with optional weights, 'name[:weight],name2[:weight]'. "
                "A weight is the config's share of the final mixture (normalised when every config has one; "
                "configs without one keep their natural size). Records two configs share are used once."})
    licenses: str | None = field(default=None, metadata={
        "help": "Comma-separated licences (the records' `license` field, case-insensitive), e.g. 'mit,apache-2.0': "
                "keep only records under one of them."})
    template: str = field(default="alpaca", metadata={
        "help": "Prompt template: 'alpaca' (the seed's Stanford-Alpaca prompt) or 'chat' (the tokenizer's chat template)."})
    max_length: int = field(default=2048, metadata={
        "help": "Maximum tokens per example (and per packed row). A record whose prompt leaves no room for "
                "a response token is dropped; a longer response is truncated (both counted)."})
    packing: bool = field(default=False, metadata={
        "help": "Pack whole records into rows of --max_length (best-fit-decreasing), position ids restarting "
                "per record and no attention across records."})
    max_samples: int | None = field(default=None, metadata={
        "help": "At most this many training records (every config's count scaled, shares kept)."})
    split: str = field(default="train", metadata={"help": "The split to train on (train, validation, test)."})
    eval_split: str | None = field(default=None, metadata={
        "help": "Also tokenize this split of the same configs as the evaluation set (e.g. validation); "
                "natural sizes, not packed."})
    tokenized_cache_dir: str | None = field(default=None, metadata={
        "help": "Where tokenized datasets are cached (default: $COLLAMA_CACHE or ~/.cache/collama/tokenized)."})


@dataclass
class Prepared:
    """The tokenized training (and evaluation) set and what happened on the way."""

    train: Any            # datasets.Dataset: input_ids, labels, [position_ids], length
    eval: Any | None
    report: dict


# ---------------------------------------------------------------- arguments


def parse_mixture(spec: str) -> list[tuple[str, float | None]]:
    """``"a:0.3,b"`` -> ``[("a", 0.3), ("b", None)]``; ValueError (one line) for a bad weight,
    an empty name or a name given twice."""
    out: list[tuple[str, float | None]] = []
    if spec is None or not str(spec).strip():
        raise ValueError("--configs is empty; give config names like 'code_search.en,code_generation.zh:0.3'")
    for part in str(spec).split(","):
        part = part.strip()
        if not part:
            raise ValueError(f"--configs {spec!r}: an empty entry (two commas in a row?)")
        name, sep, w = part.partition(":")
        name = name.strip()
        if not name:
            raise ValueError(f"--configs {spec!r}: entry {part!r} has no config name")
        weight = None
        if sep:
            try:
                weight = float(w)
            except ValueError:
                raise ValueError(f"--configs: weight {w.strip()!r} of {name!r} is not a number (write name:0.3)") from None
            if not math.isfinite(weight) or weight <= 0:
                raise ValueError(f"--configs: weight {w.strip()!r} of {name!r} is not a positive number")
        if name in [n for n, _ in out]:
            raise ValueError(f"--configs: {name!r} is given twice")
        out.append((name, weight))
    return out


def parse_licenses(spec: str | None) -> list[str] | None:
    if spec is None:
        return None
    out = [x.strip() for x in str(spec).split(",") if x.strip()]
    if not out:
        raise ValueError("--licenses is empty; give licences like 'mit,apache-2.0' or leave it out")
    return out


def validate_data_args(args: DataArguments) -> None:
    """Cheap checks of the data arguments (no tokenizing, no reading of records); DataError, one line."""
    if args.data and args.data_path:
        raise DataError("give --data (a MulCo folder or Hub repo) or --data_path (an Alpaca JSON list), not both")
    if not args.data and not args.data_path:
        raise DataError("no training data: give --data (a MulCo folder or Hub repo id) or --data_path (an Alpaca JSON list)")
    mixture = _check_specs(args)
    _check_numbers_and_splits(args)
    if args.data_path:
        _check_data_path(args, mixture)
    else:
        _check_mulco_source(args, mixture)


def _check_specs(args: DataArguments) -> list[tuple[str, float | None]]:
    """The --configs mixture, the --licenses list and the --template name parse; returns the mixture."""
    from .prompts import TemplateError, from_name

    try:
        mixture = parse_mixture(args.configs)
        parse_licenses(args.licenses)
    except ValueError as e:
        raise DataError(str(e)) from None
    try:
        from_name(args.template)
    except TemplateError as e:
        raise DataError(str(e)) from None
    return mixture


def _check_numbers_and_splits(args: DataArguments) -> None:
    if not isinstance(args.max_length, int) or args.max_length < 2:
        raise DataError(f"--max_length must be an integer >= 2 (got {args.max_length!r})")
    if args.max_samples is not None and args.max_samples < 1:
        raise DataError(f"--max_samples must be a positive integer (got {args.max_samples!r})")
    for flag, value in (("--split", args.split), ("--eval_split", args.eval_split)):
        if value is not None and value not in mulco.SPLITS:
            raise DataError(f"{flag} {value!r} is not a split; choose one of: {', '.join(mulco.SPLITS)}")
    if args.eval_split is not None and args.eval_split == args.split:
        raise DataError(f"--eval_split {args.eval_split!r} is the training split; choose another (e.g. validation)")


def _check_data_path(args: DataArguments, mixture: list[tuple[str, float | None]]) -> None:
    """A --data_path JSON list exists and is not asked for what only a MulCo folder has."""
    if not Path(args.data_path).expanduser().is_file():
        raise DataError(f"--data_path {args.data_path}: no such file (a JSON list of instruction/input/output records)")
    if args.licenses:
        raise DataError("--licenses needs --data: a --data_path JSON list has no license field")
    if args.eval_split:
        raise DataError("--eval_split needs --data: a --data_path JSON list has no splits")
    if [n for n, _ in mixture] != ["all"] or mixture[0][1] is not None:
        raise DataError("--configs needs --data: a --data_path JSON list has no configs")


def _check_mulco_source(args: DataArguments, mixture: list[tuple[str, float | None]]) -> None:
    """Every config name parses and --data is a MulCo folder or a Hub repo id."""
    for name, _ in mixture:
        try:
            mulco.parse(name)
        except mulco.UnknownConfigError as e:
            raise DataError(str(e)) from None
    try:
        mulco.check_source(args.data)
    except mulco.SelectionError as e:
        raise DataError(str(e)) from None


def check_tokenizer(tokenizer) -> None:
    """A tokenizer must have an EOS token (every example ends with it)."""
    if getattr(tokenizer, "eos_token_id", None) is None:
        name = getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__
        raise DataError(f"tokenizer {name}: it has no eos token, so examples cannot end with one; "
                        "set tokenizer.eos_token (or eos_token in tokenizer_config.json)")


def cache_root(args: DataArguments) -> Path:
    root = args.tokenized_cache_dir or os.environ.get("COLLAMA_CACHE")
    if root and not args.tokenized_cache_dir:
        return Path(root).expanduser() / "tokenized"
    return Path(root).expanduser() if root else Path.home() / ".cache" / "collama" / "tokenized"


# ---------------------------------------------------------------- mixture


def mixture_counts(natural: dict[str, int], weights: dict[str, float | None], max_samples: int | None = None) -> dict[str, int]:
    """Records each config contributes to the mixture (see the module docstring for the rule).

    ``natural``: records per config (after filters); ``weights``: None = natural size.
    Counts are rounded with the largest-remainder method so they add up to the total."""
    names = list(natural)
    weighted = [n for n in names if weights.get(n) is not None]
    plain = [n for n in names if weights.get(n) is None]
    if not weighted:
        target = {n: float(natural[n]) for n in names}
    elif not plain:
        total = sum(natural.values())
        wsum = sum(weights[n] for n in weighted)
        target = {n: total * weights[n] / wsum for n in names}
    else:
        wsum = sum(weights[n] for n in weighted)
        if wsum >= 1:
            raise DataError(f"--configs: the weights of {', '.join(weighted)} sum to {wsum:g}; with configs without "
                            f"a weight ({', '.join(plain)}) they are shares of the mixture and must sum below 1")
        rest = sum(natural[n] for n in plain)
        total = rest / (1 - wsum)
        target = {n: (float(natural[n]) if n in plain else total * weights[n]) for n in names}
    total = sum(target.values())
    if max_samples is not None and total > max_samples:
        target = {n: v * max_samples / total for n, v in target.items()}
        total = float(max_samples)
    return _round_counts(target, round(total))


def _round_counts(target: dict[str, float], total: int) -> dict[str, int]:
    floors = {n: int(math.floor(v)) for n, v in target.items()}
    left = total - sum(floors.values())
    for n in sorted(target, key=lambda n: (-(target[n] - floors[n]), list(target).index(n)))[:max(left, 0)]:
        floors[n] += 1
    return floors


def sample_indices(n: int, count: int, rng) -> list[int]:
    """``count`` row indices out of ``n``: every row ``count // n`` times, then a sample without
    replacement of the rest (under-sampling when count < n)."""
    import numpy as np

    if n == 0 or count == 0:
        return []
    reps, rem = divmod(count, n)
    parts = [np.tile(np.arange(n), reps)] if reps else []
    if rem:
        parts.append(np.sort(rng.choice(n, size=rem, replace=False)))
    return np.concatenate(parts).tolist()


# ---------------------------------------------------------------- reading records


@dataclass
class _Source:
    """The records of each config (after the licence filter), in owning-config order."""

    kind: str                      # "mulco" | "json"
    description: dict
    fingerprint: str
    loader: Callable[[], dict[str, Any]] | None = None  # -> config: pyarrow Table (instruction, input, output)


def _json_source(path: str) -> _Source:
    p = Path(path).expanduser()
    data = p.read_bytes()
    fp = hashlib.sha256(data).hexdigest()

    def load():
        try:
            recs = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise DataError(f"--data_path {path}: not a JSON file ({str(e).splitlines()[0]})") from None
        if not isinstance(recs, list):
            raise DataError(f"--data_path {path}: expected a JSON list of records, got {type(recs).__name__}")
        cols: dict[str, list] = {"instruction": [], "input": [], "output": []}
        for i, r in enumerate(recs):
            if not isinstance(r, dict):
                raise DataError(f"--data_path {path}: record {i} is not an object")
            for k in ("instruction", "output"):
                if not isinstance(r.get(k), str):
                    raise DataError(f"--data_path {path}: record {i} has no string field {k!r}")
            if r.get("input") is not None and not isinstance(r["input"], str):
                raise DataError(f"--data_path {path}: record {i} field 'input' is not a string")
            cols["instruction"].append(r["instruction"])
            cols["input"].append(r.get("input") or "")
            cols["output"].append(r["output"])
        if not recs:
            raise DataError(f"--data_path {path}: the list is empty")
        import pyarrow as pa

        return {SEED_COMPAT_NAME: pa.table(cols)}

    return _Source("json", {"data_path": str(p.resolve()), "sha256": fp}, fp, loader=load)


def _select(args: DataArguments, names: list[str], split: str, missing: str = "error"):
    try:
        return mulco.resolve(names, args.data, split, missing=missing)
    except (mulco.SelectionError, mulco.UnknownConfigError) as e:
        raise DataError(str(e)) from None


def _mulco_source(args: DataArguments, names: list[str], split: str, licenses: list[str] | None,
                  missing: str = "error") -> tuple[_Source, Any, list[str] | None]:
    sel = _select(args, names, split, missing)
    spelled = None
    if licenses is not None:  # licence column only: cheap, and every problem is found before any text is read
        per_name = {n: mulco.count_licenses(sel, g) for n, g in sel.owned.items()}
        present = sum(per_name.values(), collections.Counter())
        try:
            spelled = mulco.check_licenses(licenses, present)
        except mulco.SelectionError as e:
            raise DataError(f"{split} split: {e}") from None
        keep = {n: sum(c[x] for x in spelled) for n, c in per_name.items()}
        if not any(keep.values()):
            raise DataError(f"the mixture is empty: no selected record is under --licenses {args.licenses} "
                            f"(present: {', '.join(sorted(present))})")
        empty = [n for n, k in keep.items() if k == 0]
        if empty and missing == "error":
            n = empty[0]
            raise DataError(f"config {n!r} has no record under --licenses {args.licenses} (its records are under: "
                            f"{', '.join(sorted(per_name[n]))}); drop it or add a licence")
    desc = {"data": sel.source, "revision": sel.revision, "split": split, "configs": list(sel.names),
            "leaves": {n: [lf.name for lf in g] for n, g in sel.owned.items()}}
    fp = sel.fingerprint()

    def load():
        out = {}
        for name, leaves in sel.owned.items():
            out[name] = mulco.read_table(sel, leaves, licenses=spelled, columns=["instruction", "input", "output"])
        return out

    return _Source("mulco", desc, fp, loader=load), sel, spelled


# ---------------------------------------------------------------- tokenizing


def tokenizer_fingerprint(tokenizer) -> str:
    """A hash of everything about ``tokenizer`` that changes token ids (vocab, merges, normaliser,
    post-processor, special tokens, chat template)."""
    h = hashlib.sha256()
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        h.update(backend.to_str().encode("utf-8"))
    else:
        h.update(json.dumps(sorted(tokenizer.get_vocab().items()), ensure_ascii=False).encode("utf-8"))
    meta = [type(tokenizer).__name__, tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id,
            getattr(tokenizer, "chat_template", None), sorted(getattr(tokenizer, "special_tokens_map", {}).items()),
            getattr(tokenizer, "add_bos_token", None), getattr(tokenizer, "add_eos_token", None)]
    h.update(json.dumps(meta, default=str, ensure_ascii=False).encode("utf-8"))
    return h.hexdigest()


def _raw_backend(tokenizer):
    """The Rust ``tokenizers.Tokenizer`` behind a fast tokenizer (a copy without truncation and
    padding when the original has them set), or None for a slow tokenizer."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or not hasattr(backend, "encode_batch"):
        return None
    if backend.truncation is not None or backend.padding is not None:
        from tokenizers import Tokenizer

        backend = Tokenizer.from_str(backend.to_str())
        backend.no_truncation()
        backend.no_padding()
    return backend


def batch_tokenize(tokenizer, texts: Sequence[str], *, add_special_tokens: bool, split_special_tokens: bool,
                   batch_size: int = TOKENIZE_BATCH) -> list[list[int]]:
    """Token ids of ``texts``, one fast-tokenizer call per ``batch_size`` strings.

    A fast tokenizer is called through its Rust backend (``encode_batch_fast``: no offsets, no
    per-string Python conversion), which is what ``tokenizer(texts)`` does underneath; the ids are
    the same (a test checks it). A slow tokenizer goes through ``tokenizer(texts)``."""
    out: list[list[int]] = []
    backend = _raw_backend(tokenizer)
    if backend is None:
        for i in range(0, len(texts), batch_size):
            enc = tokenizer(list(texts[i:i + batch_size]), add_special_tokens=add_special_tokens,
                            split_special_tokens=split_special_tokens, return_attention_mask=False,
                            return_token_type_ids=False, verbose=False)
            out.extend(enc["input_ids"])
        return out
    encode = getattr(backend, "encode_batch_fast", backend.encode_batch)
    before = backend.encode_special_tokens
    backend.encode_special_tokens = split_special_tokens
    try:
        for i in range(0, len(texts), batch_size):
            out.extend(e.ids for e in encode(list(texts[i:i + batch_size]), add_special_tokens=add_special_tokens))
    finally:
        backend.encode_special_tokens = before
    return out


def render_all(template, cols: dict[str, list], tokenizer) -> tuple[list[str], list[str]]:
    """Prompts and completions of the records in ``cols``."""
    from .prompts import TemplateError

    prompts, completions = [], []
    for ins, inp, out in zip(cols["instruction"], cols["input"], cols["output"]):
        try:
            r = template.render({"instruction": ins, "input": inp, "output": out}, tokenizer)
        except TemplateError as e:
            raise DataError(str(e)) from None
        prompts.append(r.prompt)
        completions.append(r.completion.rstrip() if template.kind == "chat" else r.completion)
    return prompts, completions


def build_example(prompt_ids: list[int], completion_ids: list[int], eos_id: int, max_length: int):
    """``(input_ids, labels, status)`` of one record; status is "ok", "truncated" or "dropped"
    (then ids and labels are None). Labels mask the prompt by position; one EOS ends the ids."""
    while completion_ids and completion_ids[-1] == eos_id:
        completion_ids = completion_ids[:-1]
    n_prompt = len(prompt_ids)
    if n_prompt + 1 > max_length:
        return None, None, "dropped"
    room = max_length - n_prompt - 1
    status = "ok"
    if len(completion_ids) > room:
        completion_ids = completion_ids[:room]
        status = "truncated"
    ids = list(prompt_ids) + list(completion_ids) + [eos_id]
    labels = [IGNORE_INDEX] * n_prompt + list(completion_ids) + [eos_id]
    return ids, labels, status


def _appends_eos(tokenizer) -> bool:
    """True when the tokenizer's own special tokens end a text with EOS (add_special_tokens=True)."""
    eos = tokenizer.eos_token_id
    ids = batch_tokenize(tokenizer, ["a"], add_special_tokens=True, split_special_tokens=True)[0]
    bare = batch_tokenize(tokenizer, ["a"], add_special_tokens=False, split_special_tokens=True)[0]
    return len(ids) > len(bare) and ids[-1] == eos


def tokenize_records(template, tokenizer, cols: dict[str, list], max_length: int):
    """Tokenize the records of one config: (examples, counts) where examples[i] is
    ``(input_ids, labels, truncated)`` or None when record i was dropped."""
    prompts, completions = render_all(template, cols, tokenizer)
    text = template.kind == "text"
    p_ids = batch_tokenize(tokenizer, prompts, add_special_tokens=text, split_special_tokens=text)
    c_ids = batch_tokenize(tokenizer, completions, add_special_tokens=False, split_special_tokens=text)
    eos = tokenizer.eos_token_id
    if text and p_ids and _appends_eos(tokenizer):  # a post-processor like "<s> $A </s>": the EOS goes at the end only
        p_ids = [p[:-1] if p and p[-1] == eos else p for p in p_ids]
    examples, counts = [], {"dropped_prompt_too_long": 0, "truncated": 0}
    for p, c in zip(p_ids, c_ids):
        ids, labels, status = build_example(p, c, eos, max_length)
        if status == "dropped":
            counts["dropped_prompt_too_long"] += 1
            examples.append(None)
            continue
        counts["truncated"] += status == "truncated"
        examples.append((ids, labels, status == "truncated"))
    return examples, counts


# ---------------------------------------------------------------- packing and efficiency


def pack_bfd(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Best-fit-decreasing: indices of ``lengths`` grouped into bins of at most ``capacity`` tokens.
    Longest first; each goes to the fullest bin it still fits in (ties: the earliest such bin).
    O(n log C): bins are bucketed by the room they have left."""
    import bisect

    bins: list[list[int]] = []
    buckets: dict[int, list[int]] = {}
    keys: list[int] = []  # sorted distinct rooms that have a bin
    for i in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        n = lengths[i]
        if n > capacity:
            raise ValueError(f"record {i} has {n} tokens, more than the row capacity {capacity}")
        j = bisect.bisect_left(keys, n)
        if j < len(keys):
            room = keys[j]
            b = buckets[room].pop(0)
            if not buckets[room]:
                del buckets[room]
                keys.pop(j)
        else:
            room, b = capacity, len(bins)
            bins.append([])
        bins[b].append(i)
        room -= n
        if room > 0:
            if room not in buckets:
                buckets[room] = []
                bisect.insort(keys, room)
            buckets[room].append(b)
    return bins


def packing_efficiency(lengths: Sequence[int], capacity: int) -> float:
    """Real tokens / tokens computed when the packed rows are ``capacity`` long."""
    bins = pack_bfd(lengths, capacity)
    return sum(lengths) / (len(bins) * capacity) if bins else 1.0


def padding_efficiency(lengths: Sequence[int], batch_size: int = 8, seed: int = 0) -> float:
    """Real tokens / tokens computed when random batches of ``batch_size`` are padded to their longest."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(lengths))
    real = computed = 0
    for i in range(0, len(order), batch_size):
        batch = [lengths[j] for j in order[i:i + batch_size]]
        real += sum(batch)
        computed += max(batch) * len(batch)
    return real / computed if computed else 1.0


def pack_examples(examples: list[tuple[list[int], list[int]]], max_length: int) -> dict[str, list]:
    """Columns of the packed rows (input_ids, labels, position_ids, length)."""
    bins = pack_bfd([len(e[0]) for e in examples], max_length)
    cols: dict[str, list] = {"input_ids": [], "labels": [], "position_ids": [], "length": []}
    for b in bins:
        ids, labels, pos = [], [], []
        for i in b:
            e_ids, e_labels = examples[i][0], examples[i][1]
            ids += e_ids
            labels.append(IGNORE_INDEX)
            labels += e_labels[1:]
            pos += range(len(e_ids))
        cols["input_ids"].append(ids)
        cols["labels"].append(labels)
        cols["position_ids"].append(pos)
        cols["length"].append(len(ids))
    return cols


# ---------------------------------------------------------------- prepare


def _cache_key(args: DataArguments, tokenizer, mixture, licenses, source_fp: str, eval_fp: str | None, seed: int) -> str:
    from .prompts import from_name

    key = {
        "format": FORMAT_VERSION, "tokenizer": tokenizer_fingerprint(tokenizer),
        "template": [args.template, repr(from_name(args.template))], "mixture": mixture,
        "licenses": None if licenses is None else sorted(x.lower() for x in licenses),
        "max_length": args.max_length, "packing": bool(args.packing), "seed": seed, "max_samples": args.max_samples,
        "split": args.split, "eval_split": args.eval_split, "data": source_fp, "eval_data": eval_fp,
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]


def _build_train(args, tokenizer, template, source: _Source, mixture, seed: int) -> tuple[dict, dict]:
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


def _build_eval(args, tokenizer, template, source: _Source) -> tuple[dict, dict]:
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
    from .prompts import from_name

    validate_data_args(args)
    check_tokenizer(tokenizer)
    template = from_name(args.template)
    if template.needs_tokenizer and not getattr(tokenizer, "chat_template", None):
        raise DataError(f"template {args.template!r} needs a tokenizer with a chat template (tokenizer.chat_template "
                        "is not set); use --template alpaca")
    mixture = parse_mixture(args.configs)
    licenses = parse_licenses(args.licenses)
    if args.data_path:
        source, spelled = _json_source(args.data_path), None
        eval_source = None
    else:
        names = [n for n, _ in mixture]
        source, sel, spelled = _mulco_source(args, names, args.split, licenses)
        mixture = [(n, w) for n, w in mixture if n in sel.names]
        eval_source = None
        if args.eval_split:
            eval_source, _, _ = _mulco_source(args, names, args.eval_split, spelled, missing="skip")
    key = _cache_key(args, tokenizer, mixture, spelled, source.fingerprint,
                     eval_source.fingerprint if eval_source else None, seed)
    folder = cache_root(args) / key
    ctx = main_process_first() if main_process_first is not None else contextlib.nullcontext()
    with ctx:
        loaded = _load_cached(folder, want_eval=eval_source is not None)
        if loaded is None:
            report = _build_and_save(args, tokenizer, template, source, eval_source, mixture, seed, key, folder)
            report["cache_hit"] = False
            loaded = _load_cached(folder, want_eval=eval_source is not None)
            if loaded is None:
                raise DataError(f"the tokenized cache {folder} cannot be read back after writing it")
        else:
            report = loaded[0]
            report["cache_hit"] = True
    log_report(report)
    return Prepared(train=loaded[1], eval=loaded[2], report=report)


def log_report(report: dict, log=None) -> None:
    """Log the records of each config before and after weighting (logger ``collama_train.data``)."""
    import logging

    log = log or logging.getLogger(__name__).info
    tr = report["train"]
    log(f"tokenized data: {'cache hit' if report.get('cache_hit') else 'built'} ({report['cache_dir']})")
    for name, c in tr["configs"].items():
        w = "natural" if c["weight"] is None else f"weight {c['weight']:g}"
        log(f"  {name}: {c['records_before']} records -> {c['records_after']} ({w}, {c['sampling']}), "
            f"{c['records_trained']} trained, {c['tokens']} tokens, {c['dropped_prompt_too_long']} dropped, "
            f"{c['truncated']} truncated")
    log(f"  total: {tr['records']} records, {tr['tokens']} tokens in {tr['rows']} rows; packing efficiency "
        f"{tr['packing_efficiency']:.3f}, padding to the longest {tr['padding_efficiency_batch8']:.3f}")


def _load_cached(folder: Path, want_eval: bool):
    """(report, train, eval) of a cache entry, or None when it is missing or unreadable (a
    damaged entry is removed, so it is rebuilt)."""
    if not (folder / "report.json").is_file():
        return None
    import datasets

    try:
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        train = datasets.load_from_disk(str(folder / "train"))
        ev = datasets.load_from_disk(str(folder / "eval")) if want_eval else None
        return report, train, ev
    except Exception:  # noqa: BLE001 - any damage means: build it again
        shutil.rmtree(folder, ignore_errors=True)
        return None


def _build_and_save(args, tokenizer, template, source, eval_source, mixture, seed, key, folder: Path) -> dict:
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
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    from datasets.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    quiet = are_progress_bars_disabled()
    disable_progress_bars()
    try:
        _dataset(cols, args.packing, fingerprint=f"collama-{key}-train").save_to_disk(str(tmp / "train"))
        if ev_cols is not None:
            _dataset(ev_cols, False, fingerprint=f"collama-{key}-eval").save_to_disk(str(tmp / "eval"))
        (tmp / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        try:
            os.replace(tmp, folder)
        except OSError:
            if not (folder / "report.json").is_file():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process (another node's rank 0) finished first: same key, same data
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if not quiet:
            enable_progress_bars()
    return report


def _int_lists(rows: list) -> Any:
    """A pyarrow ``list<int32>`` array of ``rows`` (lists of ints); ``large_list`` past 2**31 values."""
    import pyarrow as pa

    large = sum(map(len, rows)) >= 2**31
    return pa.array(rows, type=pa.large_list(pa.int32()) if large else pa.list_(pa.int32()))


def _dataset(cols: dict, packed: bool, fingerprint: str | None = None):
    """The rows as a ``datasets.Dataset``; ``fingerprint`` (the cache key) spares hashing the whole table."""
    import datasets
    import pyarrow as pa

    names = ["input_ids", "labels"] + (["position_ids"] if packed else [])
    arrays = {k: _int_lists(cols[k]) for k in names}
    arrays["length"] = pa.array(cols["length"], type=pa.int32())
    return datasets.Dataset(pa.table(arrays), fingerprint=fingerprint)


# ---------------------------------------------------------------- collation


class Collator:
    """Turn tokenized rows into a batch of torch tensors.

    - padded (``packed=False``): right-pad ``input_ids`` with the pad id (EOS when the tokenizer
      has none), ``labels`` with -100, and an ``attention_mask`` of the real tokens.
    - packed (``packed=True``): ``position_ids`` restart at 0 for each record (taken from packed
      rows, ``range(len)`` for plain rows), labels are -100 at each record's first token, there is
      NO ``attention_mask``, and ``use_cache=False``: transformers builds the block-diagonal mask
      from restarting position ids only without an attention mask and without a KV cache (a model
      whose config has ``use_cache=True`` would otherwise make one and attend across records).
      By default the packed rows stay the batch (right-padded; the padding is a segment of its own
      whose labels are -100, so no real token sees it): on sdpa/eager this is about 3x faster than
      one long row, whose mask grows with the square of the whole batch (docs/training.md).
      ``flatten=True`` concatenates the batch into ONE row instead, the layout flash-attention's
      variable-length kernels read from position ids (``collama-train`` chooses it for
      ``--attn_implementation flash_attention_*``).
    """

    def __init__(self, tokenizer, packed: bool = False, pad_to_multiple_of: int | None = None, flatten: bool = False):
        self.packed = packed
        self.flatten = flatten
        self.pad_to_multiple_of = pad_to_multiple_of
        pad = getattr(tokenizer, "pad_token_id", None)
        self.pad_id = pad if pad is not None else tokenizer.eos_token_id

    def _packed_rows(self, features: list[dict]) -> list[tuple[list[int], list[int], list[int]]]:
        rows = []
        for f in features:
            f_ids = list(f["input_ids"])
            f_pos = list(f["position_ids"]) if f.get("position_ids") is not None else list(range(len(f_ids)))
            f_lab = [IGNORE_INDEX if p == 0 else lab for p, lab in zip(f_pos, f["labels"])]
            rows.append((f_ids, f_lab, f_pos))
        return rows

    def _longest(self, lengths) -> int:
        longest = max(lengths)
        if self.pad_to_multiple_of:
            longest = -(-longest // self.pad_to_multiple_of) * self.pad_to_multiple_of
        return longest

    def __call__(self, features: list[dict]) -> dict:
        import torch

        if self.packed:
            rows = self._packed_rows(features)
            if self.flatten:
                rows = [tuple(sum((r[k] for r in rows), []) for k in range(3))]
            longest = self._longest(len(r[0]) for r in rows)
            n = len(rows)
            input_ids = torch.full((n, longest), self.pad_id, dtype=torch.long)
            labels = torch.full((n, longest), IGNORE_INDEX, dtype=torch.long)
            # padding positions restart at 0: a segment of their own that no real token attends to
            pos = torch.arange(longest, dtype=torch.long).repeat(n, 1)
            for i, (ids, lab, p) in enumerate(rows):
                k = len(ids)
                input_ids[i, :k] = torch.as_tensor(ids, dtype=torch.long)
                labels[i, :k] = torch.as_tensor(lab, dtype=torch.long)
                pos[i, :k] = torch.as_tensor(p, dtype=torch.long)
                pos[i, k:] -= k
            return {"input_ids": input_ids, "labels": labels, "position_ids": pos, "use_cache": False}
        longest = self._longest(len(f["input_ids"]) for f in features)
        n = len(features)
        input_ids = torch.full((n, longest), self.pad_id, dtype=torch.long)
        labels = torch.full((n, longest), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((n, longest), dtype=torch.long)
        for i, f in enumerate(features):
            k = len(f["input_ids"])
            input_ids[i, :k] = torch.as_tensor(list(f["input_ids"]), dtype=torch.long)
            labels[i, :k] = torch.as_tensor(list(f["labels"]), dtype=torch.long)
            mask[i, :k] = 1
        return {"input_ids": input_ids, "labels": labels, "attention_mask": mask}


__all__ = [
    "Collator", "DataArguments", "DataError", "Prepared", "build_example", "check_tokenizer", "mixture_counts",
    "pack_bfd", "packing_efficiency", "padding_efficiency", "parse_licenses", "parse_mixture", "prepare",
    "tokenizer_fingerprint", "validate_data_args",
]
