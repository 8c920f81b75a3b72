"""Property-based tests for every converter: generated raw files, written in the source's own
format, with good rows, rows with a wrong or missing field, rows that are not JSON, random text
(NUL, CRLF, BOMs, lone surrogates, every plane), CRLF files, BOMs, truncated files, misaligned
parallel files. For each generated case ``mulco.build.convert_source``:

* never raises;
* accounts for every raw unit exactly once, kept or quarantined with its file and line
  (none lost, none invented), and ``units_read == units_kept + units_quarantined``;
* keeps every good row and quarantines every bad one;
* makes only records that are valid against the schema (``_translate`` dropped) and writable as
  UTF-8.

``MULCO_FUZZ_EXAMPLES`` sets the cases per converter (default 60); the number run per converter
is printed after this module and written as JSON to ``$MULCO_FUZZ_COUNTS`` when that is set.
"""
from __future__ import annotations

import contextlib
import gzip
import json
import os
import tempfile
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.nasty.accounting import check_accounting
from mulco import sources
from mulco.build import convert_source

EXAMPLES = int(os.environ.get("MULCO_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
COUNTS: dict[str, dict[str, int]] = defaultdict(lambda: {"cases": 0, "units": 0, "kept": 0, "quarantined": 0})


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request):
    yield
    if not COUNTS:
        return
    path = os.environ.get("MULCO_FUZZ_COUNTS")
    if path:
        Path(path).write_text(json.dumps(COUNTS, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tr = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if tr is None:
        return
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        tr.write_line("")
        tr.write_line("fuzzed raw input per converter (cases run; raw units read = kept + quarantined):")
        for name, c in sorted(COUNTS.items()):
            tr.write_line(f"  {name:<26} {c['cases']:>6} cases {c['units']:>8} units = {c['kept']} kept"
                          f" + {c['quarantined']} quarantined")


# --------------------------------------------------------------------------------------------
# Text and values

SPECIAL = ["\x00", "\r\n", "\r", "\n", "\ufeff", "\u2028", "\x1c", "\x85", "\u3000", "\xa0", " ", "\t", "```",
           "```python\n", "<mask>", "<EOL>", "<s>", "\\", '"', "'", "中文", "😀", "\U0010ffff", "<CODESPLIT>",
           "}, {", "[(1, 2), [[", "\\ud800"]
LONE = st.characters(categories=["Cs"])  # lone surrogates: from \ud800 escapes or undecodable bytes


def _text(surrogates: bool, max_size: int = 12):
    parts = [st.characters(codec="utf-8"), st.sampled_from(SPECIAL)] + ([LONE] if surrogates else [])
    return st.lists(st.one_of(*parts), max_size=max_size).map("".join)


nasty_text = _text(True)  # anything at all
clean_text = _text(False)  # any valid Unicode
SAFE = st.characters(categories=["L", "N", "P", "S", "Zs"])  # no controls, no line breaks, no surrogates
good_text = st.lists(st.one_of(SAFE, st.sampled_from(["中文", " ", "é", "\t", "x", "😀"])), max_size=10).map(
    lambda s: "w" + "".join(s))
line_safe = good_text  # no line break of any kind: usable in line-based files
json_any = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | nasty_text,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(nasty_text, c, max_size=3), max_leaves=6)
non_object = json_any.filter(lambda v: not isinstance(v, dict))
BLANKS = ["", " ", "\t", "\r\n", "\u3000", "\ufeff", " \ufeff\n", "\xa0"]
WRONG = [None, True, False, 0, 1, 2.5, [], ["x"], {"k": "v"}]


def has_surrogate(v) -> bool:
    if isinstance(v, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in v)
    if isinstance(v, dict):
        return any(has_surrogate(k) or has_surrogate(x) for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return any(has_surrogate(x) for x in v)
    return False


def spoiled(good, wrong: dict[str, list]):
    """``good`` dicts with one field dropped or replaced by a value listed as wrong for it."""
    def spoil(args):
        d, key, how, pick = args
        d = dict(d)
        if how == "drop":
            d.pop(key, None)
        else:
            d[key] = wrong[key][pick % len(wrong[key])]
        return d
    return st.tuples(good, st.sampled_from(sorted(wrong)), st.sampled_from(["drop", "value"]),
                     st.integers(0, 100)).map(spoil)


def verdict(item, v: str) -> str:
    return "bad" if has_surrogate(item) else v


# --------------------------------------------------------------------------------------------
# Writers


@dataclass(frozen=True)
class Frag:
    """Raw text standing for one broken item of a JSON array (never valid JSON)."""

    text: str


BAD_FRAGMENTS = ['{"instruction": "x", "input": , "output": "y"}', '{"instruction": "x" "output": "y"}',
                 '{"instruction": "unterminated', "{'single': 'quotes'}", '{"a": tru}', "{,}", '{"k": "v"',
                 "nul\x00l", '{"idx": 1, "func": "a\x00b"}', '{"a": "tab\there"}', "@"]
array_format = st.fixed_dictionaries({"indent": st.sampled_from([None, 2, 4, 6]), "ascii": st.booleans(),
                                      "crlf": st.booleans(), "bom": st.booleans(), "cut": st.booleans()})


def json_array(items: list, verdicts: list[str], fmt: dict) -> bytes:
    """A JSON array file of ``items`` (Frag = a broken item), formatted as ``fmt`` says; a cut
    file ends inside its last item, which turns that item bad (``verdicts`` is updated)."""
    parts = [it.text if isinstance(it, Frag) else json.dumps(it, ensure_ascii=fmt["ascii"], indent=fmt["indent"])
             for it in items]
    if fmt["indent"] is None:
        head, sep, tail = "[", ", ", "]"
    else:
        pad = " " * fmt["indent"]
        parts = [pad + p.replace("\n", "\n" + pad) for p in parts]
        head, sep, tail = "[\n", ",\n", "\n]"
    if fmt["cut"] and parts and len(parts[-1].strip()) >= 2:
        last = parts[-1]
        lead = len(last) - len(last.lstrip())
        parts[-1] = last[: lead + max(1, len(last.strip()) // 2)]  # ends inside the item
        verdicts[-1] = "bad"
        text = head + sep.join(parts)
    else:
        text = head + sep.join(parts) + tail
    return encode(text, fmt)


def encode(text: str, fmt: dict) -> bytes:
    data = text.encode("utf-8", "surrogatepass")  # a lone surrogate becomes invalid UTF-8 bytes
    if fmt.get("crlf"):
        data = data.replace(b"\n", b"\r\n")
    return (b"\xef\xbb\xbf" if fmt.get("bom") else b"") + data


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@contextlib.contextmanager
def raw_tree():
    with tempfile.TemporaryDirectory(prefix="mulco-fuzz-") as d:
        yield Path(d) / "raw"


def run(source: str, raw: Path, expected: dict, units: int | None = None, normalize=lambda f: f):
    res = convert_source(source, raw, progress=False)
    check_accounting(res, expected, units if units is not None else len(expected), normalize)
    c = COUNTS[source]
    c["cases"] += 1
    c["units"] += res.units_read
    c["kept"] += res.units_kept
    c["quarantined"] += res.units_quarantined
    return res


def item_or_frag(good, wrong: dict[str, list], anything):
    """(item, verdict) for an array item: good, spoiled, anything, not an object, broken JSON."""
    return st.one_of(
        good.map(lambda d: (d, "good")),
        good.map(lambda d: (d, "good")),
        spoiled(good, wrong).map(lambda d: (d, "bad")),
        anything.map(lambda d: (d, "any")),
        non_object.map(lambda v: (v, "bad")),
        st.sampled_from(BAD_FRAGMENTS).map(lambda t: (Frag(t), "bad")),
    )


def one_line_rule(pairs: list, fmt: dict) -> tuple[list, dict]:
    """In a one-line array the item after a broken one is found by the next ``, {`` that parses,
    so the item right after a broken one must be a whole object (two broken items in a row, a
    broken item and a non-object or a truncated last item count as one unit there), and a
    truncated last item must hold no object (one would count as an item): limits written in
    docs/reliability.md."""
    if fmt["indent"] is not None:
        return pairs, fmt
    out = []
    for it, v in pairs:
        if out and isinstance(out[-1][0], Frag) and not isinstance(it, dict):
            continue
        out.append((it, v))
    if len(out) >= 2 and isinstance(out[-2][0], Frag):
        fmt = dict(fmt, cut=False)
    if out and not isinstance(out[-1][0], Frag) and "{" in json.dumps(out[-1][0])[1:]:
        fmt = dict(fmt, cut=False)  # a truncated item holding objects: those may count as items
    return out, fmt


def array_units(name: str, pairs: list, fmt: dict) -> tuple[bytes, dict]:
    pairs, fmt = one_line_rule(pairs, fmt)
    items = [it for it, _ in pairs]
    verdicts = [verdict(it, v) for it, v in pairs]
    data = json_array(items, verdicts, fmt)
    return data, {(name, str(i)): v for i, v in enumerate(verdicts)}


# --------------------------------------------------------------------------------------------
# codealpaca: one JSON array of {instruction, input, output}

ALPACA = "codealpaca/code_alpaca_20k.json"
# a good answer is code: a value or a sentence without a language is quarantined (issue 23)
alpaca_good = st.fixed_dictionaries({"instruction": good_text, "input": st.one_of(st.just(""), clean_text),
                                     "output": good_text.map(lambda s: "x = 1  # " + s)})
alpaca_item = item_or_frag(
    alpaca_good,
    {"instruction": BLANKS + WRONG, "output": BLANKS + WRONG, "input": [w for w in WRONG]},
    st.dictionaries(st.sampled_from(["instruction", "input", "output", "x"]), st.one_of(nasty_text, json_any)))


@FUZZ
@given(pairs=st.lists(alpaca_item, max_size=8), fmt=array_format)
def test_codealpaca(pairs, fmt):
    with raw_tree() as raw:
        data, expected = array_units(ALPACA, pairs, fmt)
        write(raw / ALPACA, data)
        run("codealpaca", raw, expected)


# --------------------------------------------------------------------------------------------
# devign: function.json (array of {project, commit_id, target, func}) + split index files

DEVIGN = "codexglue/Defect-detection/dataset"
devign_good = st.fixed_dictionaries({
    "project": st.sampled_from(["FFmpeg", "qemu"]), "commit_id": st.text("0123456789abcdef", max_size=8),
    "target": st.sampled_from([0, 1]), "func": good_text})
devign_item = item_or_frag(
    devign_good,
    {"func": BLANKS + [None, 3, [], {}], "target": [2, -1, "1", "0", True, False, None, 1.5, [1], {"v": 1}]},
    st.dictionaries(st.sampled_from(["project", "target", "func", "x"]), st.one_of(nasty_text, json_any)))
JUNK_INDEX = ["x", "1.5", "0x1", "1 2", "-", "NaN", "\x00", "1,2", "\ufffd"]
index_line = st.one_of(st.integers(-3, 12).map(str), st.sampled_from(JUNK_INDEX), st.sampled_from(["", " ", "\t"]),
                       st.integers(0, 9).map(lambda i: f" {i} "))


@FUZZ
@given(pairs=st.lists(devign_item, max_size=8), fmt=array_format,
       index=st.dictionaries(st.sampled_from(["train", "valid", "test"]), st.lists(index_line, max_size=6)),
       crlf=st.booleans(), bom=st.booleans())
def test_devign(pairs, fmt, index, crlf, bom):
    fname = f"{DEVIGN}/function.json"
    with raw_tree() as raw:
        data, expected = array_units(fname, pairs, fmt)
        write(raw / fname, data)
        size = len(expected)  # items written (a broken item right after a broken one is left out)
        listed: dict[int, set[str]] = defaultdict(set)
        for split, lines in index.items():
            name = f"{DEVIGN}/{split}.txt"
            write(raw / name, encode("\n".join(lines) + "\n", {"crlf": crlf, "bom": bom}))
            for lineno, text in enumerate(lines, 1):
                if not text.strip():
                    continue
                try:
                    i = int(text)
                except ValueError:
                    expected[(name, str(lineno))] = ("bad", "bad index line")
                    continue
                if 0 <= i < size:
                    listed[i].add({"valid": "validation"}.get(split, split))
                else:
                    expected[(name, str(lineno))] = ("bad", "unknown index")
        res = run("devign", raw, expected)
        for split, r in res.records:
            i = int(r["source_id"].rsplit(":", 1)[1])
            if listed.get(i):
                want = next(s for s in ("test", "validation", "train") if s in listed[i])
                assert split == want, (i, listed[i], split)


# --------------------------------------------------------------------------------------------
# codexglue_cloze: clozeTest.json arrays + answers.txt

CLOZE_LANGS = ["go", "java", "javascript", "php", "python", "ruby"]
tokens = st.lists(st.one_of(line_safe, st.just("\n")), max_size=5)


@st.composite
def cloze_case(draw):
    kind = draw(st.sampled_from(["maxmin", "all"]))
    lang = draw(st.sampled_from(CLOZE_LANGS + ["cobol"]))
    fmt = draw(array_format)
    n = draw(st.integers(0, 7))
    items, verdicts, answers = [], [], []
    for i in range(n):
        idx = f"{kind}-{i}"
        pl = draw(tokens)
        pl.insert(draw(st.integers(0, len(pl))), "<mask>")
        item = {"idx": idx, "nl_tokens": draw(st.lists(line_safe, max_size=4)), "pl_tokens": pl}
        answer = draw(st.sampled_from(["max", "min", " max "])) if kind == "maxmin" else draw(line_safe)
        v = "good" if lang != "cobol" else "bad"
        how = draw(st.sampled_from(["good"] * 4 + ["two masks", "no mask", "no answer", "bad tokens", "bad answer",
                                                   "int idx", "frag", "anything"]))
        if how == "two masks":
            item["pl_tokens"] = pl + ["<mask>"]
            v = "bad"
        elif how == "no mask":
            item["pl_tokens"] = [t for t in pl if t != "<mask>"]
            v = "bad"
        elif how == "no answer":
            answer, v = None, "bad"
        elif how == "bad tokens":
            item[draw(st.sampled_from(["nl_tokens", "pl_tokens"]))] = draw(st.sampled_from([None, "a b", [1], ["a", None]]))
            v = "bad"
        elif how == "bad answer" and kind == "maxmin":
            answer, v = draw(st.sampled_from(["foo", "", "MAX"])), "bad"
        elif how == "int idx":
            item["idx"], answer, v = i, None, "bad"
        elif how == "frag":
            item, answer, v = Frag(draw(st.sampled_from(BAD_FRAGMENTS))), None, "bad"
        elif how == "anything":
            item, answer, v = draw(json_any), None, ("bad" if not isinstance(item, dict) else "any")
        items.append(item)
        verdicts.append(verdict(item, v))
        if answer is not None:
            answers.append(f"{idx}<CODESPLIT>{answer}")
    kept, fmt = one_line_rule(list(zip(items, verdicts)), fmt)
    items, verdicts = [it for it, _ in kept], [v for _, v in kept]
    has_answers = draw(st.booleans()) or n == 0
    answers_fmt = draw(st.fixed_dictionaries({"crlf": st.booleans(), "bom": st.booleans()}))
    return kind, lang, fmt, items, verdicts, (answers if has_answers else None), answers_fmt


@FUZZ
@given(cases=st.lists(cloze_case(), max_size=3, unique_by=lambda c: (c[0], c[1])))
def test_codexglue_cloze(cases):
    expected = {}
    with raw_tree() as raw:
        for kind, lang, fmt, items, verdicts, answers, answers_fmt in cases:
            base = f"codexglue/ClozeTesting-{kind}"
            name = f"{base}/data/cloze-{kind}/{lang}/clozeTest.json"
            write(raw / name, json_array(items, verdicts, fmt))
            if answers is not None:
                write(raw / f"{base}/evaluator/answers/{lang}/answers.txt",
                      encode("\n".join(answers) + "\n", answers_fmt))
            for i, v in enumerate(verdicts):
                expected[(name, str(i))] = "bad" if answers is None and not isinstance(items[i], Frag) else v
        run("codexglue_cloze", raw, expected)


# --------------------------------------------------------------------------------------------
# codegpt_cn: a zip of JSON arrays; member names GBK bytes without the UTF-8 flag (or flagged)

GPT = "codegpt/CodeGPT-Dataset-V1-CN.zip"
GPT_FOLDERS = ["code-basic", "code-medium", "code-leetcode", "code-text"]
GPT_STEMS = ["Python3", "C#", "Cpp", "Java集合", "Go语言", "数据结构", "SQL", "Scala", "Rust", "leetcode", "😀", "ü"]
fenced = good_text.map(lambda t: f"```python\n{t}\n```")
gpt_good = st.fixed_dictionaries({"user": good_text, "assistant": fenced, "system": clean_text})
gpt_item = st.one_of(
    item_or_frag(gpt_good, {"user": BLANKS + WRONG, "assistant": BLANKS + WRONG},
                 st.dictionaries(st.sampled_from(["user", "assistant", "system"]), st.one_of(nasty_text, json_any))),
    st.fixed_dictionaries({"user": good_text, "assistant": good_text.filter(lambda t: "`" not in t)}).map(
        lambda d: (d, "no fence")),
)


class _NoFlagInfo(zipfile.ZipInfo):
    """A member whose name is stored as GBK bytes without the UTF-8 flag, as in the real zip."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("gbk"), self.flag_bits & ~0x800


@FUZZ
@given(members=st.lists(
    st.tuples(st.sampled_from(GPT_FOLDERS + ["notes", ""]), st.sampled_from(GPT_STEMS), st.booleans(),
              st.lists(gpt_item, max_size=5), array_format),
    max_size=4, unique_by=lambda m: (m[0], m[1])))
def test_codegpt_cn(members):
    expected = {}
    with raw_tree() as raw:
        (raw / GPT).parent.mkdir(parents=True)
        with zipfile.ZipFile(raw / GPT, "w", zipfile.ZIP_DEFLATED) as z:
            for folder, stem, gbk, pairs, fmt in members:
                member = f"{folder}/{stem}.json" if folder else f"{stem}.json"
                try:
                    member.encode("gbk")
                except UnicodeEncodeError:
                    gbk = False
                info = (_NoFlagInfo if gbk else zipfile.ZipInfo)(member, date_time=(2023, 5, 1, 0, 0, 0))
                pairs, fmt = one_line_rule(pairs, fmt)
                items = [it for it, _ in pairs]
                verdicts = [verdict(it, v) for it, v in pairs]
                for i, v in enumerate(verdicts):
                    if v == "no fence":
                        verdicts[i] = "bad" if folder == "code-text" else "any"
                data = json_array(items, verdicts, fmt)
                z.writestr(info, data)
                key = f"{GPT}!{member}"
                try:
                    data.decode("utf-8")
                    utf8 = True
                except UnicodeDecodeError:
                    utf8 = False
                if folder not in GPT_FOLDERS:
                    expected[(key, "member")] = ("bad", "unknown member")
                elif not utf8:
                    expected[(key, "member")] = ("bad", "invalid UTF-8")
                else:
                    expected.update({(key, str(i)): v for i, v in enumerate(verdicts)})
        run("codegpt_cn", raw, expected)


# --------------------------------------------------------------------------------------------
# codepro: one line, a Python literal list of labelled candidates grouped by question

CODEPRO = "codepro/data_hnn/{}_hnn_qid2index_blocks_labeled.txt"
BAD_SHAPES = ["label 2", "label str", "label bool", "no title", "code not nested", "five fields", "lone surrogate"]


@st.composite
def codepro_file(draw):
    """(items, expected by unit key suffix, unit count); item order is shuffled."""
    items, expected = [], {}
    qid = 1000
    for _ in range(draw(st.integers(0, 5))):
        qid += draw(st.integers(1, 50))
        n = draw(st.integers(1, 3))
        kind = draw(st.sampled_from(["good", "good", "no positive", "blank title", "blank code"]))
        labels = [draw(st.sampled_from([0, 1])) for _ in range(n)]
        if kind == "good" and 1 not in labels:
            labels[draw(st.integers(0, n - 1))] = 1
        if kind == "no positive":
            labels = [0] * n
        titles = [draw(good_text) for _ in range(n)]
        codes = [" " + draw(good_text) for _ in range(n)]
        if kind == "blank title":
            titles = [draw(st.sampled_from(BLANKS))] * n
        if kind == "blank code":
            codes[draw(st.integers(0, n - 1))] = draw(st.sampled_from([" ", " \n", "\n\n"]))
        for b in range(n):
            items.append([(qid, b), [[draw(clean_text)], [draw(clean_text)]], [[codes[b]]], [titles[b]], n, labels[b]])
        # one candidate: nothing to choose; no positive: kept, the answer is "none" (issue 23)
        expected[f"qid={qid}"] = ("good" if kind in ("good", "no positive") and n >= 2 else "bad", n)
    for _ in range(draw(st.integers(0, 3))):
        qid += draw(st.integers(1, 50))
        item = _codepro_bad_item(draw, draw(st.sampled_from(BAD_SHAPES)), qid)
        items.append(item)
        expected[("item", id(item))] = ("bad", 1)
    order = draw(st.permutations(range(len(items))))
    return [items[i] for i in order], expected


def _codepro_bad_item(draw, shape: str, qid: int) -> list:
    """A standalone item of question ``qid`` with the bad ``shape`` (one of BAD_SHAPES)."""
    item = [(qid, 0), [[" a"], [" b"]], [[" x = 1"]], [draw(good_text)], 1, 1]
    if shape == "label 2":
        item[5] = 2
    elif shape == "label str":
        item[5] = "1"
    elif shape == "label bool":
        item[5] = True
    elif shape == "no title":
        item[3] = []
    elif shape == "code not nested":
        item[2] = [" x = 1"]
    elif shape == "five fields":
        item = item[:5]
    elif shape == "lone surrogate":
        item[3] = ["title \ud800 " + draw(good_text)]
    return item


@FUZZ
@given(files=st.dictionaries(st.sampled_from(["python", "sql"]), st.tuples(codepro_file(), st.sampled_from(
    ["clean", "clean", "bom crlf", "syntax error", "cut"]))))
def test_codepro(files):
    expected, units = {}, 0
    with raw_tree() as raw:
        for plang, ((items, exp), variant) in files.items():
            name = CODEPRO.format(plang)
            parts = [repr(it) for it in items]
            for key, (v, n) in exp.items():
                if isinstance(key, tuple):  # a standalone bad item: its index in the file
                    index = next(i for i, it in enumerate(items) if id(it) == key[1])
                    expected[(name, str(index))] = v
                else:
                    expected[(name, key)] = v
                units += n
            if variant == "syntax error":
                at = len(parts) // 2
                parts.insert(at, "[(999999, 0), [[' a'], [' b']], [[' broken]], [' t'], 1, 1]")
                # the items after it move up one index
                expected = {(f, str(int(k) + 1)) if f == name and k.isdigit() and int(k) >= at else (f, k): v
                            for (f, k), v in expected.items()}
                expected[(name, str(at))] = ("bad", "Python literal syntax error")
                units += 1
            if variant == "cut":
                parts.append("[(888888, 0), [[' a'], [' b']], [[' cut here'], [' t'], 1, 1]")
                expected[(name, str(len(parts) - 1))] = "bad"
                units += 1
                text = "[" + ", ".join(parts)[:-12]
            else:
                text = "[" + ", ".join(parts) + "]"
            fmt = {"bom": variant == "bom crlf"}
            write(raw / name, encode(text + ("\r\n" if variant == "bom crlf" else ""), fmt))
        run("codepro", raw, expected, units=units)


# --------------------------------------------------------------------------------------------
# bigclonebench: data.jsonl {idx, func} + pair files "idx1<TAB>idx2<TAB>label"

BCB = "codexglue/Clone-detection-BigCloneBench/dataset"


def _bcb_data_line(draw, idx: str, lineno: int, funcs: dict, expected: dict) -> bytes:
    """One line of data.jsonl for function ``idx`` of a drawn kind; ``funcs`` (idx -> usable?) and
    ``expected`` are updated."""
    kind = draw(st.sampled_from(["good"] * 6 + ["int idx", "blank func", "dup", "frag", "no func",
                                 "bad idx", "not object", "surrogate", "invalid utf8", "blank line"]))
    if kind in ("good", "int idx", "blank func", "surrogate"):
        if kind == "blank func":
            func = draw(st.sampled_from(BLANKS))
        elif kind == "surrogate":
            func = "int f() { \udc80 }"
        else:
            func = draw(good_text)
        obj = {"idx": int(idx) if kind == "int idx" else idx, "func": func}
        line = json.dumps(obj, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
        if kind == "surrogate":
            expected[(f"{BCB}/data.jsonl", str(lineno))] = "bad"
        else:
            funcs[idx] = kind != "blank func"
        return line
    if kind == "dup" and funcs:
        dup = draw(st.sampled_from(sorted(funcs)))
        expected[(f"{BCB}/data.jsonl", str(lineno))] = ("bad", "duplicate id")
        return json.dumps({"idx": dup, "func": "int g() {}"}).encode()
    if kind == "blank line":
        return draw(st.sampled_from([b"", b"  ", b"\t"]))
    if kind == "invalid utf8":
        expected[(f"{BCB}/data.jsonl", str(lineno))] = ("bad", "invalid UTF-8")
        return b'{"idx": "' + idx.encode() + b'", "func": "\xff\xfe"}'
    expected[(f"{BCB}/data.jsonl", str(lineno))] = "bad"
    return {"frag": draw(st.sampled_from(BAD_FRAGMENTS)).encode(), "dup": b"[1, 2]",
            "no func": json.dumps({"idx": idx}).encode(),
            "bad idx": json.dumps({"idx": draw(st.sampled_from([None, True, "", " ", [1]])), "func": "x"}).encode(),
            "not object": json.dumps(draw(non_object)).encode()}[kind]


@st.composite
def bcb_case(draw):
    lines, expected, funcs = [], {}, {}  # funcs: idx -> usable?
    for i in range(draw(st.integers(0, 8))):
        lines.append(_bcb_data_line(draw, str(100 + i), len(lines) + 1, funcs, expected))
    pair_files = {}
    known = sorted(funcs) or ["999"]
    some_id = st.one_of(st.sampled_from(known), st.sampled_from(known), st.sampled_from(["999", "abc", "1e2"]))
    for split in draw(st.lists(st.sampled_from(["train", "valid", "test"]), unique=True, min_size=1)):
        name = f"{BCB}/{split}.txt"
        plines = []
        for lineno in range(1, draw(st.integers(0, 6)) + 1):
            a, b = draw(some_id), draw(some_id)
            label = draw(st.sampled_from(["0", "1"] * 4 + ["2", "-1", "yes", "1.0", "01"]))
            sep = draw(st.sampled_from(["\t", " ", "  \t"]))
            shape = draw(st.sampled_from(["ok"] * 6 + ["two fields", "four fields", "blank"]))
            if shape == "two fields":
                plines.append(f"{a}{sep}{b}")
                expected[(name, str(lineno))] = ("bad", "malformed pair line")
            elif shape == "four fields":
                plines.append(f"{a}{sep}{b}{sep}{label}{sep}x")
                expected[(name, str(lineno))] = ("bad", "malformed pair line")
            elif shape == "blank":
                plines.append(draw(st.sampled_from(["", " ", "\t"])))
            else:
                plines.append(f"{a}{sep}{b}{sep}{label}")
                if a not in funcs or b not in funcs:
                    expected[(name, str(lineno))] = ("bad", "unknown id")
                elif label not in ("0", "1") or not (funcs[a] and funcs[b]):
                    expected[(name, str(lineno))] = "bad"
                else:
                    expected[(name, str(lineno))] = "good"
        pair_files[name] = plines
    fmt = draw(st.fixed_dictionaries({"crlf": st.booleans(), "bom": st.booleans()}))
    return lines, pair_files, expected, fmt


@FUZZ
@given(case=bcb_case())
def test_bigclonebench(case):
    lines, pair_files, expected, fmt = case
    with raw_tree() as raw:
        data = b"\n".join(lines) + b"\n"
        if fmt["crlf"]:
            data = data.replace(b"\n", b"\r\n")
        write(raw / f"{BCB}/data.jsonl", (b"\xef\xbb\xbf" if fmt["bom"] else b"") + data)
        for name, plines in pair_files.items():
            write(raw / name, encode("\n".join(plines) + ("\n" if plines else ""), fmt))
        run("bigclonebench", raw, expected)


# --------------------------------------------------------------------------------------------
# JSON Lines sources: codesearchnet, codexglue_line_completion


def jsonl_file(rows: list, fmt: dict) -> tuple[bytes, dict[int, str]]:
    """(file bytes, {line number: verdict}) for rows (obj, verdict); blank lines are interleaved."""
    out, verdicts = [], {}
    for obj, v in rows:
        if v == "blank":
            out.append(b"   ")
            continue
        if isinstance(obj, Frag):
            line = obj.text.encode("utf-8")
        elif isinstance(obj, bytes):
            line = obj
        else:
            line = json.dumps(obj, ensure_ascii=fmt["ascii"]).encode("utf-8", "surrogatepass")
        out.append(line)
        verdicts[len(out)] = verdict(obj, v) if not isinstance(obj, bytes) else v
    data = b"\n".join(out) + (b"\n" if out else b"")
    if fmt["crlf"]:
        data = data.replace(b"\n", b"\r\n")
    return (b"\xef\xbb\xbf" if fmt["bom"] else b"") + data, verdicts


jsonl_format = st.fixed_dictionaries({"ascii": st.booleans(), "crlf": st.booleans(), "bom": st.booleans(),
                                      "gz": st.booleans()})


def jsonl_row(good, wrong: dict[str, list], anything):
    return st.one_of(
        good.map(lambda d: (d, "good")),
        good.map(lambda d: (d, "good")),
        spoiled(good, wrong).map(lambda d: (d, "bad")),
        anything.map(lambda d: (d, "any")),
        non_object.map(lambda v: (v, "bad")),
        st.sampled_from(BAD_FRAGMENTS[:-1]).map(lambda t: (Frag(t), "bad")),
        st.sampled_from([b'{"a": "\xff"}', b"\xfe\xff{}", b'{"code": "\xed\xa0\x80"}']).map(lambda b: (b, "bad")),
        st.just((None, "blank")),
    )


CSN_LANGS = ["go", "java", "javascript", "php", "python", "ruby"]
code_text = st.lists(good_text, min_size=1, max_size=5).map("\n".join)
csn_good = st.fixed_dictionaries({
    "language": st.sampled_from(CSN_LANGS + ["Python", " go "]),
    "code": st.one_of(code_text, code_text.map(lambda c: f"def f(x):\n    {c}"), code_text.map(lambda c: c + "\r\n")),
    "docstring": st.one_of(good_text, good_text.map(lambda t: f"{t}\n\n@param x the x"),
                           good_text.map(lambda t: f"  {t}\n  more\n\n  Args:\n    x: y")),
    "func_name": clean_text, "repo": st.just("a/b"), "path": st.just("x.py")})
csn_row = jsonl_row(csn_good, {
    "language": ["cobol", "", None, 3], "code": BLANKS + [None, 3, []],
    "docstring": ["", " ", "@param x", ":returns: y", None, 5, "\ufeff"]},
    st.dictionaries(st.sampled_from(["language", "code", "docstring", "x"]), st.one_of(nasty_text, json_any)))
CSN_PATHS = ["codesearchnet/{lang}/{split}.jsonl", "codesearchnet/{lang}/final/jsonl/{split}/{lang}_{split}_0.jsonl.gz"]


@FUZZ
@given(files=st.lists(st.tuples(st.sampled_from(CSN_LANGS + ["cobol"]), st.sampled_from(["train", "valid", "test"]),
                                st.integers(0, 1), st.lists(csn_row, max_size=6), jsonl_format),
                      max_size=3, unique_by=lambda f: f[:3]))
def test_codesearchnet(files):
    expected = {}
    with raw_tree() as raw:
        for lang, split, layout, rows, fmt in files:
            name = CSN_PATHS[layout].format(lang=lang, split=split)
            data, verdicts = jsonl_file(rows, fmt)
            if layout == 0 and fmt["gz"]:
                name += ".gz"
            if name.endswith(".gz"):
                data = gzip.compress(data, mtime=0)
            write(raw / name, data)
            expected.update({(name, str(n)): v for n, v in verdicts.items()})
        run("codesearchnet", raw, expected)


LC_CORPORA = ["py150", "javaCorpus"]
lc_good = st.fixed_dictionaries({
    "input": st.one_of(good_text.map(lambda t: f"<s> {t}"), st.tuples(good_text, good_text).map(
        lambda ts: f"<s> {ts[0]} <EOL> {ts[1]} <EOL> ")),
    "gt": good_text})
lc_row = jsonl_row(lc_good, {"input": BLANKS + ["<s>", " <s> ", None, 3], "gt": BLANKS + [None, 3, []]},
                   st.dictionaries(st.sampled_from(["input", "gt", "x"]), st.one_of(nasty_text, json_any)))


@FUZZ
@given(files=st.lists(st.tuples(st.sampled_from(LC_CORPORA + ["other"]), st.sampled_from(["train", "dev", "test"]),
                                st.booleans(), st.lists(lc_row, max_size=6), jsonl_format),
                      max_size=3, unique_by=lambda f: f[:3]))
def test_codexglue_line_completion(files):
    expected = {}
    with raw_tree() as raw:
        for corpus, split, nested, rows, fmt in files:
            name = f"codexglue/CodeCompletion-line/dataset/{corpus}/" + ("line_completion/" if nested else "") + \
                f"{split}.json"
            data, verdicts = jsonl_file(rows, fmt)
            write(raw / name, data)
            if corpus != "other":  # files outside py150/ and javaCorpus/ are not this source's
                expected.update({(name, str(n)): v for n, v in verdicts.items()})
        run("codexglue_line_completion", raw, expected)


# --------------------------------------------------------------------------------------------
# Parallel line files: codexglue_refinement (.buggy/.fixed), codexglue_translation (.java/.cs)

@st.composite
def parallel_case(draw, refinement: bool):
    left, right, verdicts = [], [], {}
    for lineno in range(1, draw(st.integers(0, 7)) + 1):
        kind = draw(st.sampled_from(["good"] * 5 + ["same", "left blank", "right blank", "both blank",
                                                    "invalid left", "invalid right", "anything"]))
        a, b = draw(line_safe), draw(line_safe)
        if refinement and a.split() == b.split():
            b = b + " ;"
        v = "good"
        if kind == "same":
            b, v = a, ("bad" if refinement else "good")
        elif kind == "left blank":
            a, v = draw(st.sampled_from([" ", "\t", "\ufeff", "\u3000"])), "bad"
        elif kind == "right blank":
            b, v = draw(st.sampled_from([" ", "\t", "\ufeff", "\u3000"])), "bad"
        elif kind == "both blank":
            a, b, v = "", " ", None
        elif kind == "anything":
            a, b = (draw(clean_text).replace("\n", "").lstrip("\ufeff") for _ in "ab")
            v = "any" if a.encode().strip() or b.encode().strip() else None  # a blank pair is no unit
        left.append(a.encode() if kind != "invalid left" else b"int \xff x")
        right.append(b.encode() if kind != "invalid right" else b"int \xc3( x")
        if kind.startswith("invalid"):
            v = ("bad", "invalid UTF-8")
        if v is not None:
            verdicts[lineno] = v
    extra_side = draw(st.sampled_from(["left", "right"]))
    for _ in range(draw(st.integers(0, 2))):
        text = draw(st.sampled_from([b"", b"  ", b"extra line"]))
        (left if extra_side == "left" else right).append(text)
        if text.strip():
            verdicts[max(len(left), len(right))] = ("bad", "misaligned")
    fmt = draw(st.fixed_dictionaries({"crlf": st.booleans(), "bom_left": st.booleans(), "bom_right": st.booleans(),
                                      "final_newline": st.booleans()}))
    return left, right, verdicts, fmt


def parallel_bytes(lines: list[bytes], fmt: dict, bom: bool) -> bytes:
    nl = b"\r\n" if fmt["crlf"] else b"\n"
    data = nl.join(lines) + (nl if lines and fmt["final_newline"] else b"")
    return (b"\xef\xbb\xbf" if bom else b"") + data


def _parallel(source: str, pairs: list[tuple[str, str]], cases, left_suffix: str, right_suffix: str):
    expected = {}
    with raw_tree() as raw:
        for (lname, rname), (left, right, verdicts, fmt) in zip(pairs, cases):
            write(raw / lname, parallel_bytes(left, fmt, fmt["bom_left"]))
            write(raw / rname, parallel_bytes(right, fmt, fmt["bom_right"]))
            expected.update({(lname, str(n)): v for n, v in verdicts.items()})
        run(source, raw, expected, normalize=lambda f: f[: -len(right_suffix)] + left_suffix
            if f.endswith(right_suffix) else f)


@FUZZ
@given(cases=st.lists(st.tuples(st.sampled_from(["small", "medium"]), st.sampled_from(["train", "valid", "test"]),
                                parallel_case(refinement=True)), max_size=3, unique_by=lambda c: c[:2]))
def test_codexglue_refinement(cases):
    pairs = [(f"codexglue/code-refinement/data/{size}/{split}.buggy-fixed.buggy",
              f"codexglue/code-refinement/data/{size}/{split}.buggy-fixed.fixed") for size, split, _ in cases]
    _parallel("codexglue_refinement", pairs, [c for _, _, c in cases], ".buggy", ".fixed")


@FUZZ
@given(cases=st.lists(st.tuples(st.sampled_from(["train", "valid", "test"]), parallel_case(refinement=False)),
                      max_size=3, unique_by=lambda c: c[0]))
def test_codexglue_translation(cases):
    pairs = [(f"codexglue/code-to-code-trans/data/{split}.java-cs.txt.java",
              f"codexglue/code-to-code-trans/data/{split}.java-cs.txt.cs") for split, _ in cases]
    _parallel("codexglue_translation", pairs, [c for _, c in cases], ".java", ".cs")


def test_every_registered_source_is_fuzzed():
    fuzzed = {name[len("test_"):] for name in globals() if name.startswith("test_") and name != "test_every_registered_source_is_fuzzed"}
    assert fuzzed == set(sources.names())
