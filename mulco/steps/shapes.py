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
import hashlib
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


def cap(sizes, max_share: float) -> int:
    """The largest ``c`` with ``c <= max_share * sum(min(n, c) for n in sizes)`` (at least 1)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    lo, hi = 1, int(sizes.max()) if len(sizes) else 1
    while lo < hi:  # the condition holds for small c and fails from some c on
        mid = (lo + hi + 1) // 2
        if mid <= max_share * int(np.minimum(sizes, mid).sum()):
            lo = mid
        else:
            hi = mid - 1
    return lo


def shape_key(record: Mapping) -> tuple[str, str, str]:
    """What a record's shape group is: (plang, target plang, :func:`shape` of its input)."""
    return record.get("plang") or "", record.get("target_plang") or "", shape(record.get("input"))


def _hash(key: tuple[str, str, str]) -> int:
    """A 64-bit hash of a :func:`shape_key` (the step keeps this per record, not the shape)."""
    data = "\x00".join(key).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


#: the fields the step reads of a translation record
_COLUMNS = ("input", "output", "plang", "target_plang")
_COPY = "translation output is its input (letter case and whitespace ignored)"


@dataclass
class TranslationShapes:
    cfg: object  # ShapeConfig
    name: str = "translation_shapes"

    def run(self, corpus: Corpus) -> Outcome:
        """The translation records (by their leaf code) are read once, in index order; per record
        the step keeps a 64-bit hash of its shape key. The shapes over the cap are named again
        from one record each, and only their records' ids are read (to keep the smallest)."""
        out = Outcome()
        shaped = np.array([leaf[1] in SHAPED for leaf in corpus.leaf_names], dtype=bool)
        idx = np.flatnonzero(corpus.alive & shaped[corpus.leaf_codes])
        keys = np.zeros(len(idx), dtype=np.uint64)
        copy = np.zeros(len(idx), dtype=bool)
        for k, (i, r) in enumerate(corpus.iter_records(idx, _COLUMNS)):
            if copies_input(r):
                copy[k] = True
                out.drops.append((i, _COPY, None))
            else:
                keys[k] = _hash(shape_key(r))
        lang_names = [leaf[2] for leaf in corpus.leaf_names]
        lang_code = corpus.leaf_codes[idx]
        copies, groups = collections.Counter(), collections.defaultdict(list)
        for code, n in zip(*np.unique(lang_code[copy], return_counts=True)):
            copies[lang_names[code]] += int(n)
        for code in np.unique(lang_code[~copy]).tolist():
            groups[lang_names[code] or ""].append(code)
        by_lang = {}
        for lang in sorted(set(groups) | set(copies)):
            mine = ~copy & np.isin(lang_code, groups.get(lang, []))
            by_lang[lang] = {"records": int(mine.sum()) + copies[lang], "copies_dropped": copies[lang],
                             **self._cap(corpus, idx[mine], keys[mine], out)}
        out.drops.sort()
        out.stats.update(max_share=float(self.cfg.shape_max_share), by_lang=dict(sorted(by_lang.items())))
        return out

    def _cap(self, corpus: Corpus, idx: np.ndarray, keys: np.ndarray, out: Outcome) -> dict:
        """Cap the shapes of one language's records ``idx`` (their shape hashes ``keys``)."""
        share = float(self.cfg.shape_max_share)
        uniq, first, inv, sizes = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
        c = cap(sizes, share)
        over = np.flatnonzero(sizes > c)
        reps = idx[first[over]]  # a record of each shape over the cap, read again for its shape key
        order = np.argsort(reps)
        names = {int(over[o]): shape_key(r) for o, (_, r) in zip(order.tolist(), corpus.iter_records(reps[order], _COLUMNS))}
        member_mask = np.isin(inv, over)
        ids = dict(zip(idx[member_mask].tolist(), corpus.column("id", idx[member_mask])))
        codes, split_names = corpus.splits.codes, corpus.splits.names
        capped = []
        for s in sorted(over.tolist(), key=lambda s: (-int(sizes[s]), names[s])):
            members = idx[inv == s]
            by_split: dict[str, list[int]] = collections.defaultdict(list)
            for i in members.tolist():
                by_split[split_names[codes[i]]].append(i)
            take = allocate(c, {sp: len(v) for sp, v in by_split.items()})
            kept, dropped = [], []
            for sp in sorted(by_split):
                ordered = sorted(by_split[sp], key=ids.__getitem__)
                kept += ordered[:take[sp]]
                dropped += ordered[take[sp]:]
            first_kept = min(kept, key=ids.__getitem__)
            reason = (f"code shape over its cap: {len(members):,} records share this name-abstracted shape, {c:,} kept "
                      f"({self.cfg.shape_max_share:g} of the translation records)")
            out.drop_bulk(sorted(dropped), reason.replace("{", "{{").replace("}", "}}"), [first_kept] * len(dropped))
            key = names[s]
            capped.append({"shape": key[2][:160], "plang": key[0], "target_plang": key[1], "before": len(members),
                           "kept": len(kept)})
        after = int(np.minimum(sizes, c).sum())
        largest_before = int(sizes.max()) if len(sizes) else 0
        return {"shapes": len(uniq), "cap": c, "kept": after,
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
