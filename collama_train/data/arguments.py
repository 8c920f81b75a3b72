"""The data flags (:class:`DataArguments`) and their cheap checks: nothing is read or tokenized here.

Every problem is a :class:`DataError` with one line naming the flag and what to do."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import mulco


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
        "help": "Maximum tokens per example (and per packed row). A longer response is cut to fit, without its "
                "EOS; a record whose prompt leaves fewer than 4 tokens for a response that must be cut is "
                "dropped (both counted)."})
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
        _checkmulco_source(args, mixture)


def _check_specs(args: DataArguments) -> list[tuple[str, float | None]]:
    """The --configs mixture, the --licenses list and the --template name parse; returns the mixture."""
    from ..prompts import TemplateError, from_name

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


def _checkmulco_source(args: DataArguments, mixture: list[tuple[str, float | None]]) -> None:
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

