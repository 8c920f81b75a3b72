"""Training steps on a tiny model, packed vs padded, as useful (non-pad) tokens per second.

Runs, in one process and on the same tokenized records (``collama_train.data.prepare``):
  1. collama-train, padded    (the real entry point, ``transformers.Trainer`` + our Collator)
  2. collama-train, packed    (same, ``--packing``: BFD rows, the packed rows as the batch)
  2b. the same with a tokenizer WITHOUT a pad token (pad = EOS, as Llama-2/3, Mistral, Qwen2.5 base):
      the packed rows as the batch (the default since issue 17.9) and flattened into one row (what
      collama-train did before for such tokenizers, and does for flash-attention)
  3. TRL SFTTrainer, padded   (fed the same pre-tokenized records; its own collator)
  4. TRL SFTTrainer, packed   (``packing=True``, its own BFD + padding-free collator)
and prints, per way: step time, useful tokens/s (tokens of real records; padding excluded), the
first-step loss (the four must agree: same records, same seed, one batch holds them all at step 1
is not required, so the loss is for each way's own first batch) and peak tokens per step.
The first step of each way is a warm-up and is not timed.

    .venv/bin/python bench/bench_train.py [--data OUT] [--hidden 64] [--steps 8] [--max-length 512]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _timer():
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.times, self.tokens, self.losses = [], [], []

        def on_step_begin(self, args, state, control, **kw):
            self._t, self._n = time.perf_counter(), state.num_input_tokens_seen or 0

        def on_step_end(self, args, state, control, **kw):
            self.times.append(time.perf_counter() - self._t)
            self.tokens.append((state.num_input_tokens_seen or 0) - self._n)

        def on_log(self, args, state, control, logs=None, **kw):
            if logs and "loss" in logs:
                self.losses.append(logs["loss"])

        def figures(self):
            t, n = sum(self.times[1:]), sum(self.tokens[1:])
            return {"step_s": t / max(len(self.times) - 1, 1), "tokens_per_s": n / t if t else 0.0,
                    "tokens_per_step": n / max(len(self.tokens) - 1, 1), "first_loss": self.losses[0] if self.losses else None}

    return StepTimer()


def run_collama(model, data, work, args, packed: bool, flatten: bool | None = None, tag: str = ""):
    """One collama-train run; ``flatten`` forces the packed layout (None: collama-train's own choice)."""
    import collama_train.data as data_pkg
    from collama_train.train import main

    timer = _timer()
    argv = ["--model", str(model), "--data", str(data), "--output-dir", str(work / f"{'packed' if packed else 'padded'}{tag}"),
            "--tokenized_cache_dir", str(work / "cache"), "--max-length", str(args.max_length),
            "--max_steps", str(args.steps), "--per_device_train_batch_size", str(args.batch), "--save_strategy", "no",
            "--disable_tqdm", "true", "--logging_steps", "1", "--learning_rate", "1e-3", "--seed", "0",
            "--dataloader_pin_memory", "false", "--report_to", "none"] + (["--packing"] if packed else [])
    real = data_pkg.Collator
    if flatten is not None:
        data_pkg.Collator = lambda tok, packed=False, flatten_=flatten, **kw: real(tok, packed=packed, **{**kw, "flatten": flatten_})
    try:
        assert main(argv, callbacks=[timer]) == 0
    finally:
        data_pkg.Collator = real
    return timer.figures()


def no_pad_copy(model: Path, dest: Path) -> Path:
    """The tiny model with a tokenizer that has no pad token (collama-train then pads with EOS)."""
    import json
    import shutil

    shutil.copytree(model, dest)
    cfg = json.loads((dest / "tokenizer_config.json").read_text())
    cfg.pop("pad_token", None)
    (dest / "tokenizer_config.json").write_text(json.dumps(cfg))
    return dest


def run_trl(model_path, data, work, args, packed: bool):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    import torch
    from trl import SFTConfig, SFTTrainer

    from collama_train.data import DataArguments, prepare

    tok = AutoTokenizer.from_pretrained(model_path)
    prepared = prepare(DataArguments(data=str(data), max_length=args.max_length, tokenized_cache_dir=str(work / "cache")),
                       tok, seed=0)
    ds = prepared.train.remove_columns([c for c in prepared.train.column_names if c not in ("input_ids", "labels")])
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype="float32")
    model.config.use_cache = False
    timer = _timer()
    cfg = SFTConfig(output_dir=str(work / f"trl_{packed}"), max_steps=args.steps, per_device_train_batch_size=args.batch,
                    learning_rate=1e-3, seed=0, logging_steps=1, save_strategy="no", report_to="none",
                    disable_tqdm=True, packing=packed, max_length=args.max_length, dataloader_pin_memory=False,
                    include_num_input_tokens_seen="non_padding", lr_scheduler_type="linear",
                    bf16=torch.cuda.is_available())
    trainer = SFTTrainer(model=model, args=cfg, train_dataset=ds, processing_class=tok, callbacks=[timer])
    trainer.train()
    return timer.figures()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", help="a built MulCo folder (default: build the bundled sample into a temp dir)")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument("--no-trl", action="store_true", help="skip the TRL SFTTrainer rows")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import io
    import contextlib

    import torch

    work = Path(tempfile.mkdtemp(prefix="bench_train_"))
    data = Path(args.data) if args.data else work / "sample"
    if not args.data:
        from mulco.cli import main as mulco_main

        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert mulco_main(["build", "--sample", "--out", str(data)]) == 0
    from collama_train.cli import folder_texts, template_texts
    from collama_train.tiny import save_tiny

    model = save_tiny(work / "tiny", [*folder_texts(data), *template_texts()], vocab_size=1024,
                      hidden_size=args.hidden, layers=args.layers, max_positions=max(2048, args.max_length))
    nopad = no_pad_copy(model, work / "tiny_nopad")
    ways = [("collama-train padded", lambda: run_collama(model, data, work, args, False)),
            ("collama-train packed", lambda: run_collama(model, data, work, args, True)),
            ("  no pad token, rows", lambda: run_collama(nopad, data, work, args, True, tag="_nopad")),
            ("  no pad token, 1 row", lambda: run_collama(nopad, data, work, args, True, flatten=True, tag="_nopad1"))]
    if not args.no_trl:
        ways += [("TRL SFTTrainer padded", lambda: run_trl(model, data, work, args, False)),
                 ("TRL SFTTrainer packed", lambda: run_trl(model, data, work, args, True))]
    rows = []
    for name, fn in ways:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            rows.append((name, fn()))
    print(f"tiny Llama hidden {args.hidden}, {args.layers} layers; batch {args.batch}, max length {args.max_length}, "
          f"{args.steps} steps (first not timed); torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'way':<24}{'step s':>9}{'useful tok/s':>14}{'tok/step':>10}{'first loss':>12}")
    for name, f in rows:
        print(f"{name:<24}{f['step_s']:>9.3f}{f['tokens_per_s']:>14.0f}{f['tokens_per_step']:>10.0f}"
              f"{f['first_loss'] if f['first_loss'] is not None else float('nan'):>12.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
