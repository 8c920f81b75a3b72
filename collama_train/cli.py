"""``collama-train``: train (the default), preview, merge, publish, tiny-model.

``collama-train --model M --data OUT --output-dir RUN ...`` trains (the ``train`` subcommand is
implied when the first argument is a flag), so the same command line works under
``python -m collama_train``, ``torchrun -m collama_train`` and ``deepspeed --module collama_train``.
Heavy libraries are imported inside each command.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROG = "collama-train"
COMMANDS = ("train", "preview", "merge", "publish", "tiny-model")
USAGE = f"""usage: {PROG} [train] --model PATH --data FOLDER_OR_REPO --output-dir RUN [flags]
       {PROG} preview --model PATH --data FOLDER_OR_REPO [flags]
       {PROG} merge RUN_OR_ADAPTER --out DIR
       {PROG} publish RUN --repo-id NS/NAME [--merge] [--license ID] [--base-model ID] [--dry-run]
       {PROG} tiny-model --out DIR [--data FOLDER]

  train       fine-tune (every transformers TrainingArguments flag; `{PROG} train --help` lists them)
  preview     what the model will see: mixture, token counts, packing, masked examples; no training
  merge       fold a LoRA adapter into its base model
  publish     upload a run's model to the Hugging Face Hub in one commit, with a model card from the run
  tiny-model  write a tiny random Llama + a tokenizer trained on a MulCo folder's texts (demos, tests)
"""


def _tiny_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"{PROG} tiny-model",
                                description="Write a tiny random Llama and a BPE tokenizer trained on MulCo texts.")
    p.add_argument("--out", required=True, help="folder to write (config, weights, tokenizer)")
    p.add_argument("--data", default=None, help="a built MulCo folder whose texts train the tokenizer "
                                                "(default: the templates' and a few code texts)")
    p.add_argument("--vocab-size", "--vocab_size", type=int, default=1024)
    p.add_argument("--hidden-size", "--hidden_size", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--max-positions", "--max_positions", type=int, default=2048)
    p.add_argument("--seed", type=int, default=0)
    return p


def folder_texts(folder: str | Path):
    """Instruction/input/output texts of every Parquet file under a built MulCo folder (train splits first)."""
    import pyarrow.parquet as pq

    files = sorted(Path(folder).rglob("*.parquet"), key=lambda p: (not p.name.startswith("train"), str(p)))
    for f in files:
        table = pq.read_table(f, columns=[c for c in ("instruction", "input", "output")
                                          if c in pq.read_schema(f).names])
        for col in table.column_names:
            for v in table.column(col).to_pylist():
                if v:
                    yield v


def template_texts() -> list[str]:
    """The prompt templates' fixed text, repeated so a tiny tokenizer learns it as a few tokens."""
    from .prompts import from_name

    t = from_name("alpaca")
    return [t.prompt_input, t.prompt_no_input] * 10


def _default_texts():
    code = ["def add(a, b):\n    return a + b\n", "for i in range(10):\n    print(i)\n",
            "SELECT name FROM users WHERE id = 1;", "func main() {\n\tfmt.Println(\"hi\")\n}\n",
            "写一个函数计算两个数的和。", "Return the sum of two numbers."]
    return [*template_texts(), *code * 4]


#: tiny-model's sizes: (flag, lowest, why); the byte-level BPE needs its 256 bytes and 4 special tokens
TINY_RANGES = (("vocab_size", 260, "256 bytes + 4 special tokens"), ("hidden_size", 4, "4 attention heads"),
               ("layers", 1, ""), ("max_positions", 16, ""))


def _tiny_error(args) -> str | None:
    for name, low, why in TINY_RANGES:
        value = getattr(args, name)
        if value < low:
            return f"--{name.replace('_', '-')} {value}: must be at least {low}" + (f" ({why})" if why else "")
    if args.hidden_size % 4:
        return f"--hidden-size {args.hidden_size}: must be a multiple of 4 (the number of attention heads)"
    return None


def tiny_model(argv: list[str]) -> int:
    args = _tiny_parser().parse_args(argv)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"{PROG} tiny-model: error: --out {args.out}: exists and is not a folder", file=sys.stderr)
        return 2
    bad = _tiny_error(args)
    if bad:
        print(f"{PROG} tiny-model: error: {bad}", file=sys.stderr)
        return 2
    if args.data is not None:
        if not Path(args.data).is_dir():
            print(f"{PROG} tiny-model: error: --data {args.data}: no such folder", file=sys.stderr)
            return 2
        texts = list(folder_texts(args.data))
        if not texts:
            print(f"{PROG} tiny-model: error: --data {args.data}: no Parquet records (build one first: "
                  f"`mulco build --raw-dir RAW --out DIR`, or `--sample` for the bundled sample)", file=sys.stderr)
            return 2
    else:
        texts = _default_texts()
    from .tiny import save_tiny

    texts = [*texts, *template_texts()]
    save_tiny(out, texts, vocab_size=args.vocab_size, hidden_size=args.hidden_size, layers=args.layers,
              max_positions=args.max_positions, seed=args.seed)
    import json

    vocab = json.loads((out / "config.json").read_text(encoding="utf-8"))["vocab_size"]  # what BPE reached
    print(f"tiny model (hidden {args.hidden_size}, {args.layers} layers, vocab {vocab}) "
          f"trained on {len(texts)} texts: {out}")
    return 0


def preview(argv: list[str]) -> int:
    try:
        from . import preview as preview_mod
    except ImportError:
        print(f"{PROG} preview: error: collama_train.preview is not installed in this checkout", file=sys.stderr)
        return 2
    return preview_mod.main(argv)


def merge(argv: list[str]) -> int:
    from . import merge as merge_mod

    return merge_mod.main(merge_mod.make_parser().parse_args(argv))


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C in any subcommand: one line, as mulco does
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `collama-train train --help | head`
        from mulco.toolkit import stdout_closed

        return stdout_closed()


def _main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0 if argv else 2
    if argv[0] == "--version":
        from . import __version__

        print(f"{PROG} {__version__}")
        return 0
    cmd, rest = (argv[0], argv[1:]) if argv[0] in COMMANDS else ("train", argv)
    if cmd == "train" and not argv[0].startswith("-") and argv[0] != "train" and not argv[0].endswith((".yaml", ".yml")):
        import difflib

        close = difflib.get_close_matches(argv[0], COMMANDS, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        print(f"{PROG}: error: unknown command {argv[0]!r}{hint}; commands: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    if cmd in ("tiny-model", "merge"):
        from .args import cpu_deepspeed_quiet

        cpu_deepspeed_quiet()
    if cmd == "tiny-model":
        return tiny_model(rest)
    if cmd == "preview":
        return preview(rest)
    if cmd == "merge":
        return merge(rest)
    if cmd == "publish":
        from .publish import main as publish_main

        return publish_main(rest)
    from .train import main as train_main

    launched = launched_by_a_launcher()  # before the run: a lone process sets LOCAL_RANK for DeepSpeed itself
    return leave(train_main(rest), launched)


def launched_by_a_launcher() -> bool:
    """Started by torchrun or the deepspeed launcher (they set ``LOCAL_RANK``)."""
    import os

    return "LOCAL_RANK" in os.environ


def leave(rc: int, launched: bool) -> int:
    """Return ``rc``; but a rank started by torchrun or deepspeed (``launched``) leaves at once
    after flushing its output, without interpreter finalization. A finished run has saved and
    reported everything by then, and finalization can abort a rank in a C++ destructor of a thread
    still joinable ("terminate called without an active exception", SIGABRT: seen on rank 1 after a
    complete 2-process ZeRO-3 run on a loaded machine), which makes torchrun call the whole run failed.
    ``COLLAMA_FINALIZE=1`` keeps the normal exit."""
    import os

    if not launched or os.environ.get("COLLAMA_FINALIZE") == "1":
        return rc
    import logging

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc if isinstance(rc, int) else 1)


if __name__ == "__main__":
    sys.exit(main())
