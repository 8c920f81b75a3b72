"""MulCo: a bilingual (EN/ZH) multi-task instruction dataset for code.

``mulco.load(name, data_dir=...)`` loads a config of a built folder with ``datasets``;
``mulco.build.build(BuildConfig(...))`` builds one; ``mulco.builder.MulCo`` is the
``datasets`` builder class for in-process builds.
"""
from __future__ import annotations

__version__ = "0.1.0"

# The public API (what collama_train may use; a test checks it uses nothing else). Light imports only.
from .select import (SPLITS, Leaf, Selection, SelectionError, check_licenses, check_source,  # noqa: E402
                     count_licenses, read_table, resolve)
from .taxonomy import (LANGS, PLANGS, SUBTASKS, TASKS, Selector, UnknownConfigError, all_names,  # noqa: E402
                       check_available, config_names, format_name, parse, suggest)

__all__ = [
    "load", "resolve", "read_table", "count_licenses", "check_licenses", "check_source", "Selection", "Leaf",
    "SelectionError", "SPLITS",
    "parse", "format_name", "Selector", "UnknownConfigError", "all_names", "config_names", "check_available",
    "suggest", "TASKS", "SUBTASKS", "LANGS", "PLANGS", "answer_labels", "__version__",
]


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
    ``["MIT", "Apache-2.0"]``) keeps only records under those licences; an unknown one raises
    :class:`SelectionError` listing those present.
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
    if licenses is not None:
        from .licenses import keep, spell

        licenses = spell(name, path, split, licenses)
        return keep(datasets.load_dataset(path, name, split=split, streaming=streaming, **kwargs), licenses)
    return datasets.load_dataset(path, name, split=split, streaming=streaming, **kwargs)
