"""``mulco build --profile seed``: the paper's MulCo, each cell sampled to its size.

The full build (``--profile full``, the default) keeps every record the quality steps keep; on
a full raw folder code repair and translation are then about 60 % of it, against about 10 % in
the paper. ``--profile seed`` runs one more corpus step after the quality steps: every record
belongs to at most one **cell** of :data:`SEED_CELLS` (task, subtask, language, sources,
programming languages); a cell keeps up to its size, **stratified** by programming language,
split and language (each stratum gets its share of the size in proportion to what it has,
largest remainders first), the records of a stratum taken in the order of their ids (a hash:
deterministic and unrelated to content). Records in no cell (e.g. line completion, CodeAlpaca)
and those beyond a cell's size are dropped with the reason ``profile`` (they are in
``quarantine.jsonl`` like any other drop, so rows read = kept + quarantined still holds).

The step's stats give, per cell, the size requested, the records available, those delivered,
by programming language and split, and for a shortfall what is missing: a source's raw file
(its expected path), a programming language's files, or the translator (ZH summaries and
descriptions from CodeSearchNet are machine-translated).
"""
from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .pipeline import LEAF_FIELDS, Corpus, Outcome
from .spec import Section, StepSpec, ran_stats, row

PROFILES = ("full", "seed")
CSN_PLANGS = ("go", "java", "javascript", "php", "python", "ruby")


@dataclass(frozen=True)
class Cell:
    name: str
    size: int
    task: str
    subtask: Optional[str]
    lang: Optional[str]  # "en" or "zh" (the paper's Lang column); None: both
    sources: tuple[str, ...]
    plangs: Optional[tuple[str, ...]] = None  # None: any
    translator: bool = False  # the ZH text is machine-translated from the source's English

    def matches(self, r: dict, source: str) -> bool:
        return (r.get("task") == self.task and r.get("subtask") == self.subtask and source in self.sources
                and (self.lang is None or r.get("lang") == self.lang)
                and (self.plangs is None or r.get("plang") in self.plangs))


#: The paper's MulCo (issue 11): cell sizes and where their records come from.
SEED_CELLS = (
    Cell("code_summarization.en", 10_000, "code_summarization", None, "en", ("codesearchnet",), CSN_PLANGS),
    Cell("code_summarization.zh", 10_000, "code_summarization", None, "zh", ("codesearchnet",), CSN_PLANGS, True),
    Cell("code_generation.en (CodeSearchNet)", 10_000, "code_generation", None, "en", ("codesearchnet",), CSN_PLANGS),
    Cell("code_generation.zh (CodeGPT-CN)", 20_000, "code_generation", None, "zh", ("codegpt_cn",)),
    Cell("code_generation.zh (CodeSearchNet)", 5_000, "code_generation", None, "zh", ("codesearchnet",), CSN_PLANGS,
         True),
    Cell("code_search.clone_detection.en (BigCloneBench, Java)", 10_000, "code_search", "clone_detection", "en",
         ("bigclonebench",), ("java",)),
    Cell("code_search.defect_detection.en (Devign, C)", 5_000, "code_search", "defect_detection", "en", ("devign",),
         ("c",)),
    Cell("code_search.cloze_test.en (CT-all, 6 PLs)", 5_000, "code_search", "cloze_test", "en",
         ("codesearchnet", "codexglue_cloze"), CSN_PLANGS),
    Cell("code_search.code_repair.en (Bug2Fix, Java)", 5_000, "code_search", "code_repair", "en",
         ("codexglue_refinement",), ("java",)),
    Cell("code_search.code_translation.en (Java<->C#)", 5_000, "code_search", "code_translation", "en",
         ("codexglue_translation",), ("java", "csharp")),
    Cell("code_search.query_to_code.en (CodePro, Python/SQL)", 10_000, "code_search", "query_to_code", "en",
         ("codepro",), ("python", "sql")),
    Cell("code_search.query_to_code.zh (CodePro, Python/SQL)", 5_000, "code_search", "query_to_code", "zh",
         ("codepro",), ("python", "sql")),
)


@dataclass
class ProfileConfig:
    """Which records a build keeps after the quality steps."""

    profile: str = field(default="full", metadata={
        "choices": list(PROFILES),
        "help": "full: every record the quality steps keep; seed: each cell of the paper's MulCo sampled to its "
                "size (stratified by programming language and split; docs/quality.md)."})


def allocate(size: int, available: dict) -> dict:
    """Records to take per stratum: ``size`` shared in proportion to ``available`` (largest
    remainders first, ties by stratum key), never more than a stratum has."""
    total = sum(available.values())
    if total <= size:
        return dict(available)
    exact = {k: size * n / total for k, n in available.items()}
    take = {k: int(v) for k, v in exact.items()}
    left = size - sum(take.values())
    for k in sorted(available, key=lambda k: (-(exact[k] - take[k]), k))[:left]:
        take[k] += 1
    return take


@dataclass
class Profile:
    cfg: object  # BuildConfig (profile, translator_url)
    built: Optional[dict] = None  # source -> status ("built", "absent", "skipped")
    cells: tuple = SEED_CELLS
    name: str = "profile"

    def run(self, corpus: Corpus) -> Outcome:
        """Which cell a record is in follows from its leaf (task, subtask, lang, plang) and source
        codes, so no record is read for it; the ids are read (as Arrow strings) only for the strata
        cut to their share, to keep the smallest."""
        out = Outcome()
        alive = np.flatnonzero(corpus.alive)
        n_src = max(1, len(corpus.sources.names))
        pair = corpus.leaf_codes[alive].astype(np.int64) * n_src + corpus.sources.codes[alive]
        pairs, inv = np.unique(pair, return_inverse=True)
        leaf_of = [dict(zip(LEAF_FIELDS, corpus.leaf_names[p // n_src])) for p in pairs.tolist()]
        source_of = [corpus.sources.names[p % n_src] for p in pairs.tolist()]
        cell_of = np.array([next((c for c, cell in enumerate(self.cells) if cell.matches(r, src)), -1)
                            for r, src in zip(leaf_of, source_of)], dtype=np.int64)
        rec_cell = cell_of[inv] if len(alive) else np.zeros(0, dtype=np.int64)
        outside = collections.Counter()
        en_only = [self._en_only(r, src) for r, src in zip(leaf_of, source_of)]
        why = [f"profile seed: ZH twin of an EN-only cell ({e.name}; the paper has no Chinese row for it)" if e
               else "profile seed: not in a cell of the paper's MulCo" for e in en_only]
        loose = np.flatnonzero(rec_cell < 0)
        for k, p in zip(loose.tolist(), inv[loose].tolist()):
            if en_only[p]:
                outside[en_only[p].name] += 1
            out.drops.append((int(alive[k]), why[p], None))
        table = []
        split_codes = corpus.splits.codes
        for c, cell in enumerate(self.cells):
            idx = alive[rec_cell == c]
            strata: dict[tuple, np.ndarray] = {}
            sub = corpus.leaf_codes[idx].astype(np.int64) * len(corpus.splits.names) + split_codes[idx]
            kinds, kind_of = np.unique(sub, return_inverse=True)
            for k, v in enumerate(kinds.tolist()):
                leaf = corpus.leaf_names[v // len(corpus.splits.names)]
                key = (leaf[3] or "-", corpus.splits.names[v % len(corpus.splits.names)], leaf[2])
                part = idx[kind_of == k]
                strata[key] = np.concatenate((strata[key], part)) if key in strata else part
            take = allocate(cell.size, {k: len(v) for k, v in strata.items()})
            by_plang, by_split = collections.Counter(), collections.Counter()
            beyond = f"profile seed: beyond the size of {cell.name} ({cell.size:,})"
            for key in sorted(strata):
                n = take.get(key, 0)
                if n < len(strata[key]):
                    members = np.sort(strata[key])
                    for i in members[_by_id(corpus, members)[n:]].tolist():
                        out.drops.append((i, beyond, None))
                by_plang[key[0]] += n
                by_split[key[1]] += n
            delivered = sum(take.values())
            row = {"cell": cell.name, "requested": cell.size, "available": len(idx), "delivered": delivered,
                   "by_plang": dict(sorted(by_plang.items())), "by_split": dict(sorted(by_split.items()))}
            if delivered < cell.size:
                row["shortfall"] = self._why(cell, by_plang)
            table.append(row)
        out.drops.sort()
        out.stats.update(profile="seed", cells=table, not_in_a_cell=len(loose),
                         zh_twins_outside=dict(sorted(outside.items())))
        return out

    def _en_only(self, r: dict, source: str) -> Optional[Cell]:
        """The EN cell a ZH record would belong to if the paper had Chinese for it (None: none)."""
        if r.get("lang") != "zh":
            return None
        return next((c for c in self.cells if c.lang == "en" and c.matches(dict(r, lang="en"), source)), None)

    def _why(self, cell: Cell, by_plang: collections.Counter) -> str:
        """What a cell lacks: a source's raw file, some programming languages, the translator."""
        from .. import sources as registry

        why = []
        built = self.built or {}
        for s in cell.sources:
            if built.get(s, "absent") != "built":
                why.append(f"{s} not built: {registry.get(s).SPEC.expected}")
        if cell.translator and not getattr(self.cfg, "translator_url", None):
            why.append("no translator: the ZH text is machine-translated (--translator-url)")
        if cell.plangs and any(built.get(s) == "built" for s in cell.sources):
            missing = [p for p in cell.plangs if not by_plang.get(p)]
            if missing:
                where = "codesearchnet/<plang>/{train,valid,test}.jsonl" if "codesearchnet" in cell.sources else "raw files"
                why.append(f"no records for {', '.join(missing)} ({where})")
        return "; ".join(why) or "the raw files hold fewer records than the cell (a slice, not the full source)"


def _by_id(corpus: Corpus, idx: np.ndarray) -> np.ndarray:
    """The positions of the sorted record indices ``idx`` in the order of their ids (a stable sort:
    equal ids keep index order), the ids read as Arrow strings (no Python object per record)."""
    import pyarrow.compute as pc

    return pc.sort_indices(corpus.store.take(idx, ["id"]), sort_keys=[("id", "ascending")]).to_numpy()


def _section(results: list) -> dict | None:
    return ran_stats(results, Profile.name)


def _outside(zh: dict) -> str:
    if not zh:
        return ""
    return (f", of which {sum(zh.values()):,} ZH twins of EN-only cells, outside the profile as in the paper's "
            f"Lang column ({', '.join(f'{k} {v:,}' for k, v in zh.items())})")


def _markdown(report) -> list[str]:
    pf = report.get("profile")
    if not (pf and pf.get("cells")):
        return []
    out = ["## Profile: seed", "",
           "Each cell of the paper's MulCo sampled to its size after the quality steps, stratified by "
           f"programming language and split; {pf.get('not_in_a_cell', 0):,} records were in no cell"
           + _outside(pf.get("zh_twins_outside") or {}) + ".", "",
           "| cell | requested | available | delivered | by plang | by split | shortfall |",
           "|---|---:|---:|---:|---|---|---|"]
    for c in pf["cells"]:
        out.append(row([c["cell"], c["requested"], c["available"], c["delivered"],
                        ", ".join(f"{k} {v:,}" for k, v in c["by_plang"].items()) or "-",
                        ", ".join(f"{k} {v:,}" for k, v in c["by_split"].items()) or "-",
                        c.get("shortfall", "")]))
    return out + [""]


#: the profile's entry of mulco.steps.registry.STEPS: the last step, only for --profile seed
STEP = StepSpec(Profile.name, lambda cfg, inputs: Profile(cfg, dict(inputs.built)), ProfileConfig,
                enabled=lambda cfg: cfg.profile != "full",
                section=Section("profile", _section, markdown=((70, _markdown),), place=60))
