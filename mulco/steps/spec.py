"""What a quality step declares about itself, so that adding one is one entry in
:data:`mulco.steps.registry.STEPS` and nothing else.

A :class:`StepSpec` names the step and says which dataclass holds its settings (the fields become
``mulco build`` flags: help and ``range`` in each field's metadata), whether it runs for a build
config, how it is made, its settings group in the report, its section of the report (JSON and
Markdown) and the warning the report gives when it was turned off. The build, the config, the
report and the docs' step table all read this list; none of them names a step.

This module holds the declarations and the small Markdown helpers the sections share; it imports
no step (the steps import it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

#: the place of a section that does not ask for one: after every other step's section
LAST = 1000


@dataclass(frozen=True)
class Inputs:
    """What a step may need from the build besides its settings."""

    raw_dir: Optional[Path] = None
    built: Mapping[str, str] = field(default_factory=dict)  # source -> status (built, absent, skipped)


@dataclass(frozen=True)
class Settings:
    """One group of the report's ``settings``: its key and the values used, read from the build config.
    Steps sharing a config share one group (the first step of the list names it)."""

    key: str
    of: Callable[[Any], dict]


@dataclass(frozen=True)
class Section:
    """A step's own part of the build report.

    ``of(results)``: the value of ``build_report.json[key]`` from the results of all steps that ran
    (each section picks its own by name; None: no key). ``markdown``: (place, lines) pairs, each
    ``lines(report) -> list[str]`` a part of ``build_report.md`` among the steps' parts, ordered by
    place. ``place``: where ``key`` goes among the steps' keys of ``build_report.json``. ``card``:
    (place, lines) pairs like ``markdown``, each ``lines(report) -> list[str]`` sentences of the
    dataset card's quality section saying what the step found. The places keep the report's and the
    card's layout, which predate this list; a new step's parts go last by default. Steps that share
    a section (exact and near dedup) refer to the same object."""

    key: str
    of: Callable[[list], Optional[dict]]
    markdown: tuple[tuple[int, Callable[[Mapping], list[str]]], ...] = ()
    place: int = LAST
    card: tuple[tuple[int, Callable[[Mapping], list[str]]], ...] = ()


def _always(cfg) -> bool:
    return True


@dataclass(frozen=True)
class StepSpec:
    """One quality step: see the module docstring. ``make(cfg, inputs)`` returns the step (a
    :class:`mulco.steps.pipeline.RecordStep` or a corpus step) whose ``name`` is ``name``."""

    name: str
    make: Callable[[Any, Inputs], Any]
    config: Optional[type] = None  # dataclass of its settings, a base of mulco.build.BuildConfig
    enabled: Callable[[Any], bool] = _always
    settings: Optional[Settings] = None
    section: Optional[Section] = None
    off_warning: str = ""  # in the report's warnings when the step did not run
    feature_args: Optional[Callable[[Any], dict]] = None  # settings of the shared corpus features it reads
    inputs: Optional[Callable[[Any], list]] = None  # files or folders it reads (never replaced by --out)


def stats_of(result, **extra) -> dict:
    """A step result's stats without its warnings (the report lists those apart), plus ``extra``."""
    stats = dict(result.stats)
    stats.pop("warnings", None)
    return dict(stats, **extra)


def total(x) -> int:
    """A count of the report: a number, or reason -> number."""
    return sum(x.values()) if isinstance(x, Mapping) else x


def result_named(results: list, name: str):
    """The result of the step ``name`` if it ran, else None."""
    return next((r for r in results if r.name == name), None)


def ran_stats(results: list, name: str, missing=None):
    """The stats of step ``name`` with its drop count (:func:`stats_of`), or ``missing`` when it did
    not run: the report section of most steps."""
    st = result_named(results, name)
    return stats_of(st, dropped=st.dropped) if st else missing


# --------------------------------------------------------------------------------------------
# Markdown helpers of the sections (and of mulco.report)


def cell(v) -> str:
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v).replace("|", "\\|").replace("\n", " ")


def table(head: list[str], rows: list[list[Any]], right: set[int] | None = None) -> str:
    """A Markdown table; columns in ``right`` are right-aligned, integers get thousands separators."""
    right = right or set()
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(head))) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def row(cells) -> str:
    """One Markdown table row."""
    return "| " + " | ".join(cell(c) for c in cells) + " |"


def reasons(d: Mapping) -> str:
    """``reason (count); ...``, most frequent first."""
    return "; ".join(f"{k} ({v:,})" for k, v in sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))) if d else ""
