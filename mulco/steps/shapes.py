"""Code translation judged by its shape: no boilerplate family dominates, no record copies its input.

CodeXGLUE's Java<->C# pairs come from a few projects; one of them, the AWS SDK for .NET, gives
thousands of methods of one shape with different names (``public virtual ID ID(ID ID){var ID =
new ID();ID.ID = ID.ID;...return ID<ID>(ID, ID);}``), 13.6 % of the EN translation records on the
shared slices, and its Java counterpart as much again. Exact and near dedup miss them: every name
differs. This step (``translation_shapes``, after ``leakage``) looks at the ``code_translation``
records of each language:

* a record whose **output is its input** (letter case and whitespace ignored) is dropped: it
  teaches copying, not translating;
* the **shape** of a record is its input with identifiers abstracted to ``ID``, string and
  character literals to ``STR`` and numbers to ``NUM`` (keywords and punctuation as written;
  :func:`shape`), with its direction (source and target language). A shape keeps at most a
  **cap** of records: the largest number ``c`` such that ``c`` is at most ``shape_max_share``
  (default **5 %**) of the records left once every shape keeps at most ``c``, so no shape is over
  that share of the language's translation records after the step. The records a capped shape
  keeps are shared among its splits in proportion to what each has (largest remainders), the
  smallest ids of each split; the others are dropped with the first kept record's id as
  ``matched``.
"""
from __future__ import annotations

import collections
import re
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from .pipeline import Corpus, Outcome
from .profile import allocate
from .spec import Section, Settings, StepSpec, ran_stats, row
from .text import KEYWORDS

#: the subtasks whose records are judged by their shape
SHAPED = ("code_translation",)
_TOKEN = re.compile(r'@?"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|\d[\w.]*|[A-Za-z_$][\w$]*|\S')
_SPACE = re.compile(r"\s+")


@dataclass
class ShapeConfig:
    """Code translation: records that copy their input, and shapes that dominate."""

    translation_shapes: bool = field(default=True, metadata={
        "help": "Drop code translation records whose output is their input (case and whitespace ignored) and cap "
                "each name-abstracted code shape at --shape-max-share of a language's translation records."})
    shape_max_share: float = field(default=0.05, metadata={"range": "(0, 1]",
        "help": "Largest share of a language's code translation records one name-abstracted code shape may keep "
                "(identifiers, strings and numbers abstracted); 1 keeps every record."})

    def shape_settings(self) -> dict:
        return {k: getattr(self, k) for k in ShapeConfig.__dataclass_fields__}


def shape(code: str) -> str:
    """``code`` with identifiers as ``ID``, string/character literals as ``STR`` and numbers as
    ``NUM``; keywords (:data:`mulco.steps.text.KEYWORDS`) and punctuation as written, one space
    between tokens."""
    out = []
    for t in _TOKEN.findall(code or ""):
        c = t[0]
        if c in "\"'" or t.startswith('@"'):
            out.append("STR")
        elif c.isdigit():
            out.append("NUM")
        elif c.isalpha() or c in "_$":
            out.append(t if t.lower() in KEYWORDS else "ID")
        else:
            out.append(t)
    return " ".join(out)


def copies_input(record: Mapping) -> bool:
    """The output is the input, letter case and whitespace ignored."""
    a = _SPACE.sub(" ", (record.get("input") or "").strip()).lower()
    return bool(a) and a == _SPACE.sub(" ", (record.get("output") or "").strip()).lower()


def cap(sizes: list[int], max_share: float) -> int:
    """The largest ``c`` with ``c <= max_share * sum(min(n, c) for n in sizes)`` (at least 1)."""
    lo, hi = 1, max(sizes, default=1)
    while lo < hi:  # the condition holds for small c and fails from some c on
        mid = (lo + hi + 1) // 2
        if mid <= max_share * sum(min(n, mid) for n in sizes):
            lo = mid
        else:
            hi = mid - 1
    return lo


@dataclass
class TranslationShapes:
    cfg: object  # ShapeConfig
    name: str = "translation_shapes"

    def run(self, corpus: Corpus) -> Outcome:
        out = Outcome()
        recs = corpus.records
        groups: dict[str, list[int]] = collections.defaultdict(list)
        copies = collections.Counter()
        for i in np.flatnonzero(corpus.alive).tolist():
            r = recs[i]
            if r.get("subtask") not in SHAPED:
                continue
            if copies_input(r):
                out.drops.append((i, "translation output is its input (letter case and whitespace ignored)", None))
                copies[r.get("lang")] += 1
            else:
                groups[r.get("lang") or ""].append(i)
        by_lang = {}
        for lang in sorted(set(groups) | set(copies)):
            by_lang[lang] = {"records": len(groups.get(lang, [])) + copies[lang], "copies_dropped": copies[lang],
                             **self._cap(corpus, groups.get(lang, []), out)}
        out.drops.sort()
        out.stats.update(max_share=float(self.cfg.shape_max_share), by_lang=dict(sorted(by_lang.items())))
        return out

    def _cap(self, corpus: Corpus, idx: list[int], out: Outcome) -> dict:
        recs, splits = corpus.records, corpus.splits
        shapes: dict[tuple, list[int]] = collections.defaultdict(list)
        for i in idx:
            r = recs[i]
            shapes[(r.get("plang") or "", r.get("target_plang") or "", shape(r.get("input")))].append(i)
        c = cap([len(v) for v in shapes.values()], float(self.cfg.shape_max_share))
        capped = []
        for key in sorted(shapes, key=lambda k: (-len(shapes[k]), k)):
            members = shapes[key]
            if len(members) <= c:
                continue
            by_split: dict[str, list[int]] = collections.defaultdict(list)
            for i in members:
                by_split[splits[i]].append(i)
            take = allocate(c, {s: len(v) for s, v in by_split.items()})
            kept, dropped = [], []
            for s in sorted(by_split):
                ordered = sorted(by_split[s], key=lambda i: recs[i]["id"])
                kept += ordered[:take[s]]
                dropped += ordered[take[s]:]
            first = min(recs[i]["id"] for i in kept)
            for i in dropped:
                out.drops.append((i, f"code shape over its cap: {len(members):,} records share this name-abstracted "
                                     f"shape, {c:,} kept ({self.cfg.shape_max_share:g} of the translation records)",
                                  first))
            capped.append({"shape": key[2][:160], "plang": key[0], "target_plang": key[1], "before": len(members),
                           "kept": len(kept)})
        after = sum(min(len(v), c) for v in shapes.values())
        largest_before = max((len(v) for v in shapes.values()), default=0)
        return {"shapes": len(shapes), "cap": c, "kept": after,
                "largest_share_before": round(largest_before / max(len(idx), 1), 4),
                "largest_share_after": round(min(largest_before, c) / max(after, 1), 4),
                "capped": capped[:10], "capped_shapes": len(capped)}


def _section(results: list) -> dict | None:
    return ran_stats(results, TranslationShapes.name)


def _markdown(report: Mapping) -> list[str]:
    ts = report.get("translation_shapes")
    if not ts:
        return []
    out = ["## Code translation: copies and shapes", "",
           f"Records whose output is their input (case and whitespace ignored) dropped; each name-abstracted "
           f"code shape (identifiers, strings, numbers abstracted) kept up to {ts.get('max_share', 0):g} of a "
           f"language's translation records.", "",
           "| lang | records | copies dropped | shapes | cap | largest shape before | after | shapes capped |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for lang, s in (ts.get("by_lang") or {}).items():
        out.append(row([lang, s.get("records", 0), s.get("copies_dropped", 0), s.get("shapes", 0), s.get("cap", 0),
                        f"{100 * s.get('largest_share_before', 0):.1f}%", f"{100 * s.get('largest_share_after', 0):.1f}%",
                        s.get("capped_shapes", 0)]))
    capped = [(lang, c) for lang, s in (ts.get("by_lang") or {}).items() for c in s.get("capped", [])]
    if capped:
        out += ["", "| lang | direction | shape (start) | records | kept |", "|---|---|---|---:|---:|"]
        out += [row([lang, f"{c['plang']} -> {c['target_plang']}", f"`{c['shape'][:100]}`", c["before"], c["kept"]])
                for lang, c in capped]
    return out + [""]


def _card(report: Mapping) -> list[str]:
    ts = report.get("translation_shapes")
    if not ts:
        return []
    by = ts.get("by_lang") or {}
    copies = sum(s.get("copies_dropped", 0) for s in by.values())
    capped = sum(s.get("capped_shapes", 0) for s in by.values())
    return [f"Code translation: {copies:,} records whose output was their input dropped; {capped:,} name-abstracted "
            f"code shapes capped at {ts.get('max_share', 0):g} of a language's translation records "
            f"({ts.get('dropped', 0):,} records dropped in all)."]


#: the translation-shapes step's entry of mulco.steps.registry.STEPS
STEP = StepSpec(TranslationShapes.name, lambda cfg, inputs: TranslationShapes(cfg), ShapeConfig,
                enabled=lambda cfg: cfg.translation_shapes, settings=Settings("translation_shapes", ShapeConfig.shape_settings),
                section=Section("translation_shapes", _section, markdown=((65, _markdown),), place=55,
                                card=((35, _card),)))
