"""The quality steps of ``mulco build``, in the order they run: :data:`STEPS`, one list.

Each entry is a :class:`mulco.steps.spec.StepSpec` declared in its step's own module (its name,
config dataclass, when it runs, how it is made, its settings group, its report section and its
"turned off" warning). Everything else is derived here from the list: the bases of
:class:`mulco.build.BuildConfig` (so every step setting is a ``mulco build`` flag), the steps a
build runs, the report's ``settings``, its step sections (JSON and Markdown) and its warnings
for steps turned off. Adding a corpus-wide step = writing its module and appending its spec
here (docs/quality.md, "Adding a step"); the build and the report name no step.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from . import answers, decontaminate, dedup, filters, parse, profile, repair, schema, shapes, twins
from .spec import Inputs, Section, StepSpec

#: the steps in the order they run; a record dropped by one is not seen by the later ones
STEPS: list[StepSpec] = [
    twins.STEP,  # zh_twins: the ZH template twins --zh-twins leaves out
    *filters.STEPS,  # empty_output, broken_output, length, zh_without_cjk, en_mostly_cjk
    schema.STEP,
    parse.STEP,
    dedup.EXACT,
    dedup.NEAR,
    answers.STEP,
    decontaminate.STEP,
    dedup.LEAKAGE,
    shapes.STEP,
    repair.STEP,  # print_only_fix: repair fixes that only add or remove prints (flagged; --drop-print-fixes)
    profile.STEP,
]


def _unique(values) -> list:
    """``values`` without repeats (by identity of equal objects), in first-seen order, Nones left out."""
    out = []
    for v in values:
        if v is not None and v not in out:
            out.append(v)
    return out


def configs(steps: list[StepSpec] | None = None) -> list[type]:
    """The config dataclasses of the steps, in step order (each once)."""
    return _unique(s.config for s in (STEPS if steps is None else steps))


def config_bases() -> tuple[type, ...]:
    """The bases of ``BuildConfig`` for the steps' configs: the last step's first, so that the fields
    (collected from the last base to the first) come in step order."""
    return tuple(reversed(configs()))


def check_configs(cfg) -> None:
    """Run each step config's own ``__post_init__`` checks on the combined config ``cfg``."""
    for cls in configs():
        post = cls.__dict__.get("__post_init__")
        if post is not None:
            post(cfg)


def make_steps(cfg, inputs: Inputs) -> list:
    """The steps ``cfg`` turns on, made, in order."""
    out = []
    for spec in STEPS:
        if spec.enabled(cfg):
            step = spec.make(cfg, inputs)
            if step.name != spec.name:
                raise ValueError(f"step spec {spec.name!r} made a step named {step.name!r}")
            out.append(step)
    return out


def settings(cfg) -> dict[str, dict]:
    """The report's ``settings``: each group once, in step order, whether its steps ran or not."""
    return {s.key: s.of(cfg) for s in _unique(spec.settings for spec in STEPS)}


def feature_args(cfg) -> dict[str, Any]:
    """The settings of the corpus' shared features (shingles, signatures, word n-grams) the steps read."""
    out: dict[str, Any] = {}
    for fn in _unique(spec.feature_args for spec in STEPS):
        out.update(fn(cfg))
    return out


def input_paths(cfg) -> list:
    """Files and folders the steps read (the output must not replace them)."""
    return [p for fn in _unique(spec.inputs for spec in STEPS) for p in fn(cfg) if p]


def _sections() -> list[Section]:
    return _unique(spec.section for spec in STEPS)


def report_sections(results: list) -> dict[str, Any]:
    """The steps' sections of ``build_report.json`` from the results of the steps that ran, by place."""
    out = {}
    for sec in sorted(_sections(), key=lambda s: s.place):
        value = sec.of(results)
        if value is not None:
            out[sec.key] = value
    return out


def markdown_parts() -> list[Callable[[Mapping], list[str]]]:
    """The steps' parts of ``build_report.md``, by place (each ``part(report) -> lines``)."""
    parts = [(place, fn) for sec in _sections() for place, fn in sec.markdown]
    return [fn for _, fn in sorted(parts, key=lambda p: p[0])]


def card_parts() -> list[Callable[[Mapping], list[str]]]:
    """The steps' sentences in the dataset card's quality section, by place (each ``part(report) -> lines``)."""
    parts = [(place, fn) for sec in _sections() for place, fn in sec.card]
    return [fn for _, fn in sorted(parts, key=lambda p: p[0])]


def off_warnings(ran: set[str]) -> list[str]:
    """The warnings of the steps that did not run (``ran``: the names of those that did)."""
    return [spec.off_warning for spec in STEPS if spec.off_warning and spec.name not in ran]
