"""``collama-train``: fine-tune a causal LM on MulCo configs with ``transformers.Trainer``.

The flow: parse the flags (:mod:`collama_train.args`) -> check every argument cheaply (one line per
problem, nothing written to ``--output-dir`` yet) -> tokenize once through ``collama_train.data``
(cached; rank 0 first) -> load the model (LoRA when asked) -> ``Trainer`` with the data module's
collator (padded, or packed rows with restarting ``position_ids``) -> save model and
tokenizer (ZeRO-3: the gathered 16-bit weights) -> ``RUN/collama_run.json`` and a summary table ->
optional evaluation (``--eval-configs``).

Why ``Trainer`` and not TRL's ``SFTTrainer``: docs/training.md (the records are tokenized, masked
and packed by ``collama_train.data`` already; SFTTrainer would redo or bypass each step).
"""
from __future__ import annotations

import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .args import (ArgsError, Parsed, build, check_ranges, check_report_to, deepspeed_for_this_machine, launched_distributed, parse,
                   resolve_deepspeed, settle_max_length, settle_precision)

PROG = "collama-train"


@dataclass
class Plan:
    parsed: Parsed
    model_path: str
    tokenizer: Any
    model_config: Any
    deepspeed: str | dict | None
    resume_from: str | None
    clear_output: bool = False


def _is_main() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


_QUIET = False


def _log(msg: str, always: bool = False) -> None:
    """A note on stderr from the main process; -q keeps only ``always`` ones (warnings)."""
    if _is_main() and (always or not _QUIET):
        print(msg, file=sys.stderr, flush=True)


def _last_checkpoint(output_dir: str) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(output_dir) if Path(output_dir).is_dir() else None


def check(parsed: Parsed) -> Plan:
    """Every cheap check, in order; raises :class:`ArgsError` with one line. Writes nothing."""
    m, d, r, t = parsed.model, parsed.data, parsed.run, parsed.training

    # 0. numbers in range, loggers installed
    check_ranges(parsed)
    check_report_to(t)
    # 1. where the run goes (never the data, the model, or a folder collama-train did not write)
    model = _model_path(m)
    clear = _check_output_dir(t, r, model, d.get("data"))
    out = t["output_dir"]
    # 2. DeepSpeed config: a shipped name or a JSON file that parses
    deepspeed = resolve_deepspeed(t.get("deepspeed"))
    t["deepspeed"] = deepspeed
    # 3. the data flags (the data side's cheap checks: mixture syntax, weights, template name, source given)
    template = _check_data(d, t)
    # 4. evaluation after training needs the evaluation module, and its own flags must be valid
    if r.get("eval_configs"):
        _check_eval(m, d, r, out)
    # 5. resume
    resume_from = _resume_from(r, t, out)
    # 6. the model: has a config, a tokenizer with eos, long enough for --max-length
    config, tokenizer = _load_config_and_tokenizer(model)
    note = settle_max_length(parsed, config)
    if note:
        _log(f"{PROG}: {note}")
    _check_model_fits(m, d, model, config, tokenizer, template)
    # 7. --packing keeps records apart only where the family's attention reads restarting position ids
    if d.get("packing"):
        from .data import check_packing

        check_packing(config, m.get("attn_implementation") or "sdpa")
    return Plan(parsed=parsed, model_path=model, tokenizer=tokenizer, model_config=config, deepspeed=deepspeed,
                resume_from=resume_from, clear_output=clear)


#: The marker collama-train writes into its run folder; and files only a run writes (runs from before the marker).
from .outputs import RUN_MARKER  # noqa: E402  (one name for the marker: collama-eval reads it too)

RUN_SIGNS = ("collama_run.json",)


def _check_output_dir(t: dict, r: dict, model: str, data: str | None) -> bool:
    """--output-dir follows mulco's output rules (:func:`mulco.safeout.check_tool_output`); a previous run's
    folder needs --resume or --overwrite_output_dir. Returns True when the folder is to be emptied first."""
    from mulco.toolkit import UnsafeOutputError, check_tool_output

    out = t.get("output_dir")
    if not out:
        raise ArgsError("--output-dir is required (the run folder: checkpoints, model, collama_run.json)")
    protected = [(what, Path(p)) for what, p in (("the model folder", model), ("the data folder", data))
                 if p and Path(p).expanduser().is_dir()]
    try:
        state = check_tool_output(Path(out), flag="--output-dir", program=PROG, marker=RUN_MARKER, signs=RUN_SIGNS,
                                  protected=protected).state
    except UnsafeOutputError as e:
        raise ArgsError(str(e)) from None
    resume = r.get("resume") or t.get("resume_from_checkpoint")
    if resume and r.get("overwrite_output_dir"):
        raise ArgsError("--resume and --overwrite_output_dir: choose one (continue the run, or replace it)")
    if state != "ours" or resume:
        return False
    if not r.get("overwrite_output_dir"):
        raise ArgsError(f"--output-dir {out} holds a previous collama-train run: pass --resume to continue it, "
                        f"--overwrite_output_dir to replace it (its checkpoints are deleted), or choose a new folder")
    return True


def _claim_output_dir(plan: Plan) -> None:
    """Empty a previous run's folder under --overwrite_output_dir (no stale checkpoint to --resume from
    later), then mark the folder as collama-train's (so the next run recognises it, even an interrupted one)."""
    from mulco.toolkit import clear_folder, write_tool_marker

    from . import __version__

    out = Path(plan.parsed.training["output_dir"])
    if plan.clear_output and out.is_dir():
        clear_folder(out, "--output-dir")
        _log(f"{PROG}: --overwrite_output_dir: emptied {out} (the previous run and its checkpoints)")
    out.mkdir(parents=True, exist_ok=True)
    write_tool_marker(out, PROG, __version__, RUN_MARKER)


def _check_data(d: dict, t: dict):
    """The data side's cheap checks; returns the prompt template."""
    from .data import DataArguments, validate_data_args
    from .prompts import from_name

    validate_data_args(DataArguments(**d))
    template = from_name(d.get("template") or "alpaca")
    if d.get("packing") and t.get("use_cache"):
        raise ArgsError("--packing with --use_cache true: a KV cache makes packed records attend to each other; drop --use_cache")
    return template


def _check_eval(m: dict, d: dict, r: dict, out: str) -> None:
    try:
        from .evaluate import runner
    except ImportError as e:
        raise ArgsError(f"--eval-configs needs collama_train.evaluate.runner, which cannot be imported ({e})") from None
    # Resolved now, not after training: config names against --data's test split, --limit, the template
    # and every generation flag (the records are read; a typo fails here with close valid names).
    import mulco

    try:
        runner.prepare(_eval_arguments(runner, d, r, out, model=m.get("model")))
    except (runner.EvalError, mulco.UnknownConfigError, mulco.SelectionError) as e:
        raise ArgsError(f"--eval-configs: {e}") from None


def _resume_from(r: dict, t: dict, out: str) -> str | None:
    """The checkpoint to resume from: --resume_from_checkpoint, or the last one in the run folder under --resume."""
    resume_from = t.get("resume_from_checkpoint")
    if r.get("resume") and not resume_from:
        resume_from = _last_checkpoint(out)
        if resume_from is None:
            raise ArgsError(f"--resume: no checkpoint-* folder in {out} to resume from")
    if resume_from and not Path(resume_from).is_dir():
        raise ArgsError(f"--resume_from_checkpoint {resume_from}: no such folder")
    return resume_from


def _model_path(m: dict) -> str:
    """--model as an absolute folder path when it is a local folder, else the Hub id; checks --dtype too."""
    model = m.get("model")
    if not model:
        raise ArgsError("--model is required (a model folder or a Hub id; the seed's --model_name_or_path works too)")
    if m.get("dtype") not in ("float32", "bfloat16", "float16", "auto"):
        raise ArgsError(f"--dtype {m.get('dtype')}: choose one of float32, bfloat16, float16, auto")
    local = Path(model).expanduser()
    if local.exists():
        if not local.is_dir():
            raise ArgsError(f"--model {model}: not a folder")
        if not (local / "config.json").is_file():
            raise ArgsError(f"--model {model}: no config.json in this folder (not a transformers model)")
        return str(local.resolve())
    if model.startswith((".", "/", "~")) or model.count("/") > 1 or os.sep != "/" and os.sep in model:
        raise ArgsError(f"--model {model}: no such folder")
    return model


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def _load_config_and_tokenizer(model: str):
    """(config, tokenizer) of the model; the tokenizer has an eos token and a pad token (eos when it had none)."""
    from transformers import AutoConfig, AutoTokenizer

    try:
        config = AutoConfig.from_pretrained(model)
    except Exception as e:  # noqa: BLE001 - any failure here is the user's path or Hub id
        raise ArgsError(f"--model {model}: cannot load its config ({_first_line(e)})") from None
    try:
        tokenizer = AutoTokenizer.from_pretrained(model)
    except Exception as e:  # noqa: BLE001
        raise ArgsError(f"--model {model}: cannot load its tokenizer ({_first_line(e)})") from None
    if tokenizer.eos_token_id is None:
        raise ArgsError(f"--model {model}: the tokenizer has no eos token (set eos_token in tokenizer_config.json); "
                        "training needs one to end every answer")
    vocab = getattr(config, "vocab_size", None) or getattr(getattr(config, "text_config", None), "vocab_size", None)
    if vocab and len(tokenizer) > vocab:
        # e.g. a tokenizer class that adds its default pad token (Qwen2's <|endoftext|>) to a vocabulary that has
        # none: training would stop at the first such id with "index out of range" in the embedding
        extra = tokenizer.convert_ids_to_tokens(list(range(vocab, min(len(tokenizer), vocab + 3))))
        raise ArgsError(f"--model {model}: the tokenizer has {len(tokenizer)} tokens but the model's embedding only "
                        f"{vocab} (ids {vocab}+ such as {', '.join(map(repr, extra))} would be out of range); resize "
                        f"the embeddings (model.resize_token_embeddings(len(tokenizer))) and save, or fix the tokenizer")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token  # labels of padding are -100, so pad=eos is safe
    return config, tokenizer


def _check_model_fits(m: dict, d: dict, model: str, config, tokenizer, template) -> None:
    """--max-length fits the model, a chat template has the tokenizer's chat template, --lora has peft."""
    max_pos = getattr(config, "max_position_embeddings", None)
    max_length = d.get("max_length")
    if max_pos and max_length and max_length > max_pos:
        raise ArgsError(f"--max-length {max_length} is longer than the model's max_position_embeddings ({max_pos}); "
                        f"give at most {max_pos}, or leave the flag out to train at min(2048, {max_pos})")
    if template.needs_tokenizer and not getattr(tokenizer, "chat_template", None):
        raise ArgsError(f"--template {template.name}: the tokenizer of {model} has no chat template; use --template alpaca")
    if m.get("lora"):
        try:
            import peft  # noqa: F401
        except ImportError:
            raise ArgsError("--lora needs peft: pip install 'mulco[train]'") from None


def _quiet(parsed: Parsed) -> None:
    """-q: no progress bar, per-step lines or notes; transformers and DeepSpeed say only errors."""
    global _QUIET
    _QUIET = bool(parsed.run.get("quiet"))
    if not _QUIET:
        return
    parsed.training["disable_tqdm"] = True
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import logging

    logging.getLogger("DeepSpeed").setLevel(logging.ERROR)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _setup_distributed(plan: Plan) -> None:
    """DeepSpeed in one plain process needs the launcher's variables; on the CPU it needs gloo."""
    import torch

    t = plan.parsed.training
    if plan.deepspeed and not launched_distributed():
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(_free_port()))
        os.environ.update({"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "1"})
    distributed = plan.deepspeed or int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed and not torch.cuda.is_available():
        from accelerate import PartialState

        if plan.deepspeed:  # accelerate then starts DeepSpeed's comm (gloo) instead of plain torch.distributed
            os.environ["ACCELERATE_USE_DEEPSPEED"] = "true"
            if os.environ.get("COLLAMA_DS_SHM") != "1":
                # DeepSpeed compiles a shared-memory all-reduce op on its first CPU run (~55 s on 2 cores);
                # gloo does the same collectives, and CPU runs are tests and demos (COLLAMA_DS_SHM=1 keeps it).
                import deepspeed.ops

                deepspeed.ops.__compatible_ops__["deepspeed_shm_comm"] = False
        from datetime import timedelta

        # --ddp_timeout bounds every collective here too (transformers passes it only to the group it makes)
        # cpu=True without DeepSpeed: accelerate's distributed type is then MULTI_CPU and Trainer wraps the
        # model in DDP; without it the type stays NO and every rank trained its own unsynchronised copy.
        PartialState(cpu=not plan.deepspeed, backend="gloo",
                     timeout=timedelta(seconds=int(t.get("ddp_timeout") or 1800)))
        cfg = t.get("accelerator_config") or {}
        if isinstance(cfg, str):
            import json

            cfg = json.loads(Path(cfg).read_text()) if Path(cfg).is_file() else json.loads(cfg)
        cfg = dict(cfg)
        cfg["use_configured_state"] = True
        t["accelerator_config"] = cfg


def _load_model(plan: Plan, model_args):
    import torch
    from transformers import AutoModelForCausalLM

    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16, "auto": "auto"}[model_args.dtype]
    model = AutoModelForCausalLM.from_pretrained(plan.model_path, dtype=dtype,
                                                 attn_implementation=model_args.attn_implementation)
    # Packed rows rely on the block-diagonal mask that transformers builds from restarting
    # position_ids only when no KV cache is passed: the cache stays off while training.
    model.config.use_cache = False
    if model_args.lora:
        from peft import LoraConfig, get_peft_model

        targets = model_args.lora_target_modules
        targets = targets if targets == "all-linear" else [x.strip() for x in targets.split(",") if x.strip()]
        model = get_peft_model(model, LoraConfig(r=model_args.lora_r, lora_alpha=model_args.lora_alpha,
                                                 lora_dropout=model_args.lora_dropout, target_modules=targets,
                                                 task_type="CAUSAL_LM"))
    return model


def offload_optimizer(training_args):
    """``(DeepSpeedCPUAdam, kwargs)`` when DeepSpeed offloads optimizer states to the CPU of a GPU
    machine and ``--optim`` is the default AdamW: Trainer still builds the parameter groups (no decay on
    norms and biases), and the step on the offloaded states runs DeepSpeed's CPU Adam, several times
    faster there than ``torch.optim.AdamW``. None otherwise (Trainer's own choice from ``--optim``)."""
    import torch

    ds = getattr(training_args, "hf_deepspeed_config", None)
    if ds is None or not torch.cuda.is_available() or not ds.is_offload():
        return None
    device = ((ds.config.get("zero_optimization") or {}).get("offload_optimizer") or {}).get("device")
    if device != "cpu" or getattr(training_args.optim, "value", training_args.optim) not in ("adamw_torch",
                                                                                            "adamw_torch_fused"):
        return None
    from deepspeed.ops.adam import DeepSpeedCPUAdam

    return DeepSpeedCPUAdam, {"lr": training_args.learning_rate, "betas": (training_args.adam_beta1, training_args.adam_beta2),
                              "eps": training_args.adam_epsilon, "weight_decay": training_args.weight_decay,
                              "adamw_mode": True}


def make_callbacks():
    """Tokens/s in the logs, and a progress bar that shows loss, lr and tokens/s."""
    from transformers import TrainerCallback
    from transformers.trainer_callback import ProgressCallback

    class TokensPerSecond(TrainerCallback):
        """Adds ``tokens_per_s`` (real, non-pad tokens over all ranks since the last log) to each log."""

        def on_train_begin(self, args, state, control, **kwargs):
            self.last = (time.perf_counter(), state.num_input_tokens_seen or 0)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs is None or "loss" not in logs:
                return
            now, seen = time.perf_counter(), state.num_input_tokens_seen or 0
            dt = now - self.last[0]
            logs["tokens_per_s"] = round((seen - self.last[1]) / dt, 1) if dt > 0 else 0.0
            self.last = (now, seen)
            if state.log_history and state.log_history[-1].get("step") == state.global_step:
                state.log_history[-1]["tokens_per_s"] = logs["tokens_per_s"]  # the copy Trainer keeps

    class Progress(ProgressCallback):
        """One compact line per log (step, loss, lr, tokens/s) and the same on the bar."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or self.training_bar is None or not logs:
                return
            if "loss" in logs:
                lr = logs.get("learning_rate")
                post = {"loss": f"{logs['loss']:.4f}", "lr": f"{lr:.2e}" if lr is not None else "-",
                        "tok/s": f"{logs.get('tokens_per_s', 0):.0f}"}
                self.training_bar.set_postfix(post, refresh=False)
                self.training_bar.write(f"step {state.global_step}/{state.max_steps}  " +
                                        "  ".join(f"{k} {v}" for k, v in post.items()))
            elif "train_runtime" not in logs:
                self.training_bar.write(str({k: v for k, v in logs.items() if not isinstance(v, (list, dict))}))

    return TokensPerSecond(), Progress()


def main(argv: list[str] | None = None, callbacks: list | None = None) -> int:
    """Entry point of ``collama-train [train]``; ``callbacks`` are extra ``TrainerCallback`` objects (tests)."""
    from .prompts import TemplateError

    from .args import cpu_deepspeed_quiet

    t0 = time.perf_counter()
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--help-all" in argv:
        from .args import make_parser

        make_parser().print_help()
        return 0
    if "-h" in argv or "--help" in argv:
        from .args import short_help

        print(short_help())
        return 0
    cpu_deepspeed_quiet()
    try:
        parsed = parse(argv)
        _quiet(parsed)
        plan = check(parsed)
    except (ArgsError, TemplateError, ValueError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    try:
        return run(plan, callbacks or [], t0=t0)
    except KeyboardInterrupt:  # Ctrl-C: the checkpoints saved so far stay; --resume continues from the last
        print(f"{PROG}: interrupted (checkpoints saved so far are kept; --resume continues from the last)",
              file=sys.stderr)
        return 130


def run(plan: Plan, callbacks: list, t0: float | None = None) -> int:
    """Train, save, write the run report; then every rank but the main one leaves, and the main one
    evaluates (``--eval-configs``) outside the training's distributed/DeepSpeed context."""
    trained = _train(plan, callbacks, t0)
    if isinstance(trained, int):
        return trained
    report, is_main = trained
    _leave_training_context()
    if not is_main or not plan.parsed.run.get("eval_configs"):
        return 0
    return _evaluate_saved(plan, report)


def _train(plan: Plan, callbacks: list, t0: float | None):
    """Everything up to the run report; returns ``(report or None, is_main)`` or an exit status."""
    import warnings

    import torch

    t0 = time.perf_counter() if t0 is None else t0
    # torch.distributed's deprecation notices, once per collective under DeepSpeed: not the user's concern
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.distributed")
    settle_precision(plan.parsed.training, warn=lambda msg: _log(msg, always=True))
    if not torch.cuda.is_available():
        plan.parsed.training["dataloader_pin_memory"] = False  # pinning needs an accelerator
    plan.parsed.training["deepspeed"] = deepspeed_for_this_machine(plan.deepspeed)
    _setup_distributed(plan)
    model_args, data_args, run_args, training_args = build(plan.parsed)
    tokenizer = plan.tokenizer

    from transformers.trainer_callback import ProgressCallback

    from .data import Collator, prepare
    from .trainer import CollamaTrainer as Trainer  # counts real tokens from the labels (issue 17.9)

    try:
        prepared = prepare(data_args, tokenizer, seed=training_args.seed,
                           main_process_first=training_args.main_process_first)
    except ValueError as e:  # an empty mixture after filters, a config that selects nothing, ...
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    if _is_main():  # the data is there: now the run folder is ours (emptied first under --overwrite_output_dir)
        from .report import oversampling_warning

        warning = oversampling_warning(prepared.report)
        if warning:
            _log(f"{PROG}: {warning}", always=True)
        _claim_output_dir(plan)
    model = _load_model(plan, model_args)
    # Packed rows stay the batch (right-padded) on sdpa/eager for every tokenizer, pad == EOS included
    # (real tokens are counted from the labels, not by pad id); flash-attention reads one flattened row.
    attn = str(getattr(model.config, "_attn_implementation", "") or "")
    collator = Collator(tokenizer, packed=bool(data_args.packing), flatten=attn.startswith("flash"))
    tokens_cb, progress_cb = make_callbacks()
    trainer = Trainer(model=model, args=training_args, train_dataset=prepared.train, eval_dataset=prepared.eval,
                      data_collator=collator, processing_class=tokenizer, callbacks=[tokens_cb, *callbacks],
                      optimizer_cls_and_kwargs=offload_optimizer(training_args))
    if not training_args.disable_tqdm:
        trainer.remove_callback(ProgressCallback)
        trainer.add_callback(progress_cb)
    elif _QUIET:  # disable_tqdm alone prints every log dict instead of the bar
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    result = trainer.train(resume_from_checkpoint=plan.resume_from)
    training_args.resume_from_checkpoint = plan.resume_from

    # The saved config turns the cache back on: generation wants it, training never reads it.
    unwrapped = trainer.accelerator.unwrap_model(trainer.model)
    base = unwrapped.get_base_model() if hasattr(unwrapped, "get_base_model") else unwrapped
    base.config.use_cache = True
    trainer.save_model(training_args.output_dir)
    wall = time.perf_counter() - t0

    report, is_main = None, trainer.is_world_process_zero()
    if is_main:  # the report comes first: whatever evaluation does later, the run is on record
        from .report import build_report, summary, write_report

        report = build_report(argv=plan.parsed.argv, model_args=model_args, data_args=data_args, run_args=run_args,
                              training_args=training_args, data_report=prepared.report, state=trainer.state,
                              train_metrics=result.metrics, wall_time_s=wall, world_size=training_args.world_size,
                              deepspeed=plan.deepspeed, eval_results=None)
        path = write_report(report, training_args.output_dir)
        _log(summary(report))
        _log(f"run report: {path}", always=True)
    trainer.accelerator.wait_for_everyone()
    trainer.accelerator.free_memory()  # the DeepSpeed engine, optimizer states, prepared model
    return report, is_main


def _eval_arguments(runner, data: dict, run: dict, output_dir: str, model: str | None = None):
    return runner.EvalArguments(model=model, data=data.get("data"), configs=run["eval_configs"],
                                limit=run.get("eval_limit"), licenses=data.get("licenses"),
                                template=data.get("template") or "alpaca",
                                max_new_tokens=run.get("eval_max_new_tokens") or 256,
                                out=str(Path(output_dir) / "eval"))


def _leave_training_context() -> None:
    """Drop what training held (so the main process can reload and evaluate on a clean slate):
    transformers' ZeRO-3 switch (else ``from_pretrained`` partitions the reloaded weights into empty
    shards) and the process group (the other ranks leave now and wait on nothing)."""
    import gc

    import torch

    try:
        from transformers.integrations.deepspeed import unset_hf_deepspeed_config

        unset_hf_deepspeed_config()
    except ImportError:
        pass
    _teardown()
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _evaluate_saved(plan: Plan, report: dict) -> int:
    """Evaluate the model the run saved (reloaded like any model, on the GPU when there is one) in
    the main process alone, then add the results to the run report."""
    from .evaluate import backends, runner
    from .report import write_report

    t = plan.parsed.training
    out = t["output_dir"]
    eargs = _eval_arguments(runner, plan.parsed.data, plan.parsed.run, out, model=str(out))
    _log(f"evaluating {out} on {eargs.configs} ({eargs.split} split) -> {eargs.out}")
    try:
        dtype = plan.parsed.model.get("dtype") or "auto"
        model, _ = backends.load_transformers(str(out), dtype=dtype)
        model.eval()
        results = runner.evaluate_model(model, plan.tokenizer, eargs)
    except (runner.EvalError, backends.BackendError) as e:
        print(f"{PROG}: error: evaluation after training failed: {e} (the model and {out}/collama_run.json "
              f"are saved; run collama-eval --model {out} to retry)", file=sys.stderr)
        return 1
    report["eval"] = results
    write_report(report, out)
    _log(f"evaluation: {eargs.out}/results.md; run report updated")
    return 0


def _teardown() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
