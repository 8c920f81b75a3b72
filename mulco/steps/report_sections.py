"""The build report's sections for the steps of issue 11: answer groups, decontamination
precision and the ``--profile seed`` table (JSON from the step stats, Markdown for
``build_report.md``). :mod:`mulco.report` calls :func:`step_stats` and :func:`markdown`."""
from __future__ import annotations

from typing import Any, Mapping

#: steps whose stats the report keeps under their own name
STEPS = ("answer_dedup", "profile")


def step_stats(steps: list) -> dict[str, Any]:
    """``{"answer_dedup": {...}, "profile": {...}}`` for the steps that ran."""
    return {st.name: dict(st.stats, dropped=st.dropped) for st in steps if st.name in STEPS}


def _n(v) -> str:
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def _row(cells) -> str:
    return "| " + " | ".join(_n(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def markdown(report: Mapping) -> list[str]:
    out: list[str] = []
    dc = (report.get("decontamination") or {}).get("benchmarks") or {}
    rows = [(b, i) for b, i in dc.items() if isinstance(i, Mapping) and "precision" in i]
    if rows:
        out += ["### Decontamination precision", "",
                "A drop needs non-boilerplate shared n-grams and similarity to its match ≥ "
                f"{(report.get('decontamination') or {}).get('min_similarity')}; precision = share of drops whose "
                "similarity is ≥ 0.5 (docs/quality.md).", "",
                "| benchmark | dropped | bare n-gram rule would drop | kept: boilerplate only | kept: low similarity "
                "| precision | similarity |", "|---|---:|---:|---:|---:|---:|---|"]
        for b, i in rows:
            hits = i.get("hits") or {}
            out.append(_row([b, sum(hits.values()), i.get("ngram_candidates", 0), i.get("kept_boilerplate_only", 0),
                             i.get("kept_low_similarity", 0), "-" if i.get("precision") is None else i["precision"],
                             i.get("similarity", "")]))
        out.append("")
    ad = report.get("answer_dedup")
    if ad:
        out += ["## Answer groups", "",
                f"Records judged by their answer (input + output; free-form instructions, ≥ {ad.get('min_words')} "
                f"words): {ad.get('records_judged', 0):,}; groups of equal or near-duplicate answers: "
                f"{ad.get('groups', 0):,} holding {ad.get('records_in_groups', 0):,} records, of which "
                f"{ad.get('cross_split_groups', 0):,} spanned several splits. Kept per answer: "
                f"{ad.get('prompts_per_answer')} (all in one split; {ad.get('moved', 0):,} moved); dropped "
                f"{ad.get('dropped', 0):,}. Cross-split answer matches after the step: 0.", ""]
    pf = report.get("profile")
    if pf and pf.get("cells"):
        out += ["## Profile: seed", "",
                "Each cell of the paper's MulCo sampled to its size after the quality steps, stratified by "
                f"programming language and split; {pf.get('not_in_a_cell', 0):,} records were in no cell.", "",
                "| cell | requested | available | delivered | by plang | by split | shortfall |",
                "|---|---:|---:|---:|---|---|---|"]
        for c in pf["cells"]:
            out.append(_row([c["cell"], c["requested"], c["available"], c["delivered"],
                             ", ".join(f"{k} {v:,}" for k, v in c["by_plang"].items()) or "-",
                             ", ".join(f"{k} {v:,}" for k, v in c["by_split"].items()) or "-",
                             c.get("shortfall", "")]))
        out.append("")
    return out
