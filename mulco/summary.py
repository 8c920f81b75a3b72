"""The summary tables a build prints at the end."""
from __future__ import annotations

import collections

from .sources.base import SPLITS
from .table import render


def last_line(result) -> str:
    total = sum(result.leaves.values())
    n_warn = len(getattr(result, "warnings", None) or [])
    warn = f" ({n_warn} warning{'s' if n_warn != 1 else ''} on stderr)" if n_warn else ""
    return f"{total:,} records in {len(result.configs)} configs written to {result.out} in {result.seconds:.1f} s{warn}"


def build_summary(result, timings: bool = False) -> str:
    """The tables a build prints on stdout (its warnings go to stderr, see ``mulco build``)."""
    parts = []
    per = collections.Counter()
    for (task, subtask, lang, plang, split), n in result.leaves.items():
        per[(task + (f".{subtask}" if subtask else ""), lang, plang or "-", split)] += n
    rows = collections.defaultdict(lambda: [0, 0, 0])
    for (t, lang, plang, split), n in per.items():
        rows[(t, lang, plang)][SPLITS.index(split)] += n
    parts.append(render(["task", "lang", "plang", *SPLITS],
                        [(*k, *v) for k, v in sorted(rows.items())], title="Records"))
    src_rows = []
    reasons = collections.Counter()
    for name, r in result.sources.items():
        if r.status != "built":
            src_rows.append((name, r.status, "", "", "", "", "", ""))
            continue
        status = "KEPT NONE" if r.units_read and not r.records_kept else r.status
        src_rows.append((name, status, r.units_read, r.units_kept, r.units_quarantined,
                         sum(r.records_skipped.values()), sum(r.records_dropped.values()), r.records_kept))
        for k, v in r.quarantine_reasons.items():
            reasons[(name, "quarantined", k)] += v
        for k, v in r.records_skipped.items():
            reasons[(name, "skipped", k)] += v
        for k, v in r.records_dropped.items():
            reasons[(name, "dropped", k)] += v
    parts.append(render(["source", "status", "rows read", "kept", "quarantined", "rec skipped", "rec dropped", "records"],
                        src_rows, title="Sources (rows = raw units; records = what they became)"))
    if reasons:
        parts.append(render(["source", "what", "reason", "count"], [(*k, v) for k, v in sorted(reasons.items())],
                            title="Not kept, by reason"))
    steps = getattr(result, "steps", None) or []
    if steps:
        parts.append(render(["step", "records in", "dropped", "flagged", "top reasons"],
                            [(st.name, st.records_in, st.dropped, st.flagged,
                              "; ".join(f"{k} ({v})" for k, v in sorted(st.by_reason.items(), key=lambda kv: -kv[1])[:2]))
                             for st in steps], title="Quality steps (in order; see build_report.md)"))
    missing = [f"  {n}: {r.message.removeprefix(f'{n}: ')}" for n, r in result.sources.items() if r.status != "built"]
    if missing:
        parts.append("Sources not built:\n" + "\n".join(missing))
    if timings and getattr(result, "timings", None):
        parts.append(render(["phase", "seconds"], [(k, f"{v:.2f}") for k, v in result.timings.items()], title="Timings"))
    parts.append(last_line(result))
    return "\n\n".join(parts)
