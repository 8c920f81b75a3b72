"""The build report: ``build_report.json`` and its Markdown rendering ``build_report.md``.

Everything in it is a function of the input and the settings (no timings, no dates), so a
rebuild writes the same bytes. It accounts for every row: per source, raw units read = kept +
quarantined (by reason), and records made = kept + skipped + dropped (by step and reason).
"""
from __future__ import annotations

import collections
import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

from . import taxonomy

#: How a raw file's content was checked (the ``check`` of :func:`provenance`), in words for the card.
CHECKS = {
    "pinned-sha256": "is the original: its sha256 is the one pinned in mulco's downloads.json",
    "pinned-git-blob": "is the original: its git blob id and size are those pinned in mulco's downloads.json",
    "download-lock": "was fetched and recorded by `mulco download` (its sha256 is in the raw folder's lock file)",
    "not-original": "differs from the original pinned in mulco's downloads.json (a slice or a modified copy)",
    "lock-mismatch": "differs from what `mulco download` recorded in the raw folder's lock file (changed since)",
    "unchecked": "was not fetched by `mulco download` and has no pin to check it against",
    "unreadable": "could not be read to hash it (see `error` in build_report.json)",
}


def _file_hashes(path: Path) -> tuple[str, str, int]:
    """(sha256, git blob id, size) of a file, in one pass."""
    size = path.stat().st_size
    sha, blob = hashlib.sha256(), hashlib.sha1(f"blob {size}\0".encode())
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
            blob.update(chunk)
    return sha.hexdigest(), blob.hexdigest(), size


def provenance(raw_dir: Path, by_source: Mapping) -> dict:
    """For each built source, each raw file it read: size, sha256, where it comes from (the URL
    of ``mulco/data/downloads.json``, at a fixed commit for GitHub files) and how its content was
    checked: against the manifest's pin, against ``mulco download``'s lock file, or not at all.
    Nothing is claimed that the files themselves do not show."""
    from .download import LOCK_NAME, load_manifest

    raw_dir = Path(raw_dir)
    manifest = load_manifest()
    items = {it.key: (name, it) for name, e in manifest.items() for it in e.items()}
    archives = {it.key: it for e in manifest.values() for it in e.archives}
    try:
        lock = json.loads((raw_dir / LOCK_NAME).read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError):
        lock = {}
    out = {}
    for name in sorted(by_source):
        res = by_source[name]
        files = getattr(res, "files", None) if not isinstance(res, Mapping) else res.get("files")
        if not files:
            continue
        rows = []
        for rel in files:
            path = raw_dir / rel
            try:
                sha, blob, size = _file_hashes(path)
            except OSError as e:  # the source reported it but it cannot be read now: say so
                rows.append({"path": rel, "size": 0, "sha256": "", "check": "unreadable",
                             "error": f"{type(e).__name__}: {e.strerror or e}"})
                continue
            _, item = items.get(rel, (None, None))
            pin = item.pin if item else None
            locked = (lock.get(rel) or {}) if isinstance(lock.get(rel), Mapping) else {}
            if pin is not None and pin.sha256:
                check = "pinned-sha256" if pin.sha256 == sha else "not-original"
            elif pin is not None and pin.git_blob:
                ok = blob.startswith(pin.git_blob) and (pin.size is None or pin.size == size)
                check = "pinned-git-blob" if ok else "not-original"
            elif locked.get("sha256"):
                check = "download-lock" if locked["sha256"] == sha else "lock-mismatch"
            else:
                check = "unchecked"
            row = {"path": rel, "size": size, "sha256": sha, "check": check}
            if item is not None:
                if item.url:
                    row["url"] = item.url
                if item.kind == "member" and item.archive:
                    arch = archives.get(f"archives/{item.archive}")
                    row["from"] = f"{item.member} in {arch.url if arch else item.archive}"
                elif item.kind == "derived":
                    row["from"] = "made by `mulco download` from " + ", ".join(
                        a.url for a in manifest[item.source].archives if a.url)
                elif item.kind == "manual" and item.how:
                    row["from"] = "fetched by hand: " + item.how.replace("{dest}", rel)
            if locked.get("verified_by"):
                row["download"] = locked["verified_by"]
            rows.append(row)
        out[name] = rows
    return out


def per_config(leaf_in: Mapping[tuple, int], steps: list) -> dict:
    """For every config selecting an input record: records in, dropped per step, kept."""
    configs: dict[str, dict] = {}
    names = {}
    for leaf in leaf_in:
        names[leaf] = [taxonomy.format_name(s) for s in taxonomy.selectors_for(*leaf)]
    for leaf, n in leaf_in.items():
        for name in names[leaf]:
            c = configs.setdefault(name, {"records_in": 0, "dropped": collections.Counter(), "kept": 0})
            c["records_in"] += n
    for st in steps:
        for leaf, n in st.by_leaf.items():
            for name in names.get(leaf) or [taxonomy.format_name(s) for s in taxonomy.selectors_for(*leaf)]:
                configs[name]["dropped"][st.name] += n
    order = taxonomy.config_names(leaf_in)
    out = {}
    for name in order:
        c = configs[name]
        out[name] = {"records_in": c["records_in"],
                     "dropped": {st.name: c["dropped"][st.name] for st in steps if c["dropped"][st.name]},
                     "kept": c["records_in"] - sum(c["dropped"].values())}
    return out


def make_report(*, raw_dir: Path, sample: bool, by_source: Mapping, translator, steps: list, leaf_in: Mapping[tuple, int],
                settings: dict, version: str) -> dict:
    """The build report; ``provenance`` hashes every raw file a built source read."""
    warnings: list[str] = []
    step_rows = []
    dedup, decont, leakage, parse = {}, {}, {}, {}
    for st in steps:
        row = {"step": st.name, "records_in": st.records_in, "dropped": st.dropped, "flagged": st.flagged,
               "dropped_by_reason": st.by_reason, "dropped_by_source": st.by_source}
        if st.flagged:
            row["flagged_by_reason"] = st.flagged_by_reason
        step_rows.append(row)
        stats = dict(st.stats)
        warnings.extend(stats.pop("warnings", []))
        if st.name in ("exact_dedup", "near_dedup"):
            dedup[st.name.split("_")[0]] = dict(stats, dropped=st.dropped)
        elif st.name == "decontaminate":
            decont = dict(stats, dropped=st.dropped)
        elif st.name == "leakage":
            leakage = dict(stats, dropped=st.dropped)
        elif st.name == "parse":
            parse = dict(stats, dropped=st.dropped, flagged=st.flagged, flagged_by_reason=st.flagged_by_reason)
    names = {st.name for st in steps}
    if "decontaminate" not in names:
        warnings.append("NOT decontaminated: the decontamination step was turned off")
    if "leakage" not in names:
        warnings.append("train/test leakage was not checked: the leakage step was turned off")
    sources = {n: r.summary() for n, r in by_source.items()}
    totals = collections.Counter()
    for s in sources.values():
        for k in ("units_read", "units_kept", "units_quarantined", "records_made", "records_kept"):
            totals[k] += s[k]
        totals["records_skipped"] += sum(s["records_skipped"].values())
        totals["records_dropped"] += sum(s["records_dropped"].values())
    return {
        "mulco_version": version,
        "raw_dir": "<bundled sample>" if sample else raw_dir.name,
        "translator": getattr(translator, "name", None),
        "warnings": warnings,
        "totals": dict(totals),
        "reconciles": all(s["reconciles"] for s in sources.values()),
        "sources": sources,
        "steps": step_rows,
        "configs": per_config(leaf_in, steps),
        "dedup": dedup,
        "leakage": leakage,
        "decontamination": decont,
        "parse": parse,
        **_issue11_stats(steps),  # answer_dedup, profile (mulco/steps/report_sections.py)
        "provenance": provenance(raw_dir, {n: r for n, r in by_source.items() if getattr(r, "status", "") == "built"}),
        "settings": settings,
    }


# --------------------------------------------------------------------------------------------
# Markdown


def _table(head: list[str], rows: list[list[Any]], right: set[int] | None = None) -> str:
    right = right or set()
    def cell(v):
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,}"
        return str(v).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(head))) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def _reasons(d: Mapping) -> str:
    return "; ".join(f"{k} ({v:,})" for k, v in sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))) if d else ""


def render_markdown(report: dict) -> str:
    """The report as Markdown (what the dataset card links to)."""
    out = ["# MulCo build report", ""]
    out.append(f"mulco {report.get('mulco_version')}, raw folder `{report.get('raw_dir')}`, "
               f"translator: {report.get('translator') or 'none'}. Machine-readable: `build_report.json`; "
               "every dropped record, with its reason and what it matched: `quarantine.jsonl`.")
    out.append("")
    for w in report.get("warnings", []):
        out.append(f"> **Warning:** {w}")
        out.append("")
    t = report.get("totals", {})
    out += ["## Accounting", "",
            "Per source, raw units read = kept + quarantined, and records made = kept + skipped + dropped.",
            "All reconcile: **" + ("yes" if report.get("reconciles") else "NO") + "**.", ""]
    rows = []
    for name, s in report.get("sources", {}).items():
        rows.append([name, s["status"], s["units_read"], s["units_kept"], s["units_quarantined"], s["records_made"],
                     sum(s["records_skipped"].values()), sum(s["records_dropped"].values()), s["records_kept"],
                     "yes" if s["reconciles"] else "NO"])
    rows.append(["**total**", "", t.get("units_read", 0), t.get("units_kept", 0), t.get("units_quarantined", 0),
                 t.get("records_made", 0), t.get("records_skipped", 0), t.get("records_dropped", 0),
                 t.get("records_kept", 0), ""])
    out.append(_table(["source", "status", "units read", "kept", "quarantined", "records made", "skipped", "dropped",
                       "records kept", "reconciles"], rows, right={2, 3, 4, 5, 6, 7, 8}))
    out.append("")
    reasons = []
    for name, s in report.get("sources", {}).items():
        for what, key in (("quarantined", "quarantine_reasons"), ("skipped", "records_skipped"), ("dropped", "records_dropped")):
            for r, n in s.get(key, {}).items():
                reasons.append([name, what, r, n])
    if reasons:
        out += ["### Not kept, by reason", "", _table(["source", "what", "reason", "count"], reasons, right={3}), ""]
    out += ["## Quality steps", "", "In order; a record dropped by a step is not seen by the later ones.", ""]
    out.append(_table(["step", "records in", "dropped", "flagged", "reasons"],
                      [[s.get("step"), s.get("records_in", 0), s.get("dropped", 0), s.get("flagged", 0),
                        _reasons(s.get("dropped_by_reason") or {}) + (("; flagged: " + _reasons(s["flagged_by_reason"]))
                                                                     if s.get("flagged_by_reason") else "")]
                       for s in report.get("steps", [])], right={1, 2, 3}))
    out.append("")
    srcs = sorted({src for s in report.get("steps", []) for src in (s.get("dropped_by_source") or {})})
    if srcs:
        out += ["### Dropped per step and source", ""]
        out.append(_table(["step", *srcs], [[s.get("step"), *[s["dropped_by_source"].get(x, 0) for x in srcs]]
                                            for s in report.get("steps", [])], right=set(range(1, len(srcs) + 1))))
        out.append("")
    dd = report.get("dedup", {})
    if dd:
        out += ["## Duplicate clusters", ""]
        for kind in ("exact", "near"):
            d = dd.get(kind)
            if not isinstance(d, Mapping) or not d:
                continue
            out.append(f"**{kind}**: {d.get('clusters', 0):,} clusters holding {d.get('records_in_clusters', 0):,} records; "
                       f"{d.get('dropped', 0):,} dropped (sizes: "
                       + ", ".join(f"{k}: {v:,}" for k, v in d.get("size_histogram", {}).items()) + ").")
            if kind == "near":
                out.append(f"MinHash LSH: {d.get('ngram')}-token shingles, {d.get('num_perm')} slots, "
                           f"{d.get('bands')} bands x {d.get('rows')} rows, threshold {d.get('threshold')}; "
                           f"{d.get('candidate_pairs', 0):,} candidate pairs, {d.get('accepted_pairs', 0):,} accepted.")
            if d.get("largest"):
                out += ["", _table(["kept id", "size", "source", "task", "lang", "plang"],
                                   [[f"`{c['kept']}`", c["size"], c["source"], c["task"], c["lang"], c["plang"] or "—"]
                                    for c in d["largest"]], right={1})]
            out.append("")
    dc = report.get("decontamination", {})
    if dc:
        out += ["## Decontamination", "",
                f"A record goes when it shares a {dc.get('ngram')}-word n-gram with a benchmark item, or contains a "
                f"benchmark prompt or solution of at least {dc.get('min_chars')} characters.", ""]
        rows = []
        for b, info in (dc.get("benchmarks") or {}).items():
            info = info if isinstance(info, Mapping) else {}
            hits = info.get("hits", {})
            rows.append([b, info.get("status"), info.get("from") or info.get("message", ""), info.get("items", 0),
                         hits.get("substring", 0), hits.get("ngram", 0)])
        out.append(_table(["benchmark", "status", "from", "items", "substring hits", "n-gram hits"], rows, right={3, 4, 5}))
        out.append("")
    lk = report.get("leakage", {})
    if lk:
        out += ["## Leakage", "",
                f"Train/validation records dropped as duplicates of a test record in another bucket of their language: "
                f"{lk.get('exact', 0):,} exact, {lk.get('near', 0):,} near (test records: {lk.get('test_records', 0):,}). "
                "Duplicates inside one bucket were already resolved by dedup, which keeps the test record.", ""]
    pr = report.get("parse", {})
    if pr:
        out += ["## Parse check", "",
                "Policy per task: " + ", ".join(f"{k}: {v}" for k, v in pr.get("policy", {}).items()) + ".",
                f"Dropped {pr.get('dropped', 0):,}, flagged {pr.get('flagged', 0):,}"
                + (f" ({_reasons(pr.get('flagged_by_reason', {}))})" if pr.get("flagged_by_reason") else "") + ".", ""]
    from .steps.report_sections import markdown as _issue11_markdown

    out += _issue11_markdown(report)
    cf = report.get("configs", {})
    if cf:
        steps = [s["step"] for s in report.get("steps", [])]
        used = [s for s in steps if any((c.get("dropped") or {}).get(s) for c in cf.values())]
        out += ["## Per config", "", "<details><summary>" + f"{len(cf)} configs" + "</summary>", ""]
        out.append(_table(["config", "records in", *used, "kept"],
                          [[f"`{n}`", c.get("records_in", 0), *[(c.get("dropped") or {}).get(s, 0) for s in used], c.get("kept", 0)]
                           for n, c in cf.items()], right=set(range(1, len(used) + 3))))
        out += ["", "</details>", ""]
    pv = report.get("provenance", {})
    if pv:
        out += ["## Provenance", "", "Every raw file a source read, its sha256 and what is known of its content:", ""]
        out += [f"- `{k}`: {v}." for k, v in CHECKS.items()
                if any(isinstance(f, Mapping) and f.get("check") == k for fs in pv.values() for f in fs or [])]
        out.append("")
        out.append(_table(["source", "file", "bytes", "sha256", "origin", "check"],
                          [[name, f"`{f.get('path')}`", f.get("size", 0), f"`{f.get('sha256')}`",
                            f.get("url") or f.get("from") or "not in downloads.json", f.get("check")]
                           for name, fs in pv.items() for f in fs or [] if isinstance(f, Mapping)], right={2}))
        out.append("")
    st = report.get("settings", {})
    if st:
        out += ["## Settings", ""]
        rows = []
        for group, vals in st.items():
            for k, v in (vals.items() if isinstance(vals, Mapping) else [("", vals)]):
                rows.append([group, k, f"`{v}`"])
        out.append(_table(["step", "setting", "value"], rows))
        out.append("")
    return "\n".join(out)


def _issue11_stats(steps: list) -> dict:
    from .steps.report_sections import step_stats

    return step_stats(steps)
