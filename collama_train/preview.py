"""``collama-train preview``: what the model will see, without training.

Takes the same flags as training (``--model``/``--model_name_or_path``, the data flags, ``--seed``,
``--config run.yaml``; training-only flags are accepted and ignored) and prints:

- the mixture table: records per config before and after weighting, how it was sampled, records
  trained after drops, tokens;
- token counts, prompts too long (dropped) and responses truncated;
- the packing efficiency (best-fit-decreasing into ``--max-length``) next to what padding to the
  longest in random batches of 8 gives;
- ``--examples N`` (default 3) tokenized examples, the masked (prompt) part marked: dimmed on a
  terminal, between ``[[`` and ``]]`` otherwise (or always with ``--marks brackets``).

It tokenizes through the same cache as training, so a preview makes the training run's
tokenization a cache hit (and the other way round).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field, fields

PROG = "collama-train preview"
DIM, RESET = "\x1b[2m", "\x1b[0m"


@dataclass
class PreviewArguments:
    model: str | None = field(default=None, metadata={
        "aliases": ["--model_name_or_path", "--model-name-or-path"],
        "help": "Model folder (or Hub id) whose tokenizer is used; --model_name_or_path is the seed's spelling."})
    seed: int = field(default=42, metadata={"help": "The run's seed (mixture sampling and order)."})
    examples: int = field(default=3, metadata={"help": "How many tokenized examples to show."})
    marks: str = field(default="auto", metadata={
        "help": "How the masked part is marked: auto (dim on a terminal, brackets otherwise), dim or brackets."})


def make_parser(subparsers=None):
    """An ``HfArgumentParser`` over :class:`PreviewArguments` and ``DataArguments`` (a ``preview``
    subcommand of ``subparsers`` when given)."""
    from transformers import HfArgumentParser

    from .data import DataArguments

    types = (PreviewArguments, DataArguments)
    desc = "What the model will see: mixture, token counts, packing efficiency, masked examples. No training."
    if subparsers is not None:
        parent = HfArgumentParser(types, add_help=False)
        return subparsers.add_parser("preview", parents=[parent], help=desc.split(":")[0], description=desc)
    return HfArgumentParser(types, prog=PROG, description=desc)


def _from_namespace(ns: argparse.Namespace):
    from .data import DataArguments

    pick = lambda cls: cls(**{f.name: getattr(ns, f.name) for f in fields(cls) if hasattr(ns, f.name)})  # noqa: E731
    return pick(PreviewArguments), pick(DataArguments)


def _parse_argv(argv: list[str]):
    """The training command line (via collama_train.args when present) plus --examples/--marks."""
    from .data import DataArguments

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--examples", type=int, default=3)
    pre.add_argument("--marks", default="auto")
    own, rest = pre.parse_known_args(argv)
    try:
        from . import args as run_args
    except ImportError:
        run_args = None
    if run_args is not None and hasattr(run_args, "parse"):
        parsed = run_args.parse(rest)
        _settle_max_length(run_args, parsed)
        p = PreviewArguments(model=parsed.model.get("model"), seed=parsed.training.get("seed", 42) or 42,
                             examples=own.examples, marks=own.marks)
        return p, DataArguments(**parsed.data)
    ns = make_parser().parse_args(argv)
    return _from_namespace(ns)


def _settle_max_length(run_args, parsed) -> None:
    """No --max-length: the same default as training (min(2048, the model's positions)), when the model's
    config can be read; otherwise the tokenizer's loading says what is wrong."""
    if "max_length" in parsed.given or not parsed.model.get("model") or not hasattr(run_args, "settle_max_length"):
        return
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(parsed.model["model"])
    except Exception:  # noqa: BLE001 - reported by load_tokenizer with the model's path
        return
    run_args.settle_max_length(parsed, config)


def main(args=None) -> int:
    """Run the preview; ``args``: an argv list (default ``sys.argv[1:]``) or a parsed Namespace."""
    try:
        if isinstance(args, argparse.Namespace):
            pargs, dargs = _from_namespace(args)
        else:
            argv = list(sys.argv[1:] if args is None else args)
            if "-h" in argv or "--help" in argv:
                print(make_parser().format_help().rstrip()
                      + "\n\nEvery `collama-train` training flag (and --config run.yaml) is accepted too, and ignored.")
                return 0
            pargs, dargs = _parse_argv(argv)
        return run(pargs, dargs)
    except (ValueError, OSError) as e:  # DataError, ArgsError, TemplateError, UnknownConfigError, I/O: one line
        text = f"{e.filename}: {e.strerror}" if isinstance(e, OSError) and e.strerror and e.filename else str(e)
        print(f"{PROG}: error: {' '.join(text.split())}", file=sys.stderr)
        return 2


def load_tokenizer(model: str | None):
    from pathlib import Path

    from .data import DataError

    if not model:
        raise DataError("--model is required (its tokenizer is what the preview tokenizes with)")
    p = Path(model).expanduser()
    if not p.exists() and (model.startswith((".", "/", "~")) or model.count("/") > 1):
        raise DataError(f"--model {model}: no such folder")
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(p) if p.exists() else model)
    except Exception as e:  # noqa: BLE001 - the user's path or Hub id
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise DataError(f"--model {model}: cannot load its tokenizer ({first})") from None


def run(pargs: PreviewArguments, dargs, out=None) -> int:
    from .data import check_tokenizer, prepare, validate_data_args

    out = out or sys.stdout
    validate_data_args(dargs)
    if pargs.marks not in ("auto", "dim", "brackets"):
        raise ValueError(f"--marks {pargs.marks!r}: choose auto, dim or brackets")
    tokenizer = load_tokenizer(pargs.model)
    check_tokenizer(tokenizer)
    prepared = prepare(dargs, tokenizer, seed=pargs.seed)
    dim = pargs.marks == "dim" or (pargs.marks == "auto" and getattr(out, "isatty", lambda: False)())
    print(render_report(prepared.report), file=out)
    print(file=out)
    print(render_examples(prepared.train, tokenizer, pargs.examples, dim=dim, seed=pargs.seed), file=out)
    return 0


def _table(rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for k, r in enumerate(rows):
        lines.append("  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_report(report: dict) -> str:
    """The mixture table and the token/packing figures of a ``prepare()`` report."""
    tr = report["train"]
    src = report["source"]
    where = src.get("data") or src.get("data_path")
    rev = src.get("revision")
    head = [f"data: {where}" + (f" @ {rev[:12]}" if rev else "") + f"  (fingerprint {report['fingerprint'][:12]})",
            f"split: {src.get('split', 'train')}  template: {report['template']}  max length: {tr['max_length']}  "
            f"packing: {'on' if tr['packed'] else 'off'}  seed: {report['seed']}"
            + (f"  licences: {report['licenses']}" if report.get("licenses") else "")
            + (f"  max samples: {report['max_samples']}" if report.get("max_samples") else "")]
    rows = [["config", "weight", "before", "after", "sampling", "trained", "tokens", "dropped", "truncated"]]
    for name, c in tr["configs"].items():
        rows.append([name, "-" if c["weight"] is None else f"{c['weight']:g}", str(c["records_before"]),
                     str(c["records_after"]), c["sampling"], str(c["records_trained"]), f"{c['tokens']:,}",
                     str(c["dropped_prompt_too_long"]), str(c["truncated"])])
    tot = lambda k: sum(c[k] for c in tr["configs"].values())  # noqa: E731
    rows.append(["total", "", str(tot("records_before")), str(tot("records_after")), "", str(tr["records"]),
                 f"{tr['tokens']:,}", str(tr["dropped_prompt_too_long"]), str(tr["truncated"])])
    resp = tr["response_tokens"]
    lines = head + ["", _table(rows, right={2, 3, 5, 6, 7, 8}), "",
                    f"tokens: {tr['tokens']:,} in {tr['records']:,} records (mean {tr['length_mean']:.1f}, max "
                    f"{tr['length_max']}); trained on {resp:,} response tokens ({resp / max(tr['tokens'], 1):.1%})",
                    f"dropped (prompt leaves < 4 of {tr['max_length']} tokens for its response): "
                    f"{tr['dropped_prompt_too_long']}; responses cut to fit (no EOS): {tr['truncated']}",
                    f"efficiency (real tokens / tokens computed): packing (BFD into {tr['max_length']}) "
                    f"{tr['packing_efficiency']:.3f}  vs  padding to the longest (random batches of 8) "
                    f"{tr['padding_efficiency_batch8']:.3f}"
                    + (f"  -> {tr['rows']:,} packed rows" if tr["packed"] else "")]
    ev = report.get("eval")
    if ev:
        lines.append(f"eval: {ev['records']:,} records, {ev['tokens']:,} tokens; dropped {ev['dropped_prompt_too_long']}, "
                     f"truncated {ev['truncated']}")
    lines.append(f"cache: {'hit' if report.get('cache_hit') else 'built'} {report['cache_dir']}")
    return "\n".join(lines)


def split_records(row: dict) -> list[tuple[list[int], list[int]]]:
    """The records of a (possibly packed) row as (input_ids, labels) pairs."""
    ids, labels = list(row["input_ids"]), list(row["labels"])
    pos = row.get("position_ids")
    if pos is None:
        return [(ids, labels)]
    starts = [i for i, p in enumerate(pos) if p == 0] + [len(ids)]
    return [(ids[a:b], labels[a:b]) for a, b in zip(starts, starts[1:])]


def render_example(ids: list[int], labels: list[int], tokenizer, dim: bool) -> str:
    """The decoded example with its masked runs (labels -100) marked."""
    out, i = [], 0
    while i < len(ids):
        masked = labels[i] == -100
        j = i
        while j < len(ids) and (labels[j] == -100) == masked:
            j += 1
        text = tokenizer.decode(ids[i:j], skip_special_tokens=False, clean_up_tokenization_spaces=False)
        out.append((f"{DIM}{text}{RESET}" if dim else f"[[{text}]]") if masked else text)
        i = j
    return "".join(out)


def render_examples(dataset, tokenizer, n: int, dim: bool = False, seed: int = 0) -> str:
    """``n`` examples from rows picked at random (seeded): packed rows start with their longest
    record, so the first rows would show only the longest records."""
    import random

    legend = ("masked (prompt, no loss) is dimmed" if dim else "masked (prompt, no loss) is between [[ and ]]")
    blocks = [f"{n} tokenized example{'s' if n != 1 else ''} ({legend}; the rest is trained on):"] if n else []
    shown = 0
    order = list(range(len(dataset)))
    random.Random(seed).shuffle(order)
    for k in order:
        row = dataset[k]
        for ids, labels in split_records(row)[-1:]:
            if shown >= n:
                break
            trained = sum(1 for x in labels if x != -100)
            blocks.append(f"--- example {shown + 1}: {len(ids)} tokens, {trained} trained, ends with "
                          f"{'EOS' if ids and ids[-1] == tokenizer.eos_token_id else 'no EOS'} ---")
            blocks.append(render_example(ids, labels, tokenizer, dim))
            shown += 1
        if shown >= n:
            break
    return "\n".join(blocks)


if __name__ == "__main__":
    sys.exit(main())
