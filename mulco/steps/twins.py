"""Which Chinese template twins a build keeps (``--zh-twins``), read from the paper's table.

A ZH *template twin* (``text_origin`` ``template``) is a Chinese MulCo instruction template over
the content of an EN record of the same raw row: it adds a Chinese instruction, not new code. The
paper's table (:data:`mulco.steps.profile.SEED_CELLS`, the one place MulCo writes it down) has
Chinese rows only for summaries, generation and query to code; every code-to-code task is EN
only. The default policy, ``paper``, follows it:

* a twin of a (task, subtask, source) is kept at the paper's ZH:EN ratio for it, the size of its
  ZH cells over the size of its EN cells (query to code from CodePro: 5k / 10k = 0.5; summaries
  from CodeSearchNet: 10k / 10k = 1; generation from CodeSearchNet: 5k / 10k = 0.5);
* a twin of a task the paper has in English only (clone and defect detection, cloze test, code
  repair, code translation) or not at all (line completion) is left out.

``all`` keeps every twin, ``none`` none, a fraction such as ``0.25`` that share of every twin. A
twin is kept when the first 8 hex digits of its id, as a share of 16**8, are below the share kept
(deterministic, spread over the records). Native and machine-translated ZH records are never
touched.
"""
from __future__ import annotations

import collections
import functools
from dataclasses import dataclass
from typing import Mapping, Optional

import numpy as np

from ..record import Record
from .pipeline import Corpus, Outcome
from .filters import SETTINGS as FILTER_SETTINGS
from .filters import FilterConfig, keeps_all, policy  # the policy is parsed where the flag lives
from .spec import Section, StepSpec, ran_stats, row

@functools.lru_cache(maxsize=1)
def paper_shares() -> dict[tuple, float]:
    """(task, subtask, source) -> share of its ZH template twins the paper's table implies: the
    size of its ZH cells over the size of its EN cells (absent: 0, the paper has no Chinese row)."""
    from .profile import SEED_CELLS

    en: dict[tuple, int] = {}
    zh: dict[tuple, int] = {}
    for cell in SEED_CELLS:
        for src in cell.sources:
            key = (cell.task, cell.subtask, src)
            for lang, sizes in (("en", en), ("zh", zh)):
                if cell.lang == lang:
                    sizes[key] = sizes.get(key, 0) + cell.size
    return {k: min(1.0, zh[k] / en[k]) for k in sorted(zh, key=str) if en.get(k)}


def share(record: Record, value) -> float:
    """The share of twins like ``record`` that ``value`` keeps."""
    p = policy(value)
    if p != "paper":
        return float(p)
    return paper_shares().get((record.get("task"), record.get("subtask"), record.get("source")), 0.0)


def kept(record: Record, value) -> bool:
    """Whether the build keeps ``record`` under ``--zh-twins value`` (always, unless a ZH template twin)."""
    if record.get("lang") != "zh" or record.get("text_origin") != "template":
        return True
    return int(str(record.get("id", "0"))[:8] or "0", 16) / 16**8 < share(record, value)


def _what(record: Record) -> str:
    return f"{record.get('task')}{'.' + record['subtask'] if record.get('subtask') else ''}"


def reason(record: Record, value) -> Optional[str]:
    """Why ``--zh-twins value`` leaves ``record`` out (None: kept)."""
    if kept(record, value):
        return None
    p = policy(value)
    if p != "paper":
        return f"ZH template twin not kept (--zh-twins {p:g})"
    s = share(record, p)
    if not s:
        return f"ZH template twin not kept (--zh-twins paper): the paper has no Chinese {_what(record)}"
    return f"ZH template twin not kept (--zh-twins paper): Chinese {_what(record)} at {s:g} of English"


@dataclass
class ZhTwins:
    """The ``zh_twins`` step: leaves out the ZH template twins ``--zh-twins`` does not keep."""

    value: str = "paper"
    name: str = "zh_twins"
    #: runs before the corpus features and the parse check start (mulco.steps.pipeline.run_steps):
    #: the twins it leaves out cost nothing further
    early: bool = True

    def run(self, corpus: Corpus) -> Outcome:
        """The ZH records (by their leaf code) are read in index order, only the fields the policy
        looks at; a drop's reason is one string per (task, subtask, source), shared by its drops."""
        out = Outcome()
        seen, kept_n = collections.Counter(), collections.Counter()
        p = policy(self.value)
        zh = np.array([leaf[2] == "zh" for leaf in corpus.leaf_names], dtype=bool)
        idx = np.flatnonzero(corpus.alive & zh[corpus.leaf_codes])
        reasons: dict = {}
        for i, r in corpus.iter_records(idx, ("id", "task", "subtask", "lang", "source", "text_origin")):
            if r.get("lang") != "zh" or r.get("text_origin") != "template":
                continue
            what = _what(r)
            seen[what] += 1
            why = reason(r, p)
            if why:
                out.drops.append((i, reasons.setdefault(why, why), None))
            else:
                kept_n[what] += 1
        shares = ({f"{t}{'.' + st if st else ''} ({src})": v for (t, st, src), v in paper_shares().items()}
                  if p == "paper" else {"every twin": p})
        out.stats.update(policy=str(self.value), shares_kept=shares, twins=sum(seen.values()),
                         kept=sum(kept_n.values()),
                         by_task={w: {"twins": n, "kept": kept_n[w]} for w, n in sorted(seen.items())})
        return out


def _section(results: list) -> dict | None:
    return ran_stats(results, ZhTwins.name)


def _markdown(report: Mapping) -> list[str]:
    zt = report.get("zh_twins")
    if not zt:
        return []
    out = ["## Chinese template twins", "",
           f"`--zh-twins {zt.get('policy')}`"
           + (": kept only where the paper's table has Chinese rows, at its ZH:EN ratio" if zt.get("policy") == "paper"
              else "") + f" ({', '.join(f'{k} {v:g}' for k, v in (zt.get('shares_kept') or {}).items()) or '-'}); "
           f"{zt.get('kept', 0):,} of {zt.get('twins', 0):,} ZH template twins kept.", "",
           "| task | ZH template twins | kept |", "|---|---:|---:|"]
    out += [row([w, c["twins"], c["kept"]]) for w, c in (zt.get("by_task") or {}).items()]
    return out + [""]


def _card(report: Mapping) -> list[str]:
    zt = report.get("zh_twins")
    if not zt:
        return []
    why = " (only where the paper's table has Chinese rows, at its ZH:EN ratio)" if zt.get("policy") == "paper" else ""
    return [f"Chinese template twins: `--zh-twins {zt.get('policy')}`{why}: {zt.get('kept', 0):,} of "
            f"{zt.get('twins', 0):,} kept."]


#: the twins step's entry of mulco.steps.registry.STEPS (first; its setting is a filter's)
STEP = StepSpec(ZhTwins.name, lambda cfg, inputs: ZhTwins(cfg.zh_twins), FilterConfig,
                enabled=lambda cfg: not keeps_all(cfg.zh_twins), settings=FILTER_SETTINGS,
                section=Section("zh_twins", _section, markdown=((5, _markdown),), place=5, card=((5, _card),)))
