"""Where ``collama-eval --out`` and ``collama-train merge --out`` may write: mulco's output rules
(:func:`mulco.safeout.check_tool_output`) with each command's marker, the folders it must never
touch (the model, the data, the adapter) and the files that show an older output of its own.
``collama-train --output-dir`` applies the same rules in :mod:`collama_train.train`."""
from __future__ import annotations

from pathlib import Path

EVAL_MARKER = ".collama-eval"
#: The marker collama-train writes into its run folder (see collama_train.train).
RUN_MARKER = ".collama-train"
#: The folder of a run that holds its evaluation: ``--eval-configs`` writes it, ``collama-eval --out RUN/eval``
#: may too, and ``collama-train publish`` reads its results.json for the model card.
RUN_EVAL = "eval"
#: files only collama-eval writes: a folder holding them is an earlier evaluation (before the marker existed)
EVAL_SIGNS = ("generations.jsonl",)
MERGE_MARKER = ".collama-merge"


def _local_dirs(pairs) -> list[tuple[str, Path]]:
    return [(what, Path(p).expanduser()) for what, p in pairs if p and Path(p).expanduser().is_dir()]


def check_eval_out(args) -> Path:
    """``collama-eval --out`` (default ``eval_results``): new, empty or an earlier evaluation; never a
    file, the model or data folder, a MulCo data folder or a folder holding anything else. Raises
    ``mulco.safeout.UnsafeOutputError`` (one line) before anything is loaded or generated."""
    from mulco.toolkit import check_tool_output

    out = Path(args.out or "eval_results")
    model = getattr(args, "model", None)
    if model and is_run_eval(out, Path(model).expanduser()):
        model = None  # RUN/eval of a collama-train run: the run's own evaluation folder, the weights untouched
    protected = _local_dirs([("the model folder", model), ("the data folder", getattr(args, "data", None))])
    check_tool_output(out, flag="--out", program="collama-eval", marker=EVAL_MARKER, signs=EVAL_SIGNS,
                      protected=protected)
    return out


def is_run_eval(out: Path, model: Path) -> bool:
    """Whether ``out`` is the ``eval`` folder of ``model`` and ``model`` is a collama-train run folder."""
    return (model / RUN_MARKER).is_file() and Path(out).expanduser().resolve() == (model / RUN_EVAL).resolve()


def mark_eval_out(out: str | Path) -> None:
    """Mark a folder collama-eval has written (its next run may replace the files)."""
    from mulco.toolkit import write_tool_marker

    from . import __version__

    write_tool_marker(Path(out), "collama-eval", __version__, EVAL_MARKER)


def check_merge_out(out: str | Path, adapter: Path, base: str) -> str:
    """``merge --out``: never the adapter (or a folder around or inside it), the base model, a MulCo data
    folder or a folder merge did not write; returns the state (new | empty | ours)."""
    from mulco.toolkit import check_tool_output

    protected = _local_dirs([("the adapter folder", adapter), ("the base model folder", base)])
    return check_tool_output(Path(out), flag="--out", program="collama-train merge", marker=MERGE_MARKER,
                             protected=protected).state
