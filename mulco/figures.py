"""The figures the dataset card shows about the records, counted from the Arrow tables the writer
writes (:func:`mulco.writer.write_folder` hands each table to a :class:`Tally` as it writes it), so the
card renders them and never reads the Parquet files back. :func:`of_folder` counts the same figures
from a built folder's Parquet files, for re-rendering a card without a build (``publish --repo-id``).
"""
from __future__ import annotations

import collections
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

#: An e-mail address, for the card's count of records that contain one.
EMAIL_RE = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"


@dataclass
class Figures:
    """What the card says about the records themselves."""

    #: (task, subtask, lang) -> the record with the smallest id (the same on every rebuild).
    examples: dict[tuple, dict] = field(default_factory=dict)
    #: task -> {"prompt": [chars of instruction + input], "output": [chars of output]}, sorted.
    lengths: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    #: source -> licenses its records carry.
    licenses: dict[str, list[str]] = field(default_factory=dict)
    #: (task, subtask) -> [ZH records, ZH records that are template twins of an EN record: made from
    #: the same raw row as an EN record, with a Chinese template as their text (``text_origin``
    #: ``template``; in builds without that field: the same ``input``)].
    twins: dict[tuple, list[int]] = field(default_factory=dict)
    #: source -> records whose instruction, input or output contains an e-mail address.
    emails: dict[str, int] = field(default_factory=dict)
    #: lang -> {text_origin -> records} (builds whose records have ``text_origin``).
    origins: dict[str, dict[str, int]] = field(default_factory=dict)
    #: license -> records (the card's "choosing by licence" table).
    license_records: dict[str, int] = field(default_factory=dict)
    #: "task" or "task.subtask" -> characters of the records' outputs (what a model is trained to write).
    output_chars: dict[str, int] = field(default_factory=dict)


def _digest(*parts: str) -> bytes:
    h = hashlib.blake2b(digest_size=12)
    for p in parts:
        h.update(p.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.digest()


class Tally:
    """Counts :class:`Figures` over Arrow tables of records, one :meth:`add` per table, in any order."""

    def __init__(self) -> None:
        self.examples: dict[tuple, dict] = {}
        self.lengths: dict[str, dict[str, list[int]]] = collections.defaultdict(lambda: {"prompt": [], "output": []})
        self.licenses: dict[str, set] = collections.defaultdict(set)
        self.en: dict[bytes, bytes] = {}
        self.zh: list[tuple[tuple, bytes, bool | None, bytes]] = []
        self.emails: collections.Counter = collections.Counter()
        self.origins: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.license_records: collections.Counter = collections.Counter()
        self.output_chars: collections.Counter = collections.Counter()

    def add(self, table) -> None:
        """Count one ``pyarrow.Table`` of records (the record schema's columns)."""
        import pyarrow.compute as pc

        if table.num_rows == 0:
            return
        prompt = pc.add(pc.utf8_length(table["instruction"]), pc.utf8_length(table["input"])).to_pylist()
        output = pc.utf8_length(table["output"]).to_pylist()
        tasks = table["task"].to_pylist()
        for t, sub, p, o in zip(tasks, table["subtask"].to_pylist(), prompt, output):
            self.lengths[t]["prompt"].append(p)
            self.lengths[t]["output"].append(o)
            self.output_chars[f"{t}.{sub}" if sub else t] += o
        self.license_records.update(table["license"].to_pylist())
        for pair in pc.unique(pc.binary_join_element_wise(table["source"], table["license"], "\x1f")).to_pylist():
            src, lic = pair.split("\x1f", 1)
            self.licenses[src].add(lic)
        has_mail = pc.or_(pc.or_(pc.match_substring_regex(table["instruction"], EMAIL_RE),
                                 pc.match_substring_regex(table["input"], EMAIL_RE)),
                          pc.match_substring_regex(table["output"], EMAIL_RE))
        sources = table["source"].to_pylist()
        for src, hit in zip(sources, has_mail.to_pylist()):
            if hit:
                self.emails[src] += 1
        langs = table["lang"].to_pylist()
        origin = table["text_origin"].to_pylist() if "text_origin" in table.column_names else [None] * len(langs)
        for lang, o in zip(langs, origin):
            if o is not None:
                self.origins[lang][o] += 1
        self._twins(table, tasks, langs, sources, origin)
        self._examples(table, tasks, langs)

    def _twins(self, table, tasks, langs, sources, origin) -> None:
        subs = table["subtask"].to_pylist()
        sids = table["source_id"].to_pylist()
        inputs = table["input"].to_pylist()
        for i, lang in enumerate(langs):
            unit = _digest(sources[i], sids[i], tasks[i], subs[i] or "")
            if lang == "en":
                self.en[unit] = _digest(inputs[i])
            else:
                # a template twin: an EN record came from the same raw row, and this one's text is
                # a template (``text_origin``; builds without it: the same ``input``)
                self.zh.append(((tasks[i], subs[i]), unit, None if origin[i] is None else origin[i] == "template",
                                _digest(inputs[i])))

    def _examples(self, table, tasks, langs) -> None:
        ids = table["id"].to_pylist()
        best: dict[tuple, int] = {}
        for i, key in enumerate(zip(tasks, table["subtask"].to_pylist(), langs)):
            if key not in best or ids[i] < ids[best[key]]:
                best[key] = i
        for key, i in best.items():
            if key not in self.examples or ids[i] < self.examples[key]["id"]:
                self.examples[key] = table.slice(i, 1).to_pylist()[0]

    def figures(self) -> Figures:
        twins: dict[tuple, list[int]] = {}
        for key, unit, template, body in self.zh:
            c = twins.setdefault(key, [0, 0])
            c[0] += 1
            c[1] += unit in self.en and (template if template is not None else self.en[unit] == body)
        lengths = {t: {part: sorted(v) for part, v in parts.items()} for t, parts in self.lengths.items()}
        return Figures(self.examples, lengths, {k: sorted(v) for k, v in sorted(self.licenses.items())},
                       dict(sorted(twins.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))),
                       dict(sorted(self.emails.items())),
                       {lang: dict(sorted(c.items())) for lang, c in sorted(self.origins.items())},
                       dict(sorted(self.license_records.items())), dict(sorted(self.output_chars.items())))


def of_folder(folder: Path) -> Figures:
    """The figures of a built folder, from its Parquet files (the build itself counts them as it writes)."""
    import pyarrow.parquet as pq

    folder = Path(folder)
    tally = Tally()
    for path in sorted((folder / "data").rglob("*.parquet"), key=lambda p: p.relative_to(folder).as_posix()):
        tally.add(pq.read_table(path))
    return tally.figures()


__all__ = ["EMAIL_RE", "Figures", "Tally", "of_folder"]
