"""Command-line settings of ``collama-train``: dataclasses parsed by ``HfArgumentParser``.

Four groups, one parser: :class:`ModelArguments` (the model and LoRA), ``collama_train.data.DataArguments``
(what to train on), :class:`RunArguments` (resume, evaluation, the YAML file) and
:class:`TrainingArguments` (every ``transformers.TrainingArguments`` flag, a few defaults changed).

Every flag has both spellings (``--output-dir`` and ``--output_dir``: ``HfArgumentParser`` adds
the dashed one). ``--config run.yaml`` gives the same fields from a file; flags on the command
line override it. The seed's command line keeps working: ``--model_name_or_path``,
``--data_path``, ``--evaluation_strategy`` (renamed ``eval_strategy`` in transformers 5) and
``--fp16``/``--bf16`` on a machine without a GPU (turned off with one warning line, training runs
in fp32: the seed's scripts then run unchanged on a laptop instead of failing).

Parsing is cheap and side-effect free: :func:`parse` returns plain dicts per group and only
:func:`build` constructs ``TrainingArguments`` (which may start a process group), after
``collama_train.train`` has validated everything.
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path


def unknown_argument(parser, bad: str) -> str:
    """``unknown argument --modle (did you mean --model?)``: the first argument ``parser`` did not take,
    with the close option names it has (collama-train and collama-eval say it the same way)."""
    import difflib

    opts = [o for a in parser._actions for o in a.option_strings]
    close = difflib.get_close_matches(bad.split("=")[0], opts, n=2)
    return f"unknown argument {bad}" + (f" (did you mean {' or '.join(close)}?)" if close else "")


DEEPSPEED_NAMES = ("zero2", "zero3", "zero3_offload")

#: Old spellings still found in scripts written for transformers 4.x or Stanford-Alpaca's train.py
#: -> current field names.
RENAMED = {"evaluation_strategy": "eval_strategy", "model_name_or_path": "model", "model_max_length": "max_length",
           "warmup_ratio": "warmup_steps",  # transformers 5: warmup_steps < 1 is a ratio of the total steps
           # transformers 5.25 deprecates these for activation_checkpointing* (a FutureWarning each run)
           "gradient_checkpointing": "activation_checkpointing",
           "gradient_checkpointing_kwargs": "activation_checkpointing_kwargs"}


class ArgsError(ValueError):
    """A bad flag or value: the message is one line naming the flag (and the file)."""


@dataclass
class ModelArguments:
    model: str | None = field(default=None, metadata={
        "aliases": ["--model_name_or_path", "--model-name-or-path"],
        "help": "Model folder (or Hub id) to fine-tune; --model_name_or_path is the seed's spelling."})
    dtype: str = field(default="float32", metadata={
        "help": "dtype the weights are loaded in: float32 (default; mixed precision comes from --bf16/--fp16), "
                "bfloat16, float16 or auto."})
    attn_implementation: str = field(default="sdpa", metadata={
        "help": "Attention kernel: sdpa (default), eager or flash_attention_2. All three keep packed records apart."})
    lora: bool = field(default=False, metadata={"help": "Train a LoRA adapter (peft) instead of all weights."})
    lora_r: int = field(default=16, metadata={"aliases": ["--lora_rank", "--lora-rank"], "help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha (scale = alpha / rank)."})
    lora_dropout: float = field(default=0.05, metadata={"help": "Dropout on the LoRA input."})
    lora_target_modules: str = field(default="all-linear", metadata={
        "aliases": ["--lora_targets", "--lora-targets"],
        "help": "Comma-separated module names (q_proj,v_proj) or all-linear (default)."})


@dataclass
class RunArguments:
    config: str | None = field(default=None, metadata={
        "help": "YAML file with any of these flags as keys (command-line flags override it)."})
    resume: bool = field(default=False, metadata={
        "help": "Resume from the last checkpoint in --output-dir (same as --resume_from_checkpoint LAST)."})
    overwrite_output_dir: bool = field(default=False, metadata={
        "help": "Replace the previous run in --output-dir (its model, report and checkpoints are deleted first). "
                "transformers 4's flag; a folder collama-train did not write is never replaced."})
    eval_configs: str | None = field(default=None, metadata={
        "help": "After training, evaluate on these MulCo configs (collama_train.evaluate); results in RUN/eval/."})
    eval_limit: int | None = field(default=None, metadata={
        "help": "Records per leaf (task x subtask x lang x plang) of each evaluated config (default: all)."})
    eval_max_new_tokens: int = field(default=256, metadata={"help": "Generation length for --eval-configs."})
    quiet: bool = field(default=False, metadata={
        "aliases": ["-q"],
        "help": "No progress bar, per-step lines or notes (warnings, errors and the run report stay)."})


def __getattr__(name: str):
    """``args.TrainingArguments`` still works; the class lives in :mod:`collama_train.training_args` (slow import)."""
    if name == "TrainingArguments":
        from .training_args import TrainingArguments

        return TrainingArguments
    raise AttributeError(name)


#: transformers flags shown in the short --help (the rest: --help-all), with one line each
COMMON_TRAINING_FLAGS = (
    ("--output-dir", "run folder: checkpoints, model, collama_run.json (required)"),
    ("--num_train_epochs", "epochs (default 3)"), ("--max_steps", "stop after this many optimizer steps (-1: epochs)"),
    ("--per_device_train_batch_size", "rows per device and step (packed rows with --packing)"),
    ("--gradient_accumulation_steps", "steps whose gradients add up to one update"),
    ("--learning_rate", "peak learning rate (default 5e-5)"), ("--lr_scheduler_type", "linear, cosine, constant, ..."),
    ("--warmup_steps", "warm-up steps (below 1: a ratio of all steps)"), ("--weight_decay", "AdamW weight decay"),
    ("--optim", "optimizer (default adamw_torch_fused)"), ("--bf16 / --fp16", "mixed precision (GPU)"),
    ("--deepspeed", "zero2, zero3, zero3_offload or a JSON file"),
    ("--activation_checkpointing", "recompute activations in backward (less memory)"),
    ("--save_strategy / --save_steps", "checkpoints (no, steps, epoch)"), ("--logging_steps", "log every N steps"),
    ("--seed", "seed of the mixture sampling, the order and the init"),
    ("--report_to", "none (default), tensorboard, wandb, ..."),
)


def _field_lines(cls) -> list[str]:
    lines = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        default = f.default if f.default is not dataclasses.MISSING else None
        shown = "" if default in (None, False, "") else f" (default {default})"
        if f.name == "max_length":  # settled per model: settle_max_length
            shown = f" (default: the smaller of {DEFAULT_MAX_LENGTH} and the model's max_position_embeddings)"
        helptext = " ".join(str(f.metadata.get("help", "")).split())
        lines.append(f"  --{f.name.replace('_', '-')}{shown}\n      {helptext}")
    return lines


def short_help() -> str:
    """``collama-train train --help``: our flags first, the common transformers ones, a pointer to the rest.
    Built from the dataclasses without importing transformers (under a second)."""
    from .data import DataArguments

    out = [USAGE_TRAIN, ""]
    for title, cls in (("model", ModelArguments), ("data", DataArguments), ("run", RunArguments)):
        out += [f"{title} flags:", *_field_lines(cls), ""]
    out.append("common transformers TrainingArguments flags:")
    out += [f"  {name:<34} {text}" for name, text in COMMON_TRAINING_FLAGS]
    out += ["", "Every other transformers TrainingArguments flag is accepted too (dashes or underscores):",
            "  collama-train train --help-all      lists all of them", "", EXAMPLES_TRAIN]
    return "\n".join(out)


USAGE_TRAIN = """usage: collama-train [train] [RUN.yaml] --model PATH --data FOLDER_OR_REPO --output-dir RUN [flags]

Fine-tune a causal LM on MulCo configs (transformers Trainer; torchrun and deepspeed launchers work).
A YAML file (first argument, or --config FILE) gives any flag as a key; the command line overrides it.
  -q, --quiet   no progress bar, no per-step lines (warnings, errors and the run report stay)"""

EXAMPLES_TRAIN = """examples:
  collama-train --model out/tiny --data out/sample --configs all --output-dir runs/demo --packing
  collama-train train run.yaml --learning_rate 1e-4
  torchrun --nproc_per_node 8 -m collama_train --model M --data collama/mulco --deepspeed zero3 --bf16 --output-dir runs/x"""


def make_parser():
    """The ``HfArgumentParser`` over all four groups."""
    from transformers import HfArgumentParser

    from .data import DataArguments
    from .training_args import TrainingArguments

    return HfArgumentParser((ModelArguments, DataArguments, RunArguments, TrainingArguments),
                            prog="collama-train", description="Fine-tune a causal LM on MulCo configs.")


def _normalise_argv(argv: list[str]) -> list[str]:
    out = []
    for a in argv:
        if a.startswith("--"):
            name, eq, value = a[2:].partition("=")
            key = name.replace("-", "_")
            if key in RENAMED and key != "model_name_or_path":  # that one is an alias of --model already
                a = f"--{RENAMED[key]}" + (eq + value if eq else "")
        out.append(a)
    return out


def _yaml_defaults(path: str, known: set[str]) -> dict:
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ArgsError(f"--config {path}: no such file")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ArgsError(f"--config {path}: not valid YAML{where}: {getattr(e, 'problem', e)}") from None
    if not isinstance(data, dict):
        raise ArgsError(f"--config {path}: expected a mapping of flag names to values, got {type(data).__name__}")
    out = {}
    for key, value in data.items():
        k = str(key).lstrip("-").replace("-", "_")
        k = RENAMED.get(k, k)
        if k not in known:
            import difflib

            close = difflib.get_close_matches(k, known, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ArgsError(f"--config {path}: unknown key {key!r}{hint}")
        if k == "config":
            raise ArgsError(f"--config {path}: a config file cannot name another config file")
        out[k] = value
    return out


def _raise(message: str):
    raise ArgsError(message)


@dataclass
class Parsed:
    """The parsed flags per group, as plain dicts (nothing constructed yet)."""

    model: dict
    data: dict
    run: dict
    training: dict
    argv: list[str]
    #: the fields the user set (command line or --config file); the others hold their defaults
    given: frozenset = frozenset()


def parse(argv: list[str] | None = None) -> Parsed:
    """Parse ``argv`` (and ``--config``) into per-group dicts; raises :class:`ArgsError` (one line)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and not argv[0].startswith("-"):  # `collama-train train run.yaml` (llamafactory-cli's habit)
        if not argv[0].endswith((".yaml", ".yml")) and not Path(argv[0]).is_file():
            raise ArgsError(f"unknown argument {argv[0]} (a run file is a .yaml path; flags start with --)")
        argv = ["--config", argv[0], *argv[1:]]
    argv = _normalise_argv(argv)
    parser = make_parser()
    groups = parser.dataclass_types
    known = {f.name for g in groups for f in dataclasses.fields(g) if f.init}

    # --config first: its values become the parser's defaults, so the command line wins.
    import argparse

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config")
    pre.error = _raise  # type: ignore[method-assign]
    from_file: dict = {}
    if pre.parse_known_args(argv)[0].config:
        from_file = _yaml_defaults(pre.parse_known_args(argv)[0].config, known)
        parser.set_defaults(**from_file)

    parser.error = _raise  # type: ignore[method-assign]
    namespace, rest = parser.parse_known_args(args=argv)
    if rest:
        raise ArgsError(unknown_argument(parser, rest[0]))
    values = vars(namespace)
    dicts = []
    for g in groups:
        dicts.append({f.name: values[f.name] for f in dataclasses.fields(g) if f.init and f.name in values})
    return Parsed(model=dicts[0], data=dicts[1], run=dicts[2], training=dicts[3], argv=argv,
                  given=frozenset(from_file) | _given_on_command_line(parser, argv))


def _given_on_command_line(parser, argv: list[str]) -> frozenset:
    """The destinations of the options present in ``argv`` (``--x``, ``--x=v``, any alias)."""
    by_option = {o: a.dest for a in parser._actions for o in a.option_strings}
    return frozenset(by_option[a.split("=", 1)[0]] for a in argv if a.split("=", 1)[0] in by_option)


#: The longest rows trained when --max-length is not given (shorter when the model takes fewer positions).
DEFAULT_MAX_LENGTH = 2048


def settle_max_length(parsed: Parsed, config) -> str | None:
    """``--max-length`` not given: the smaller of 2048 and the model's ``max_position_embeddings``; returns
    the line to log. A length the user gave is kept (``check`` refuses it when too long)."""
    if "max_length" in parsed.given:
        return None
    max_pos = getattr(config, "max_position_embeddings", None)
    length = min(DEFAULT_MAX_LENGTH, max_pos) if isinstance(max_pos, int) and max_pos > 1 else DEFAULT_MAX_LENGTH
    parsed.data["max_length"] = length
    limit = f"the model's max_position_embeddings is {max_pos}" if max_pos else "the model names no position limit"
    return f"max length {length} tokens (--max-length not given: the smaller of {DEFAULT_MAX_LENGTH} and the model's limit; {limit})"


#: (group, field) -> (lowest allowed, open at the low end, what to give): checked before the model loads
#: (transformers and torch would reject most of these only after loading it, some never).
RANGES = {
    ("training", "learning_rate"): (0, False, "0 or more, e.g. 2e-5"),
    ("training", "per_device_train_batch_size"): (1, False, "1 or more"),
    ("training", "per_device_eval_batch_size"): (1, False, "1 or more"),
    ("training", "gradient_accumulation_steps"): (1, False, "1 or more"),
    ("training", "num_train_epochs"): (0, True, "more than 0"),
    ("training", "weight_decay"): (0, False, "0 or more"),
    ("training", "warmup_steps"): (0, False, "0 or more (below 1: a ratio of the steps)"),
    ("training", "max_grad_norm"): (0, False, "0 (no clipping) or more"),
    ("training", "logging_steps"): (0, True, "more than 0"),
    ("training", "save_steps"): (0, True, "more than 0"),
    ("training", "dataloader_num_workers"): (0, False, "0 or more"),
    ("model", "lora_r"): (1, False, "1 or more, e.g. 16"),
    ("model", "lora_alpha"): (0, True, "more than 0, e.g. 32"),
    ("model", "lora_dropout"): (0, False, "from 0 up to (not including) 1"),
}


def check_ranges(parsed: Parsed) -> None:
    """Every numeric flag in :data:`RANGES` (and --max_steps: -1 or 1 or more); one line naming the flag."""
    for (group, name), (low, open_low, want) in RANGES.items():
        value = getattr(parsed, group).get(name)
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        bad = value <= low if open_low else value < low
        if name == "lora_dropout" and value >= 1:
            bad = True
        if bad:
            raise ArgsError(f"--{name} {value:g}: must be {want}")
    steps = parsed.training.get("max_steps")
    if isinstance(steps, int) and (steps == 0 or steps < -1):
        raise ArgsError(f"--max_steps {steps}: give 1 or more, or -1 (train --num_train_epochs epochs)")


#: --report_to names whose package transformers imports only when the Trainer starts
REPORTERS = {"wandb": "wandb", "tensorboard": "tensorboard", "mlflow": "mlflow", "comet_ml": "comet_ml",
             "clearml": "clearml", "neptune": "neptune", "codecarbon": "codecarbon", "dvclive": "dvclive",
             "swanlab": "swanlab", "trackio": "trackio", "azure_ml": "azureml", "dagshub": "dagshub"}


def check_report_to(training: dict) -> None:
    """--report_to names an installed logger (transformers raises a RuntimeError at Trainer start otherwise)."""
    value = training.get("report_to")
    names = value if isinstance(value, (list, tuple)) else [x.strip() for x in str(value or "").split(",")]
    from transformers.integrations import integration_utils as iu

    for name in names:
        if name in ("", "none", "all") or name not in REPORTERS:
            continue  # 'all' takes whatever is installed; an unknown name is transformers' own one-line error
        available = getattr(iu, f"is_{REPORTERS[name].replace('_ml', '')}_available", None)
        if available is not None and not available():
            raise ArgsError(f"--report_to {name}: the {REPORTERS[name]} package is not installed "
                            f"(pip install {REPORTERS[name]}), or leave the flag out (--report_to none)")


def resolve_deepspeed(value: str | dict | None) -> str | dict | None:
    """``zero2``/``zero3``/``zero3_offload`` -> the shipped json; a file must exist and parse (one-line error)."""
    if value is None or value == "" or isinstance(value, dict):
        return value or None
    if value in DEEPSPEED_NAMES:
        return str(resources.files(__package__).joinpath("deepspeed", f"{value}.json"))
    p = Path(value)
    if not p.is_file():
        raise ArgsError(f"--deepspeed {value}: no such file (or use one of: {', '.join(DEEPSPEED_NAMES)})")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ArgsError(f"--deepspeed {value}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except UnicodeDecodeError:
        raise ArgsError(f"--deepspeed {value}: not a UTF-8 text file") from None
    if not isinstance(data, dict):
        raise ArgsError(f"--deepspeed {value}: expected a JSON object, got {type(data).__name__}")
    return str(p.resolve())


def deepspeed_for_this_machine(value: str | dict | None) -> str | dict | None:
    """The DeepSpeed config to hand to ``TrainingArguments`` on this machine: unchanged with a GPU.

    Without one, a config that brings its own ``optimizer`` block (the shipped ones do not: Trainer
    builds the optimizer and its parameter groups) gets ``"torch_adam": true``, so DeepSpeed runs
    ``torch.optim.AdamW`` instead of compiling its fused Adam op on the CPU (minutes). A CPU-only
    choice, made here and never written into a shipped file."""
    if value is None or has_gpu():
        return value
    config = value if isinstance(value, dict) else json.loads(Path(value).read_text(encoding="utf-8"))
    opt = config.get("optimizer")
    if not isinstance(opt, dict) or str(opt.get("type", "")).lower() not in ("adam", "adamw"):
        return value
    params = opt.get("params") or {}
    if "torch_adam" in params:
        return value
    return {**config, "optimizer": {**opt, "params": {**params, "torch_adam": True}}}


def has_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def cpu_deepspeed_quiet() -> None:
    """Without a GPU, tell DeepSpeed it runs on the CPU (transformers imports it in every run; left to
    detect, it prints a warning line about a missing accelerator each time)."""
    if "DS_ACCELERATOR" not in os.environ and not has_gpu():
        os.environ["DS_ACCELERATOR"] = "cpu"


def settle_precision(training: dict, warn=print) -> None:
    """``--fp16``/``--bf16``/``--tf32`` without a GPU: turned off with one warning line (training runs in fp32)."""
    flags = [f"--{k}" for k in ("fp16", "bf16", "tf32") if training.get(k)]
    if not flags or has_gpu():
        return
    warn(f"collama-train: warning: {' '.join(flags)} ignored: no CUDA GPU here, training in fp32 on the CPU")
    training["fp16"] = training["bf16"] = False
    training["tf32"] = None


def build(parsed: Parsed):
    """Construct ``(ModelArguments, DataArguments, RunArguments, TrainingArguments)`` from validated dicts."""
    from .data import DataArguments
    from .training_args import TrainingArguments

    seen = str(parsed.training.get("include_num_input_tokens_seen", "non_padding")).lower()
    seen = {"true": "all", "yes": "all", "1": "all", "false": "no", "0": "no"}.get(seen, seen)
    parsed.training["include_num_input_tokens_seen"] = seen
    return (ModelArguments(**parsed.model), DataArguments(**parsed.data), RunArguments(**parsed.run),
            TrainingArguments(**parsed.training))


def launched_distributed() -> bool:
    """True under torchrun / the deepspeed launcher (they set WORLD_SIZE)."""
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ
