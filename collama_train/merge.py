"""``collama-train merge RUN_OR_ADAPTER --out DIR``: fold a LoRA adapter into its base model.

``RUN_OR_ADAPTER`` is a ``--lora`` run folder or any folder with ``adapter_config.json`` (a run's
final folder or one of its ``checkpoint-*``). The base model is the one the adapter names
(``base_model_name_or_path``, an absolute path for runs made by ``collama-train``) unless
``--base`` says otherwise. The merged model and the tokenizer are saved to ``--out`` so that
``AutoModelForCausalLM.from_pretrained(DIR)`` loads a plain model (no peft needed).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

PROG = "collama-train merge"


def make_parser(subparsers=None) -> argparse.ArgumentParser:
    kw = dict(description="Merge a LoRA adapter into its base model and save a plain model.")
    p = subparsers.add_parser("merge", **kw) if subparsers is not None else argparse.ArgumentParser(prog=PROG, **kw)
    p.add_argument("adapter", metavar="RUN_OR_ADAPTER", help="a --lora run folder or an adapter folder")
    p.add_argument("--out", required=True, help="folder for the merged model (must not be a file)")
    p.add_argument("--base", default=None, help="base model folder (default: the one the adapter names)")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"], help="dtype to save in")
    return p


def _check(args) -> tuple[Path, str]:
    adapter = Path(args.adapter)
    if not adapter.is_dir():
        raise ValueError(f"{args.adapter}: no such folder")
    cfg_path = adapter / "adapter_config.json"
    if not cfg_path.is_file():
        raise ValueError(f"{args.adapter}: no adapter_config.json (not a LoRA run or adapter folder; was it trained with --lora?)")
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{cfg_path}: not valid JSON (line {e.lineno}: {e.msg})") from None
    base = args.base or cfg.get("base_model_name_or_path")
    if not base:
        raise ValueError(f"{cfg_path}: names no base model; pass --base")
    if Path(base).exists() and not (Path(base) / "config.json").is_file():
        raise ValueError(f"base model {base}: no config.json in this folder")
    from mulco.toolkit import UnsafeOutputError

    from .outputs import check_merge_out

    try:
        args.out_state = check_merge_out(args.out, adapter, base)
    except UnsafeOutputError as e:
        raise ValueError(str(e)) from None
    return adapter, base


def merge(adapter: str | Path, out: str | Path, base: str | None = None, dtype: str = "float32") -> Path:
    """Load base + adapter, ``merge_and_unload``, save model and tokenizer to ``out``; returns ``out``."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter = Path(adapter)
    if base is None:
        base = json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8"))["base_model_name_or_path"]
    torch_dtype = getattr(torch, dtype)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch_dtype)
    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    merged.config.use_cache = True
    out = Path(out)
    from mulco.toolkit import clear_folder, write_tool_marker

    from . import __version__
    from .outputs import MERGE_MARKER

    if out.is_dir():  # an earlier merge (checked): no stale shard of it stays beside the new weights
        clear_folder(out, "--out")
    out.mkdir(parents=True, exist_ok=True)
    write_tool_marker(out, "collama-train merge", __version__, MERGE_MARKER)
    merged.save_pretrained(out)
    tok_src = adapter if (adapter / "tokenizer_config.json").is_file() else base
    AutoTokenizer.from_pretrained(str(tok_src)).save_pretrained(out)
    return out


def main(args) -> int:
    try:
        adapter, base = _check(args)
    except ValueError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    out = merge(adapter, args.out, base=base, dtype=args.dtype)
    print(f"wrote {out}: base model {base} with the adapter {adapter} merged in (both left unchanged)")
    return 0
