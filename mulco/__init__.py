"""MulCo: a bilingual (EN/ZH) multi-task instruction dataset for code.

``mulco.load(name, data_dir=...)`` loads a config of a built folder with ``datasets``;
``mulco.build.build(BuildConfig(...))`` builds one; ``mulco.builder.MulCo`` is the
``datasets`` builder class for in-process builds.
"""
from __future__ import annotations

__version__ = "0.1.0"

# The public API (what collama_train may use; a test checks it uses nothing else). Light imports only.
from .select import (SPLITS, Leaf, LicenceNote, Selection, SelectionError, check_licenses,  # noqa: E402
                     check_source, count_licenses, read_table, resolve)
from .taxonomy import (LANGS, PLANGS, SUBTASKS, TASKS, Selector, UnknownConfigError, all_names,  # noqa: E402
                       check_available, config_names, format_name, parse, suggest)

__all__ = [
    "load", "resolve", "read_table", "count_licenses", "check_licenses", "check_source", "Selection", "Leaf",
    "SelectionError", "LicenceNote", "SPLITS",
    "parse", "format_name", "Selector", "UnknownConfigError", "all_names", "config_names", "check_available",
    "suggest", "TASKS", "SUBTASKS", "LANGS", "PLANGS", "answer_labels", "__version__",
    "toolkit",  # output safety, the Hub upload and card facts shared with collama_train (loaded on first use)
]


def __getattr__(name: str):
    if name == "toolkit":
        import importlib

        return importlib.import_module(".toolkit", __name__)
    raise AttributeError(f"module 'mulco' has no attribute {name!r}")


def answer_labels(lang: str) -> dict:
    """The answer words of the label tasks in ``lang``, as records spell them:
    ``{"clone_detection": {"true": "Yes", "false": "No"}, ...}`` (from ``templates/<lang>.yaml``)."""
    from .templates import load as _load_templates

    return _load_templates(lang)["labels"]


def load(name: str = "all", data_dir=None, split: str | None = None, streaming: bool = False,
         licenses=None, **kwargs):
    """Load config ``name`` of a MulCo folder written by ``mulco build`` (or a Hub repo id).

    ``data_dir`` defaults to the Hub repo ``collama/mulco``. An unknown name raises
    :class:`mulco.taxonomy.UnknownConfigError` listing close valid names. ``licenses`` (e.g.
    ``["MIT", "Apache-2.0"]``) is an allow-list: it keeps only records under those licences; one the
    config does not have is a note (a :class:`LicenceNote` warning), and only when none of them is
    there does it raise :class:`SelectionError` listing those present.
    """
    from pathlib import Path

    import datasets

    from .hub import read_configs
    from .taxonomy import check_available, parse

    path = str(data_dir) if data_dir is not None else "collama/mulco"
    if data_dir is not None and Path(data_dir).is_dir():
        import json

        try:
            report = json.loads((Path(data_dir) / "build_report.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            report = None  # the report only explains an empty name; a folder without one still loads
        from .sources import producing

        check_available(name, read_configs(Path(data_dir)), report=report if isinstance(report, dict) else None,
                        producers=producing)
    else:
        parse(name)
    if streaming:
        _close_streams_at_exit()
    if licenses is not None:
        from .licenses import keep, spell

        licenses = spell(name, path, split, licenses)
        return keep(datasets.load_dataset(path, name, split=split, streaming=streaming, **kwargs), licenses)
    return datasets.load_dataset(path, name, split=split, streaming=streaming, **kwargs)


# Seconds the exit hook lets Arrow's threads run (the GIL released) after the streams are closed.
_DRAIN_SECONDS = 0.1
_exit_hook: list = []


def _close_streams_at_exit() -> None:
    """Register (once) :func:`_close_streams` to run at interpreter exit.

    A stream stopped early (``for r in ds: break``, ``ds.take(3)``, an iterator left open or
    closed) leaves ``datasets``' Parquet reader suspended, often in a reference cycle that only the
    final garbage collection frees. Arrow's I/O threads may still hold that reader then; when one
    of them drops it while the interpreter is finalizing, freeing the Python buffers it read needs
    the GIL, the thread is made to exit, and the process aborts ("terminate called without an
    active exception", exit 134; apache/arrow#45214, which ``datasets`` works around only for
    pyarrow <= 24). The hook closes those readers and lets the threads finish while Python
    still runs."""
    if not _exit_hook:
        import atexit

        atexit.register(_close_streams)
        _exit_hook.append(_close_streams)


def _close_streams() -> None:
    """Close every suspended ``datasets`` Parquet reader, free the unreachable ones, and give Arrow's
    threads :data:`_DRAIN_SECONDS` (GIL released) to finish what they were reading."""
    import gc
    import sys
    import time
    import types

    parquet = sys.modules.get("datasets.packaged_modules.parquet.parquet")
    fn = getattr(getattr(parquet, "Parquet", None), "_generate_tables", None)
    code = getattr(fn, "__code__", None)
    if code is None:
        return
    for obj in gc.get_objects():
        if type(obj) is types.GeneratorType and obj.gi_code is code and obj.gi_frame is not None:
            try:
                obj.close()
            except (ValueError, RuntimeError):  # running in another thread, or ignoring GeneratorExit
                pass
    gc.collect()
    time.sleep(_DRAIN_SECONDS)
