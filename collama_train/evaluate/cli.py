"""``collama-eval``: evaluate a model on MulCo configs (and HumanEval/MBPP), re-score saved
generations, compare two runs.

    collama-eval --model PATH --data OUT_OR_REPO --configs code_search.en,... [--split test] [--limit N]
                 [--template alpaca|chat] [--batch-size B] [--max-new-tokens T] [--out DIR]
                 [--do-sample --temperature T --top-p P --num-samples N] [--allow-code-execution]
                 [--endpoint URL [--api-key-env VAR]] [--backend transformers|vllm]
    collama-eval score DIR_OR_GENERATIONS_FILE [--out DIR] [--allow-code-execution]
    collama-eval compare DIR_A DIR_B [--out FILE]
    -q: no progress bar; a typo in a flag: one line with the closest ones.

Errors are one line on stderr (exit status 2); the results table goes to stdout.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROG = "collama-eval"


def _errors():
    import mulco

    from collama_train.prompts import TemplateError

    from .backends import BackendError
    from .report import GenerationsError
    from .runner import EvalError
    from .sandbox import SandboxError

    return (EvalError, BackendError, GenerationsError, SandboxError, TemplateError, mulco.UnknownConfigError,
            mulco.SelectionError)


EPILOG = """commands:
  collama-eval [options]                  generate with a model, score, write DIR (the options above)
  collama-eval score DIR [--out DIR2]     re-score saved generations (any tool's, same format); no model
  collama-eval compare DIR_A DIR_B        per task x lang x plang and metric: A, B, B - A

examples:
  collama-eval --model runs/x --data out/sample --configs code_search.en --limit 50 --out eval/x
  collama-eval --model base --data collama/mulco --configs code_search.zh --template chat --out eval/base
  collama-eval score eval/x
  collama-eval compare eval/base eval/x --out eval/diff.md

See docs/evaluation.md for every metric and how it matches CodeXGLUE's evaluators.
"""


def _raise(message: str):
    from .runner import EvalError

    raise EvalError(message)


def make_parser() -> "argparse.ArgumentParser":
    from transformers import HfArgumentParser

    from .runner import EvalArguments

    class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
        pass

    parser = HfArgumentParser(EvalArguments, prog=PROG, description="Evaluate a model on MulCo configs and HumanEval/MBPP.",
                              epilog=EPILOG, formatter_class=_Formatter)
    parser.error = _raise  # type: ignore[method-assign] - one line, not usage + message
    return parser


def parse_eval_args(argv: list[str]):
    """``EvalArguments`` from the command line; an unknown flag is one line with the closest ones."""

    from .runner import EvalError

    parser = make_parser()
    args, rest = parser.parse_args_into_dataclasses(args=argv, return_remaining_strings=True)
    if rest:
        from collama_train.args import unknown_argument

        raise EvalError(f"{unknown_argument(parser, rest[0])}; see {PROG} --help")
    return args


def cmd_eval(argv: list[str]) -> int:
    from .runner import run

    args = parse_eval_args(argv)
    from mulco.toolkit import UnsafeOutputError

    from collama_train.outputs import check_eval_out, mark_eval_out

    try:  # before any record, model or generation: a file, the data or a folder it did not write is refused
        check_eval_out(args)
    except UnsafeOutputError as e:
        _raise(str(e))
    results = run(args)
    mark_eval_out(results["out"])
    print((Path(results["out"]) / "results.md").read_text(encoding="utf-8"), end="")
    print(f"{PROG}: wrote {results['out']}/generations.jsonl, results.json, results.md", file=sys.stderr)
    return 0


def cmd_score(argv: list[str]) -> int:
    from . import report
    from .sandbox import Limits

    p = argparse.ArgumentParser(prog=f"{PROG} score", description="Re-score a generations file (no model needed).")
    p.add_argument("path", help="an evaluation folder or a generations.jsonl file")
    p.add_argument("--out", help="where results.json/results.md go (default: beside the file)")
    p.add_argument("--allow-code-execution", action="store_true", help="run HumanEval/MBPP code in the sandbox")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per executed program")
    p.add_argument("--memory-mb", type=int, default=1024, help="address-space limit per executed program (MiB)")
    a = p.parse_args(argv)
    gen = report.generations_path(a.path)
    rows = report.read_generations(gen)
    if a.allow_code_execution:
        from .sandbox import check_platform

        check_platform(a.memory_mb)
    results = report.score(rows, allow_code_execution=a.allow_code_execution,
                           limits=Limits(timeout=a.timeout, memory_mb=a.memory_mb))
    results["run"] = report.rescored_run(gen)
    _, md = report.write_results(results, a.out or gen.parent)
    print(md.read_text(encoding="utf-8"), end="")
    return 0


def cmd_compare(argv: list[str]) -> int:
    from . import report

    p = argparse.ArgumentParser(prog=f"{PROG} compare", description="Per-cell difference of two evaluations (B - A).")
    p.add_argument("a", help="evaluation folder (or results.json) A, e.g. the base model")
    p.add_argument("b", help="evaluation folder (or results.json) B, e.g. the fine-tuned model")
    p.add_argument("--out", help="also write the table to this Markdown file")
    a = p.parse_args(argv)
    if a.out:
        report.check_table_out(a.out)
    table = report.compare(report.load_results(a.a), report.load_results(a.b), Path(a.a).name or "A", Path(a.b).name or "B")
    if a.out:
        Path(a.out).write_text(table, encoding="utf-8")
    print(table, end="")
    return 0


COMMANDS = {"score": cmd_score, "compare": cmd_compare}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    cmd = COMMANDS.get(argv[0]) if argv else None
    try:
        return cmd(argv[1:]) if cmd else cmd_eval(argv)
    except _errors() as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `collama-eval compare A B | head`
        from mulco.toolkit import stdout_closed

        return stdout_closed()


if __name__ == "__main__":
    sys.exit(main())
