"""The build report: ``build_report.json`` and its Markdown rendering ``build_report.md``.

Everything in it is a function of the input and the settings (no timings, no dates), so a
rebuild writes the same bytes. It accounts for every row: per source, raw units read = kept +
quarantined (by reason), and records made = kept + skipped + dropped (by step and reason).
"""
from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Iterable, Mapping

from . import taxonomy
from .fsops import file_hashes
from .steps.spec import reasons, table

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


def _check(pin, locked: Mapping, sha: str, blob: str, size: int) -> str:
    """How a file's content was checked (a key of :data:`CHECKS`)."""
    if pin is not None and pin.sha256:
        return "pinned-sha256" if pin.sha256 == sha else "not-original"
    if pin is not None and pin.git_blob:
        ok = blob.startswith(pin.git_blob) and (pin.size is None or pin.size == size)
        return "pinned-git-blob" if ok else "not-original"
    if locked.get("sha256"):
        return "download-lock" if locked["sha256"] == sha else "lock-mismatch"
    return "unchecked"


def _origin(item, rel: str, manifest: Mapping, archives: Mapping) -> dict:
    """Where a file of the manifest comes from: its ``url`` and, for a member of an archive, a derived
    file or one fetched by hand, ``from``."""
    row = {}
    if item.url:
        row["url"] = item.url
    if item.kind == "member" and item.archive:
        arch = archives.get(f"archives/{item.archive}")
        row["from"] = f"{item.member} in {arch.url if arch else item.archive}"
    elif item.kind == "derived":
        row["from"] = "made by `mulco download` from " + ", ".join(a.url for a in manifest[item.source].archives if a.url)
    elif item.kind == "manual" and item.how:
        row["from"] = "fetched by hand: " + item.how.replace("{dest}", rel)
    return row


def _file_row(raw_dir: Path, rel: str, manifest: Mapping, items: Mapping, archives: Mapping, lock: Mapping) -> dict:
    """Provenance of one raw file (see :func:`provenance`)."""
    try:
        sha, blob, size = file_hashes(raw_dir / rel)
    except OSError as e:  # the source reported it but it cannot be read now: say so
        return {"path": rel, "size": 0, "sha256": "", "check": "unreadable",
                "error": f"{type(e).__name__}: {e.strerror or e}"}
    _, item = items.get(rel, (None, None))
    locked = (lock.get(rel) or {}) if isinstance(lock.get(rel), Mapping) else {}
    row = {"path": rel, "size": size, "sha256": sha,
           "check": _check(item.pin if item else None, locked, sha, blob, size)}
    if item is not None:
        row.update(_origin(item, rel, manifest, archives))
    if locked.get("verified_by"):
        row["download"] = locked["verified_by"]
    return row


def _files_of(res) -> list | None:
    return getattr(res, "files", None) if not isinstance(res, Mapping) else res.get("files")


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
        files = _files_of(by_source[name])
        if files:
            out[name] = [_file_row(raw_dir, rel, manifest, items, archives, lock) for rel in files]
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


def _step_row(st) -> dict:
    row = {"step": st.name, "records_in": st.records_in, "dropped": st.dropped, "flagged": st.flagged,
           "dropped_by_reason": st.by_reason, "dropped_by_source": st.by_source}
    if st.flagged:
        row["flagged_by_reason"] = st.flagged_by_reason
    return row


def _totals(sources: Mapping[str, dict]) -> dict:
    totals = collections.Counter()
    for s in sources.values():
        for k in ("units_read", "units_kept", "units_quarantined", "records_made", "records_kept"):
            totals[k] += s[k]
        totals["records_skipped"] += sum(s["records_skipped"].values())
        totals["records_dropped"] += sum(s["records_dropped"].values())
    return dict(totals)


def path_free(obj, local: Iterable[Path]):
    """``obj`` (JSON-like) with no absolute local path of the build's inputs: each of ``local`` (the raw
    folder, other input files) is written as its name (``/home/me/data/raw/x/y.json`` -> ``raw/x/y.json``;
    the report's ``raw_dir`` is the name too), and the home folder as ``~``. Nothing written into a build
    folder (report, card) names the machine's paths; the terminal output still does."""
    import os
    import re

    subs: dict[str, str] = {}
    for p in local:
        if p:
            p = Path(p).expanduser()
            for form in (str(p.absolute()), str(p.resolve()), os.path.normpath(p.absolute())):
                if len(form) > 1:
                    subs[form] = p.resolve().name or form
    home = os.path.expanduser("~")
    if home not in ("~", "/", ""):
        subs.setdefault(home, "~")
    if not subs:
        return obj
    pattern = re.compile("|".join(re.escape(k) for k in sorted(subs, key=len, reverse=True)) + r"(?![\w.-])")

    def walk(x):
        if isinstance(x, str):
            return pattern.sub(lambda m: subs[m.group(0)], x) if any(k in x for k in subs) else x
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v) for v in x]
        if isinstance(x, tuple):
            return tuple(walk(v) for v in x)
        return x

    return walk(obj)


def make_report(*, raw_dir: Path, sample: bool, by_source: Mapping, translator, steps: list, leaf_in: Mapping[tuple, int],
                settings: dict, version: str, local_paths: Iterable[Path] = ()) -> dict:
    """The build report; ``provenance`` hashes every raw file a built source read. Each step's own
    section (and the warning when a step was turned off) comes from :mod:`mulco.steps.registry`.
    ``local_paths``: inputs besides ``raw_dir`` whose absolute paths must not appear (:func:`path_free`)."""
    from .steps import registry

    warnings: list[str] = [w for st in steps for w in st.stats.get("warnings", [])]
    warnings += registry.off_warnings({st.name for st in steps})
    sources = {n: r.summary() for n, r in by_source.items()}
    return path_free({
        "mulco_version": version,
        "raw_dir": "<bundled sample>" if sample else raw_dir.name,
        "translator": getattr(translator, "name", None),
        "warnings": warnings,
        "totals": _totals(sources),
        "reconciles": all(s["reconciles"] for s in sources.values()),
        "sources": sources,
        "steps": [_step_row(st) for st in steps],
        "configs": per_config(leaf_in, steps),
        **registry.report_sections(steps),
        "provenance": provenance(raw_dir, {n: r for n, r in by_source.items() if getattr(r, "status", "") == "built"}),
        "settings": settings,
    }, [raw_dir, *local_paths])


# --------------------------------------------------------------------------------------------
# Markdown


def _md_head(report: dict) -> list[str]:
    out = ["# MulCo build report", "",
           f"mulco {report.get('mulco_version')}, raw folder `{report.get('raw_dir')}`, "
           f"translator: {report.get('translator') or 'none'}. Machine-readable: `build_report.json`; "
           "every dropped record, with its reason and what it matched: `quarantine.jsonl`.", ""]
    for w in report.get("warnings", []):
        out += [f"> **Warning:** {w}", ""]
    return out


def _md_accounting(report: dict) -> list[str]:
    t = report.get("totals", {})
    out = ["## Accounting", "",
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
    out += [table(["source", "status", "units read", "kept", "quarantined", "records made", "skipped", "dropped",
                   "records kept", "reconciles"], rows, right={2, 3, 4, 5, 6, 7, 8}), ""]
    why = [[name, what, r, n] for name, s in report.get("sources", {}).items()
           for what, key in (("quarantined", "quarantine_reasons"), ("skipped", "records_skipped"), ("dropped", "records_dropped"))
           for r, n in s.get(key, {}).items()]
    if why:
        out += ["### Not kept, by reason", "", table(["source", "what", "reason", "count"], why, right={3}), ""]
    return out


def _step_reasons(step: dict) -> str:
    """The reasons cell of a step's row: its drops, then what it flagged (each only when there is some)."""
    parts = [reasons(step.get("dropped_by_reason") or {})] if step.get("dropped_by_reason") else []
    if step.get("flagged_by_reason"):
        parts.append("flagged: " + reasons(step["flagged_by_reason"]))
    return "; ".join(parts)


def _md_steps(report: dict) -> list[str]:
    steps = report.get("steps", [])
    out = ["## Quality steps", "", "In order; a record dropped by a step is not seen by the later ones.", ""]
    out += [table(["step", "records in", "dropped", "flagged", "reasons"],
                  [[s.get("step"), s.get("records_in", 0), s.get("dropped", 0), s.get("flagged", 0), _step_reasons(s)]
                   for s in steps], right={1, 2, 3}), ""]
    srcs = sorted({src for s in steps for src in (s.get("dropped_by_source") or {})})
    if srcs:
        out += ["### Dropped per step and source", "",
                table(["step", *srcs], [[s.get("step"), *[s["dropped_by_source"].get(x, 0) for x in srcs]] for s in steps],
                      right=set(range(1, len(srcs) + 1))), ""]
    return out


def _md_configs(report: dict) -> list[str]:
    cf = report.get("configs", {})
    if not cf:
        return []
    steps = [s["step"] for s in report.get("steps", [])]
    used = [s for s in steps if any((c.get("dropped") or {}).get(s) for c in cf.values())]
    return ["## Per config", "", "<details><summary>" + f"{len(cf)} configs" + "</summary>", "",
            table(["config", "records in", *used, "kept"],
                  [[f"`{n}`", c.get("records_in", 0), *[(c.get("dropped") or {}).get(s, 0) for s in used], c.get("kept", 0)]
                   for n, c in cf.items()], right=set(range(1, len(used) + 3))),
            "", "</details>", ""]


def _md_provenance(report: dict) -> list[str]:
    pv = report.get("provenance", {})
    if not pv:
        return []
    out = ["## Provenance", "", "Every raw file a source read, its sha256 and what is known of its content:", ""]
    out += [f"- `{k}`: {v}." for k, v in CHECKS.items()
            if any(isinstance(f, Mapping) and f.get("check") == k for fs in pv.values() for f in fs or [])]
    out += ["", table(["source", "file", "bytes", "sha256", "origin", "check"],
                      [[name, f"`{f.get('path')}`", f.get("size", 0), f"`{f.get('sha256')}`",
                        f.get("url") or f.get("from") or "not in downloads.json", f.get("check")]
                       for name, fs in pv.items() for f in fs or [] if isinstance(f, Mapping)], right={2}), ""]
    return out


def _md_settings(report: dict) -> list[str]:
    st = report.get("settings", {})
    if not st:
        return []
    rows = [[group, k, f"`{v}`"] for group, vals in st.items()
            for k, v in (vals.items() if isinstance(vals, Mapping) else [("", vals)])]
    return ["## Settings", "", table(["step", "setting", "value"], rows), ""]


def render_markdown(report: dict) -> str:
    """The report as Markdown (what the dataset card links to): the accounting, the steps, each step's
    own part (:func:`mulco.steps.registry.markdown_parts`), per config, provenance and settings."""
    from .steps import registry

    out = _md_head(report) + _md_accounting(report) + _md_steps(report)
    for part in registry.markdown_parts():
        out += part(report)
    out += _md_configs(report) + _md_provenance(report) + _md_settings(report)
    return "\n".join(out)
