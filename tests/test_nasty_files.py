"""Hand-made nasty raw files for every converter, made at test time from the bundled sample
(copied into a temp raw folder, then corrupted): truncated JSON, a broken item in the middle of
an array, invalid UTF-8, undecodable (GBK) member and file names, BOMs, CRLF, NUL bytes, 10 MB
single lines, empty files, misaligned parallel files, pairs naming unknown ids, labels outside
{0, 1}, Python literals with a syntax error (or a call in them), truncated and corrupt gzip and
zip files.

Each case starts from the sample's own accounting (which units it keeps and quarantines), says
what the corruption changes, and checks with ``fixtures.nasty.accounting.check_accounting``:
nothing raises, every good unit is kept, every bad one quarantined with its file, line and
reason, no unit lost or invented, counts reconcile, every record is schema-valid. A full
``mulco build`` over one raw folder holding a corruption of every source closes the file.
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fixtures.nasty.accounting import check_accounting, unit_keys
from mulco import sources
from mulco.build import convert_source, sample_raw_dir

SAMPLE = sample_raw_dir()
TEN_MB = 10 * 1024 * 1024
BOM = b"\xef\xbb\xbf"
GBK_NAME = "测试".encode("gbk")  # b"\xb2\xe2\xca\xd4": not UTF-8
GBK_SHOWN = "\\xb2\\xe2\\xca\\xd4"  # how the quarantine and source ids write it


def _normalize_parallel(f: str) -> str:
    for right, left in ((".buggy-fixed.fixed", ".buggy-fixed.buggy"), (".java-cs.txt.cs", ".java-cs.txt.java")):
        if f.endswith(right):
            return f[: -len(right)] + left
    return f


NORMALIZE = {"codexglue_refinement": _normalize_parallel, "codexglue_translation": _normalize_parallel}


@dataclass
class Case:
    """A raw folder (a copy of the sample's files of one source) and what a conversion must do."""

    source: str
    raw: Path
    expected: dict = field(default_factory=dict)
    units: int = 0

    def path(self, rel: str) -> Path:
        return self.raw / rel

    def keys(self, file: str) -> list[tuple[str, str]]:
        return sorted((k for k in self.expected if k[0] == file), key=lambda k: (len(k[1]), k[1]))

    def set(self, key: tuple, verdict, weight: int = 1) -> None:
        if key not in self.expected:
            self.units += weight
        self.expected[key] = verdict

    def drop(self, key: tuple, weight: int = 1) -> None:
        del self.expected[key]
        self.units -= weight

    def drop_file(self, file: str) -> None:
        for k in self.keys(file):
            self.drop(k)

    def check(self):
        res = convert_source(self.source, self.raw, progress=False)
        check_accounting(res, self.expected, self.units, NORMALIZE.get(self.source, lambda f: f))
        return res


def make_case(source: str, tmp_path: Path, raw: Path | None = None) -> Case:
    """The sample files of ``source`` in a raw folder (``tmp_path/raw`` unless given), with the
    sample's accounting."""
    raw = raw or tmp_path / "raw"
    mod = sources.get(source)
    for p in mod.find(SAMPLE):
        dst = raw / p.relative_to(SAMPLE)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dst)
    res = convert_source(source, raw, progress=False)
    kept, quarantined = unit_keys(res, NORMALIZE.get(source, lambda f: f))
    expected = {k: "good" for k in kept}
    expected.update({k: ("bad", q[0]["reason"]) for k, q in quarantined.items()})
    return Case(source, raw, expected, res.units_read)


# --------------------------------------------------------------------------------------------
# File helpers


def load_array(path: Path) -> list:
    return json.loads(path.read_text(encoding="utf-8-sig"))


def write_array(path: Path, parts: list, indent: int | None = 6) -> bytes:
    """A JSON array of ``parts`` (items, or ``bytes`` written as they are), pretty or on one line."""
    texts = [p if isinstance(p, bytes) else json.dumps(p, indent=indent, ensure_ascii=False).encode() for p in parts]
    if indent is None:
        data = b"[" + b", ".join(texts) + b"]"
    else:
        pad = b" " * indent
        data = b"[\n" + b",\n".join(pad + t.replace(b"\n", b"\n" + pad) for t in texts) + b"\n]"
    path.write_bytes(data)
    return data


def crlf_bom(path: Path) -> None:
    data = path.read_bytes()
    if not data.startswith(BOM):
        data = BOM + data
    path.write_bytes(data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


def cut_last_item(path: Path, parts: list, indent: int | None = 6) -> None:
    """Write the array and truncate it in the middle of its last item."""
    data = write_array(path, parts, indent)
    last = json.dumps(parts[-1], indent=indent, ensure_ascii=False).encode()
    if indent is not None:
        last = b" " * indent + last.replace(b"\n", b"\n" + b" " * indent)
    tail = 1 if indent is None else 2  # "]" or "\n]"
    path.write_bytes(data[: len(data) - tail - len(last) // 2])


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1] if path.read_bytes().endswith(b"\n") else path.read_bytes().split(b"\n")


def write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"\n".join(lines) + b"\n")


def gbk_copy(case: Case, rel: str, new_rel: str) -> str:
    """Copy a raw file under a name with GBK bytes (not UTF-8); return its name as the source shows it."""
    src = case.path(rel)
    dst = os.path.join(os.fsencode(case.raw), os.fsencode(new_rel).replace(b"GBK", GBK_NAME))
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copyfile(src, dst)
    return new_rel.replace("GBK", GBK_SHOWN)


BROKEN_ITEM = b'{"instruction": "x", "input": , "output": "y"}'


# --------------------------------------------------------------------------------------------
# codealpaca: one JSON array, pretty-printed with 6 spaces

ALPACA = "codealpaca/code_alpaca_20k.json"


def alpaca_truncated(c: Case):
    items = load_array(c.path(ALPACA))
    cut_last_item(c.path(ALPACA), items)
    c.set((ALPACA, str(len(items) - 1)), ("bad", "bad JSON in array item"))


def alpaca_broken_middle(c: Case, indent=6):
    items = load_array(c.path(ALPACA))
    write_array(c.path(ALPACA), items[:2] + [BROKEN_ITEM] + items[2:], indent)
    c.set((ALPACA, "2"), ("bad", "bad JSON in array item: starting at line"))
    for i in range(2, len(items)):
        c.set((ALPACA, str(i + 1)), "good")


def alpaca_broken_middle_one_line(c: Case):
    alpaca_broken_middle(c, indent=None)


def alpaca_two_broken_one_line(c: Case):
    """Two broken items in a row that open like the good ones: one unit each."""
    items = load_array(c.path(ALPACA))
    second = b'{"instruction": "unterminated, "input": "", "output": "z"}'
    write_array(c.path(ALPACA), items[:2] + [BROKEN_ITEM, second] + items[2:], None)
    c.set((ALPACA, "2"), ("bad", "bad JSON"))
    c.set((ALPACA, "3"), ("bad", "bad JSON"))
    for i in range(2, len(items)):
        c.set((ALPACA, str(i + 2)), "good")


def alpaca_invalid_utf8(c: Case):
    data = c.path(ALPACA).read_bytes()
    at = data.index(b"square of a number")
    c.path(ALPACA).write_bytes(data[:at] + b"\xff\xfe" + data[at:])  # in item 0's instruction
    c.set((ALPACA, "0"), ("bad", "invalid UTF-8: undecodable bytes in field 'instruction'"))


def alpaca_bom_crlf(c: Case):
    crlf_bom(c.path(ALPACA))


def alpaca_nul(c: Case):
    data = c.path(ALPACA).read_bytes()
    at = data.index(b"square of a number")
    c.path(ALPACA).write_bytes(data[:at] + b"\x00" + data[at:])  # a raw NUL in a JSON string
    c.set((ALPACA, "0"), ("bad", "bad JSON in array item"))


def alpaca_escaped_nul_and_lone_surrogate(c: Case):
    items = load_array(c.path(ALPACA))
    items[0]["output"] += "\u0000"
    items[1]["output"] += "\ud800"
    c.path(ALPACA).write_text(json.dumps(items, indent=6), encoding="utf-8")  # \u0000 and \ud800 escapes
    c.set((ALPACA, "1"), ("bad", "invalid Unicode: lone surrogate in field 'output'"))


def alpaca_ten_mb_line(c: Case):
    items = load_array(c.path(ALPACA))
    items[1]["output"] = "x = 1  # " + "y" * TEN_MB
    write_array(c.path(ALPACA), items, None)


def alpaca_empty(c: Case):
    c.path(ALPACA).write_bytes(b"")
    c.drop_file(ALPACA)
    c.set((ALPACA, "file"), ("bad", "not a JSON array"))


def alpaca_not_an_array(c: Case):
    c.path(ALPACA).write_bytes(b'{"instruction": "a", "input": "", "output": "b"}')
    c.drop_file(ALPACA)
    c.set((ALPACA, "file"), ("bad", "expected a JSON array"))


def alpaca_gbk_file_name(c: Case):
    name = gbk_copy(c, ALPACA, "codealpaca/code_alpaca_GBK.json")
    for k in c.keys(ALPACA):
        c.set((name, k[1]), "good")


# --------------------------------------------------------------------------------------------
# devign: function.json (one line) + index files

DEVIGN = "codexglue/Defect-detection/dataset"
FUNCS = f"{DEVIGN}/function.json"


def devign_truncated(c: Case):
    items = load_array(c.path(FUNCS))
    cut_last_item(c.path(FUNCS), items, None)
    c.set((FUNCS, str(len(items) - 1)), ("bad", "bad JSON in array item"))


def devign_broken_middle(c: Case):
    items = load_array(c.path(FUNCS))
    write_array(c.path(FUNCS), items[:3] + [b'{"project": "FFmpeg", "target": 1, "func": "int f(void) {"'] + items[3:],
                None)
    c.set((FUNCS, "3"), ("bad", "bad JSON in array item"))
    for i in range(3, len(items)):
        c.set((FUNCS, str(i + 1)), "good")
    # the index files now point one item off after 3: that is the raw data's problem, not ours
    for split in ("train", "valid", "test"):
        p = c.path(f"{DEVIGN}/{split}.txt")
        p.write_text("".join(f"{i if i < 3 else i + 1}\n" for i in map(int, p.read_text().split())))


def devign_labels(c: Case):
    items = load_array(c.path(FUNCS))
    items[0]["target"], items[1]["target"], items[2]["target"] = 2, "1", True
    write_array(c.path(FUNCS), items, None)
    c.set((FUNCS, "0"), ("bad", "target 2 is not 0 or 1"))
    c.set((FUNCS, "1"), ("bad", "target '1' is not 0 or 1"))
    c.set((FUNCS, "2"), ("bad", "target True is not 0 or 1"))


def devign_unknown_indices(c: Case):
    p = c.path(f"{DEVIGN}/train.txt")
    n = len(p.read_text().split())
    p.write_text(p.read_text() + "99\n-1\nseven\n")
    c.set((f"{DEVIGN}/train.txt", str(n + 1)), ("bad", "unknown index: 99"))
    c.set((f"{DEVIGN}/train.txt", str(n + 2)), ("bad", "unknown index: -1"))
    c.set((f"{DEVIGN}/train.txt", str(n + 3)), ("bad", "bad index line"))


def devign_bom_crlf(c: Case):
    for f in ("function.json", "train.txt", "valid.txt", "test.txt"):
        crlf_bom(c.path(f"{DEVIGN}/{f}"))


def devign_invalid_utf8_and_nul(c: Case):
    data = c.path(FUNCS).read_bytes()
    at = data.index(b"memcpy")
    at2 = data.index(b'"func"', data.index(b'"target"', at + 100))
    data = data[:at] + b"\xc3\x28" + data[at:at2 + 9] + b"\x00" + data[at2 + 9:]
    c.path(FUNCS).write_bytes(data)
    c.set((FUNCS, "0"), ("bad", "invalid UTF-8: undecodable bytes in field 'func'"))
    c.set((FUNCS, "1"), ("bad", "bad JSON in array item"))


def devign_empty(c: Case):
    c.path(FUNCS).write_bytes(b"")
    c.drop_file(FUNCS)
    c.set((FUNCS, "file"), ("bad", "not a JSON array"))


def devign_empty_index_files(c: Case):
    for split in ("train", "valid", "test"):
        c.path(f"{DEVIGN}/{split}.txt").write_bytes(b"")


# --------------------------------------------------------------------------------------------
# bigclonebench: data.jsonl + pair files

BCB = "codexglue/Clone-detection-BigCloneBench/dataset"
BCB_DATA, BCB_TRAIN = f"{BCB}/data.jsonl", f"{BCB}/train.txt"


def _pairs_using(c: Case, idx: str) -> list[tuple[str, str]]:
    out = []
    for split in ("train", "valid", "test"):
        name = f"{BCB}/{split}.txt"
        for n, line in enumerate(c.path(name).read_text().splitlines(), 1):
            if idx in line.split()[:2]:
                out.append((name, str(n)))
    return out


def bcb_unknown_ids_and_labels(c: Case):
    p = c.path(BCB_TRAIN)
    n = len(p.read_text().splitlines())
    p.write_text(p.read_text() + "101\t999\t1\n101\t102\t2\n101\t102\t-1\n101 102\n101\x00\t102\t1\n")
    c.set((BCB_TRAIN, str(n + 1)), ("bad", "unknown id: 999"))
    c.set((BCB_TRAIN, str(n + 2)), ("bad", "label '2' is not 0 or 1"))
    c.set((BCB_TRAIN, str(n + 3)), ("bad", "label '-1' is not 0 or 1"))
    c.set((BCB_TRAIN, str(n + 4)), ("bad", "malformed pair line"))
    c.set((BCB_TRAIN, str(n + 5)), ("bad", "unknown id"))


def _break_data_line(c: Case, lineno: int, new: bytes, reason: str):
    lines = lines_of(c.path(BCB_DATA))
    idx = json.loads(lines[lineno - 1])["idx"]
    lines[lineno - 1] = new
    write_lines(c.path(BCB_DATA), lines)
    c.set((BCB_DATA, str(lineno)), ("bad", reason))
    for key in _pairs_using(c, idx):
        c.set(key, ("bad", f"unknown id: {idx}"))


def bcb_data_truncated(c: Case):
    lines = lines_of(c.path(BCB_DATA))
    _break_data_line(c, len(lines), lines[-1][: len(lines[-1]) // 2], "bad JSON")
    c.path(BCB_DATA).write_bytes(c.path(BCB_DATA).read_bytes().rstrip(b"\n"))  # no final newline either


def bcb_data_bad_json_middle(c: Case):
    _break_data_line(c, 2, b'{"idx": "102", "func": }', "bad JSON")


def bcb_data_invalid_utf8(c: Case):
    lines = lines_of(c.path(BCB_DATA))
    _break_data_line(c, 3, lines[2].replace(b"{", b"{\xff", 2), "invalid UTF-8")


def bcb_data_lone_surrogate(c: Case):
    lines = lines_of(c.path(BCB_DATA))
    _break_data_line(c, 1, lines[0].replace(b'"func": "', b'"func": "\\udc80'), "invalid Unicode")


def bcb_bom_crlf(c: Case):
    for f in ("data.jsonl", "train.txt", "valid.txt", "test.txt"):
        crlf_bom(c.path(f"{BCB}/{f}"))


def bcb_ten_mb_function(c: Case):
    lines = lines_of(c.path(BCB_DATA))
    obj = json.loads(lines[0])
    obj["func"] = "void f() {\n" + "    x++;\n" * (TEN_MB // 10) + "}"
    lines[0] = json.dumps(obj).encode()
    write_lines(c.path(BCB_DATA), lines)


def bcb_empty_pair_file(c: Case):
    c.path(BCB_TRAIN).write_bytes(b"")
    c.drop_file(BCB_TRAIN)


def bcb_empty_data(c: Case):
    c.path(BCB_DATA).write_bytes(b"")
    for k in list(c.expected):
        c.set(k, ("bad", "unknown id"))


def bcb_duplicate_id(c: Case):
    lines = lines_of(c.path(BCB_DATA))
    write_lines(c.path(BCB_DATA), lines + [lines[0]])
    c.set((BCB_DATA, str(len(lines) + 1)), ("bad", "duplicate id"))


# --------------------------------------------------------------------------------------------
# codegpt_cn: a zip of JSON arrays with GBK member names

GPT = "codegpt/CodeGPT-Dataset-V1-CN.zip"


class RawNameInfo(zipfile.ZipInfo):
    """A member written with exactly the name bytes given (no UTF-8 flag unless asked)."""

    raw_name: bytes = b""

    def _encodeFilenameFlags(self):
        return self.raw_name, self.flag_bits


def rewrite_zip(path: Path, edit=None, add=()) -> None:
    """Copy the zip with members changed (``edit``: real name -> new bytes, or None to delete)
    and members added (``add``: (name bytes, data, utf8 flag)); other names keep their bytes."""
    from mulco.sources.codegpt_cn import member_name

    edit = edit or {}
    with zipfile.ZipFile(path) as z:
        members = [(i, z.read(i)) for i in z.infolist()]
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        def put(name: bytes, data: bytes, utf8: bool):
            info = RawNameInfo(name.decode("utf-8" if utf8 else "cp437"), date_time=(2023, 5, 1, 0, 0, 0))
            info.raw_name, info.flag_bits = name, (0x800 if utf8 else 0)
            info.compress_type = zipfile.ZIP_DEFLATED
            with warnings.catch_warnings():  # a duplicate name is what some cases want
                warnings.simplefilter("ignore")
                z.writestr(info, data)
        for info, data in members:
            utf8 = bool(info.flag_bits & 0x800)
            raw = info.filename.encode("utf-8" if utf8 else "cp437")
            try:
                name = member_name(info)
            except UnicodeError:
                name = None
            if name in edit:
                if edit[name] is None:
                    continue
                data = edit[name]
            put(raw, data, utf8)
        for name, data, utf8 in add:
            put(name, data, utf8)
    tmp.replace(path)


def gpt_member(c: Case, member: str) -> list:
    with zipfile.ZipFile(c.path(GPT)) as z:
        from mulco.sources.codegpt_cn import member_name
        info = next(i for i in z.infolist() if member_name(i) == member)
        return json.loads(z.read(info).decode("utf-8-sig"))


def gpt_broken_middle_and_truncated(c: Case):
    items = gpt_member(c, "code-basic/C#.json")
    broken = b'{"user": "\xe5\x86\x99", "assistant": }'
    body = write_array(c.raw / "m.json", items[:1] + [broken] + items[1:], 4)
    items2 = gpt_member(c, "code-basic/Python3.json")
    write_array(c.raw / "m2.json", items2, 4)
    cut_last_item(c.raw / "m2.json", items2, 4)
    rewrite_zip(c.path(GPT), {"code-basic/C#.json": body, "code-basic/Python3.json": (c.raw / "m2.json").read_bytes()})
    (c.raw / "m.json").unlink()
    (c.raw / "m2.json").unlink()
    key = f"{GPT}!code-basic/C#.json"
    c.set((key, "1"), ("bad", "bad JSON in array item"))
    for i in range(1, len(items)):
        c.set((key, str(i + 1)), "good")
    c.set((f"{GPT}!code-basic/Python3.json", str(len(items2) - 1)), ("bad", "bad JSON in array item"))


def gpt_invalid_utf8_member(c: Case):
    rewrite_zip(c.path(GPT), {"code-basic/C#.json": b"\xff\xfe[\x00{\x00"})
    c.drop_file(f"{GPT}!code-basic/C#.json")
    c.set((f"{GPT}!code-basic/C#.json", "member"), ("bad", "invalid UTF-8"))


def gpt_undecodable_member_name(c: Case):
    rewrite_zip(c.path(GPT), add=[(b"code-basic/\xff\xfe.json", b"[]", False)])
    c.set((GPT, "member b'code-basic/\\xff\\xfe.json'"), ("bad", "undecodable member name"))


def gpt_duplicate_member_name(c: Case):
    """A member name twice (a zip appended to): the rows would share source ids, so the later
    member is quarantined as a whole."""
    items = gpt_member(c, "code-basic/C#.json")
    rewrite_zip(c.path(GPT), add=[("code-basic/C#.json".encode(), json.dumps(items[:1]).encode(), False)])
    c.set((f"{GPT}!code-basic/C#.json", "member"), ("bad", "duplicate member"))


def gpt_bom_crlf_member_and_nul(c: Case):
    items = gpt_member(c, "code-basic/C#.json")
    data = BOM + json.dumps(items, indent=4, ensure_ascii=False).encode().replace(b"\n", b"\r\n")
    nul = json.dumps(items[:1], ensure_ascii=False).encode().replace(b'"user": "', b'"user": "\x00')
    rewrite_zip(c.path(GPT), {"code-basic/C#.json": data},
                add=[("code-medium/Java.json".encode(), nul, False)])
    c.set((f"{GPT}!code-medium/Java.json", "0"), ("bad", "bad JSON in array item"))


def gpt_truncated_zip(c: Case):
    data = c.path(GPT).read_bytes()
    c.path(GPT).write_bytes(data[: len(data) // 2])
    c.expected.clear()
    c.units = 0
    c.set((GPT, "file"), ("bad", "unreadable zip"))


def gpt_empty_zip_file(c: Case):
    c.path(GPT).write_bytes(b"")
    c.expected.clear()
    c.units = 0
    c.set((GPT, "file"), ("bad", "unreadable zip"))


def gpt_corrupt_member_data(c: Case):
    data = bytearray(c.path(GPT).read_bytes())
    with zipfile.ZipFile(c.path(GPT)) as z:
        info = next(i for i in z.infolist() if i.compress_size > 30)
    from mulco.sources.codegpt_cn import member_name
    import struct

    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26: info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    assert info.compress_size > 30
    for i in range(start + 5, start + 25):
        data[i] ^= 0x5A  # flip bits inside the compressed data: bad CRC or bad deflate stream
    c.path(GPT).write_bytes(bytes(data))
    key = f"{GPT}!{member_name(info)}"
    c.drop_file(key)
    c.set((key, "member"), ("bad", "unreadable member"))


# --------------------------------------------------------------------------------------------
# codepro: one-line Python literal lists

PRO = "codepro/data_hnn/python_hnn_qid2index_blocks_labeled.txt"


def _pro_insert(c: Case, texts: list[str], at: int | None = None, suffix: str = "]") -> int:
    """Insert item texts (new questions) into the literal; return the index of the first."""
    text = c.path(PRO).read_text(encoding="utf-8").strip()
    import ast

    n = len(ast.literal_eval(text))
    items = [repr(i) for i in ast.literal_eval(text)]
    at = n // 2 if at is None else min(at, n)
    items[at:at] = texts
    c.path(PRO).write_text("[" + ", ".join(items) + suffix, encoding="utf-8")
    return at


def _pro_item(qid: int, title: str = "How?", code: str = " x = 1\n", label: int | str = 1) -> str:
    return repr([(qid, 0), [["before"], ["after"]], [[code]], [title], 1, label])


def pro_syntax_error_in_the_middle(c: Case):
    at = _pro_insert(c, ["[(7000001, 0), [['a'], ['b']], [[' x = (1\n']], ['Broken?', 1, 1]",
                         _pro_item(7000002)])
    c.set((PRO, str(at)), ("bad", "Python literal syntax error"))
    c.set((PRO, "qid=7000002"), ("bad", "one candidate only"))  # a one-candidate question (issue 11)


def pro_truncated(c: Case):
    at = _pro_insert(c, [_pro_item(7000003)[:-25]], at=10**6, suffix="")
    c.set((PRO, str(at)), ("bad", "Python literal syntax error"))


def pro_labels_and_shapes(c: Case):
    at = _pro_insert(c, [_pro_item(7000004, label=2), _pro_item(7000005, label="1"),
                         repr([(7000006, 0), [["a"], ["b"]], [[" x"]], ["t"], 1]), _pro_item(7000007, label=0)])
    c.set((PRO, str(at)), ("bad", "bad item shape: label 2 is not 0 or 1"))
    c.set((PRO, str(at + 1)), ("bad", "bad item shape: label '1' is not 0 or 1"))
    c.set((PRO, str(at + 2)), ("bad", "bad item shape: expected a 6-element list"))
    c.set((PRO, "qid=7000007"), ("bad", "one candidate only"))  # no right answer is kept, "none" (issue 23)


def pro_a_call_is_never_run(c: Case):
    at = _pro_insert(c, ["[(7000008, 0), [['a'], ['b']], [[__import__('os').system('touch PWNED')]], ['t'], 1, 1]"])
    c.set((PRO, str(at)), ("bad", "not a plain Python literal"))


def pro_bom_crlf(c: Case):
    c.path(PRO).write_bytes(BOM + c.path(PRO).read_bytes().rstrip(b"\n") + b"\r\n")


def pro_invalid_utf8_and_lone_surrogate(c: Case):
    at = _pro_insert(c, [_pro_item(7000009, title="t\ud800"), _pro_item(7000010, title="MARK")])
    data = c.path(PRO).read_bytes().replace(b"MARK", b"M\xffK")
    c.path(PRO).write_bytes(data)
    c.set((PRO, str(at)), ("bad", "invalid Unicode: lone surrogate"))
    c.set((PRO, str(at + 1)), ("bad", "invalid UTF-8"))


def pro_ten_mb(c: Case):
    _pro_insert(c, [_pro_item(7000011, code=" " + "x = 1\n" * (TEN_MB // 6))])
    c.set((PRO, "qid=7000011"), ("bad", "one candidate only"))  # read whole, then: one candidate (issue 11)


def pro_empty(c: Case):
    import ast

    items = len(ast.literal_eval(c.path(PRO).read_text(encoding="utf-8")))
    c.path(PRO).write_bytes(b"")
    for k in c.keys(PRO):
        del c.expected[k]
    c.units -= items
    c.set((PRO, "file"), ("bad", "Python literal syntax error: no list items found"))


# --------------------------------------------------------------------------------------------
# codexglue_cloze: pretty JSON arrays + answers

CLOZE = "codexglue/ClozeTesting-maxmin/data/cloze-maxmin/java/clozeTest.json"
ANSWERS = "codexglue/ClozeTesting-maxmin/evaluator/answers/java/answers.txt"


def cloze_truncated(c: Case):
    items = load_array(c.path(CLOZE))
    cut_last_item(c.path(CLOZE), items, 1)
    c.set((CLOZE, str(len(items) - 1)), ("bad", "bad JSON in array item"))


def cloze_broken_middle_and_two_masks(c: Case):
    items = load_array(c.path(CLOZE))
    items[0]["pl_tokens"].append("<mask>")
    write_array(c.path(CLOZE), items[:1] + [b'{"idx": "maxmin-9", "nl_tokens": ["a",], "pl_tokens": []}'] + items[1:], 1)
    c.set((CLOZE, "0"), ("bad", "mask count: 2"))
    c.set((CLOZE, "1"), ("bad", "bad JSON in array item"))
    for i in range(1, len(items)):
        c.set((CLOZE, str(i + 1)), "good")


def cloze_answers_bom_crlf(c: Case):
    crlf_bom(c.path(ANSWERS))
    crlf_bom(c.path(CLOZE))


def cloze_answers_missing(c: Case):
    c.path(ANSWERS).unlink()
    for k in c.keys(CLOZE):
        c.set(k, ("bad", "no answer"))


def cloze_answers_wrong_idx(c: Case):
    lines = c.path(ANSWERS).read_text().splitlines()
    c.path(ANSWERS).write_text("\n".join(["maxmin-404<CODESPLIT>max", "garbage line"] + lines[1:]) + "\n")
    c.set(c.keys(CLOZE)[0], ("bad", "no answer: idx 'maxmin-1'"))


def cloze_invalid_utf8(c: Case):
    data = c.path(CLOZE).read_bytes()
    at = data.index(b'"smaller"')
    c.path(CLOZE).write_bytes(data[:at + 2] + b"\xe9" + data[at + 2:])
    c.set(c.keys(CLOZE)[0], ("bad", "invalid UTF-8"))


def cloze_empty(c: Case):
    c.path(CLOZE).write_bytes(b"")
    c.drop_file(CLOZE)
    c.set((CLOZE, "file"), ("bad", "not a JSON array"))


# --------------------------------------------------------------------------------------------
# JSON Lines: codexglue_line_completion, codesearchnet

PY150 = "codexglue/CodeCompletion-line/dataset/py150/dev.json"


def _jsonl_edit(c: Case, name: str, lines: list[bytes], verdicts: dict[int, object]) -> None:
    """Rewrite a JSON Lines file; its units become ``verdicts`` (line number -> verdict)."""
    write_lines(c.path(name), lines)
    c.drop_file(name)
    for n, v in verdicts.items():
        c.set((name, str(n)), v)


def lc_truncated_bad_middle_invalid_utf8(c: Case):
    lines = lines_of(c.path(PY150))
    new = lines[:1] + [b'{"input": "<s> x = 1 <EOL>", "gt": }', lines[1].replace(b'"input": "', b'"input": "\xff', 1)] + lines[2:]
    new[-1] = new[-1][:-10]
    _jsonl_edit(c, PY150, new, {1: "good", 2: ("bad", "bad JSON"), 3: ("bad", "invalid UTF-8"),
                                **{i: "good" for i in range(4, len(new))}, len(new): ("bad", "bad JSON")})


def lc_bom_crlf_blank_lines(c: Case):
    lines = lines_of(c.path(PY150))
    new = [lines[0], b"", b"   ", *lines[1:]]
    _jsonl_edit(c, PY150, new, {1: "good", **{i + 3: "good" for i in range(1, len(lines))}})
    crlf_bom(c.path(PY150))


def lc_nul(c: Case):
    lines = lines_of(c.path(PY150))
    raw_nul = lines[0].replace(b"import", b"imp\x00ort")
    escaped = lines[1].replace(b"<EOL>", b"\\u0000 <EOL>", 1)
    _jsonl_edit(c, PY150, [raw_nul, escaped] + lines[2:],
                {1: ("bad", "bad JSON"), 2: "good", **{i: "good" for i in range(3, len(lines) + 1)}})


def lc_ten_mb_line(c: Case):
    lines = lines_of(c.path(PY150))
    big = json.dumps({"input": "<s> " + "x = x + 1 <EOL> " * (TEN_MB // 16), "gt": "return x"}).encode()
    _jsonl_edit(c, PY150, lines + [big], {**{i: "good" for i in range(1, len(lines) + 2)}})


def lc_empty(c: Case):
    c.path(PY150).write_bytes(b"")
    c.drop_file(PY150)


def lc_gbk_folder_name(c: Case):
    name = gbk_copy(c, PY150, "codexglue/CodeCompletion-line/dataset/py150/GBK/train.json")
    for k in c.keys(PY150):
        c.set((name, k[1]), "good")


CSN_GZ = "codesearchnet/go/final/jsonl/test/go_test_0.jsonl.gz"
CSN_PY = "codesearchnet/python/train.jsonl"


def csn_truncated_gzip(c: Case):
    lines = gzip.decompress(c.path(CSN_GZ).read_bytes()).split(b"\n")[:-1]
    many = lines * 40
    data = gzip.compress(b"\n".join(many) + b"\n", mtime=0)
    c.path(CSN_GZ).write_bytes(data[: int(len(data) * 0.6)])
    c.drop_file(CSN_GZ)
    res = convert_source("codesearchnet", c.raw, progress=False)
    kept = sorted(int(k[1]) for k in unit_keys(res)[0] if k[0] == CSN_GZ)
    assert kept and kept == list(range(1, len(kept) + 1)) and len(kept) < len(many)  # a prefix survives
    for n in kept:
        c.set((CSN_GZ, str(n)), "good")
    c.set((CSN_GZ, "eof"), ("bad", "unreadable file"))


def csn_corrupt_gzip(c: Case):
    data = bytearray(gzip.compress(gzip.decompress(c.path(CSN_GZ).read_bytes()) * 20, mtime=0))
    for i in range(40, 60):
        data[i] ^= 0xFF
    c.path(CSN_GZ).write_bytes(bytes(data))
    c.drop_file(CSN_GZ)
    res = convert_source("codesearchnet", c.raw, progress=False)
    for k in unit_keys(res)[0]:
        if k[0] == CSN_GZ:
            c.set(k, "good")
    c.set((CSN_GZ, "eof"), ("bad", "unreadable file"))


def csn_bad_lines(c: Case):
    lines = lines_of(c.path(CSN_PY))
    row = json.loads(lines[0])
    surrogate = json.dumps(dict(row, docstring="Docs \ud800 here")).encode()  # a \ud800 escape
    bom_doc = json.dumps(dict(row, docstring="\ufeff")).encode()
    new = [lines[0], b"{\"language\": \"python\", \"code\":", b"\xff" + lines[1], surrogate, bom_doc, lines[2] + b"\x00"]
    _jsonl_edit(c, CSN_PY, new, {1: "good", 2: ("bad", "bad JSON"), 3: ("bad", "invalid UTF-8"),
                                 4: ("bad", "invalid Unicode: lone surrogate in field 'docstring'"),
                                 5: ("bad", "empty docstring"), 6: ("bad", "bad JSON")})


def csn_ten_mb_code_and_backslashes(c: Case):
    """A 10 MB function, and a docstring that never ends full of backslashes (that once took
    exponential time), convert in a few seconds."""
    lines = lines_of(c.path(CSN_PY))
    row = json.loads(lines[0])
    big = dict(row, code="def f(x):\n    \"\"\"Doc.\"\"\"\n" + "    x = max(x, 1)\n" * (TEN_MB // 18) + "    return x\n",
               docstring="Doc.")
    slashes = dict(row, code='def f():\n    "' + "\\" * 5000 + "x\n    return 1\n", docstring="Doc.")
    _jsonl_edit(c, CSN_PY, lines + [json.dumps(big).encode(), json.dumps(slashes).encode()],
                {i: "good" for i in range(1, len(lines) + 3)})


def csn_bom_crlf(c: Case):
    crlf_bom(c.path(CSN_PY))


def csn_empty(c: Case):
    c.path(CSN_PY).write_bytes(b"")
    c.drop_file(CSN_PY)


def csn_gbk_language_folder(c: Case):
    name = gbk_copy(c, CSN_PY, "codesearchnet/GBK/train.jsonl")
    for k in c.keys(CSN_PY):
        c.set((name, k[1]), "good")


# --------------------------------------------------------------------------------------------
# Parallel files: codexglue_refinement, codexglue_translation

REF_B = "codexglue/code-refinement/data/small/test.buggy-fixed.buggy"
REF_F = "codexglue/code-refinement/data/small/test.buggy-fixed.fixed"
TR_J = "codexglue/code-to-code-trans/data/train.java-cs.txt.java"
TR_C = "codexglue/code-to-code-trans/data/train.java-cs.txt.cs"


def _parallel_misaligned(left: str, right: str):
    def case(c: Case):
        lines = lines_of(c.path(right))
        write_lines(c.path(right), lines + [b"public void extra ( ) { }"])
        c.set((left, str(len(lines) + 1)), ("bad", "misaligned"))
    return case


def _parallel_bom_crlf(left: str, right: str):
    def case(c: Case):
        crlf_bom(c.path(left))
        crlf_bom(c.path(right))
    return case


def _parallel_invalid_utf8_nul_blank(left: str, right: str):
    def case(c: Case):
        ll, rl = lines_of(c.path(left)), lines_of(c.path(right))
        ll[0] = ll[0] + b" \xff"
        rl[1] = rl[1].replace(b";", b"; \x00", 1)  # NUL is content: the pair is kept
        write_lines(c.path(left), ll + [b"", b"int a ( ) { return 1 ; }"])
        write_lines(c.path(right), rl + [b"  ", b"\xef\xbb\xbf"])
        c.set((left, "1"), ("bad", "invalid UTF-8"))
        c.set((left, str(len(ll) + 2)), ("bad", "field"))  # a side that is only a BOM is empty
    return case


def _parallel_ten_mb(left: str, right: str):
    def case(c: Case):
        ll, rl = lines_of(c.path(left)), lines_of(c.path(right))
        write_lines(c.path(left), ll + [b"void f ( ) { " + b"x ++ ; " * (TEN_MB // 7) + b"}"])
        write_lines(c.path(right), rl + [b"void f ( ) { x += 2 ; }"])
        c.set((left, str(len(ll) + 1)), "good")
    return case


def _parallel_empty(left: str, right: str, one_side: bool):
    def case(c: Case):
        c.path(right).write_bytes(b"")
        if one_side:
            for k in c.keys(left):
                c.set(k, ("bad", "misaligned"))
        else:
            c.path(left).write_bytes(b"")
            c.drop_file(left)
    return case


def translation_gbk_file_name(c: Case):
    j = gbk_copy(c, TR_J, "codexglue/code-to-code-trans/data/GBK.java-cs.txt.java")
    gbk_copy(c, TR_C, "codexglue/code-to-code-trans/data/GBK.java-cs.txt.cs")
    for k in c.keys(TR_J):
        c.set((j, k[1]), "good")


# --------------------------------------------------------------------------------------------

CASES = {
    "codealpaca": [alpaca_truncated, alpaca_broken_middle, alpaca_broken_middle_one_line, alpaca_two_broken_one_line,
                   alpaca_invalid_utf8, alpaca_bom_crlf, alpaca_nul, alpaca_escaped_nul_and_lone_surrogate,
                   alpaca_ten_mb_line, alpaca_empty, alpaca_not_an_array, alpaca_gbk_file_name],
    "devign": [devign_truncated, devign_broken_middle, devign_labels, devign_unknown_indices, devign_bom_crlf,
               devign_invalid_utf8_and_nul, devign_empty, devign_empty_index_files],
    "bigclonebench": [bcb_unknown_ids_and_labels, bcb_data_truncated, bcb_data_bad_json_middle, bcb_data_invalid_utf8,
                      bcb_data_lone_surrogate, bcb_bom_crlf, bcb_ten_mb_function, bcb_empty_pair_file, bcb_empty_data,
                      bcb_duplicate_id],
    "codegpt_cn": [gpt_broken_middle_and_truncated, gpt_invalid_utf8_member, gpt_undecodable_member_name,
                   gpt_duplicate_member_name,
                   gpt_bom_crlf_member_and_nul, gpt_truncated_zip, gpt_empty_zip_file, gpt_corrupt_member_data],
    "codepro": [pro_syntax_error_in_the_middle, pro_truncated, pro_labels_and_shapes, pro_a_call_is_never_run,
                pro_bom_crlf, pro_invalid_utf8_and_lone_surrogate, pro_ten_mb, pro_empty],
    "codexglue_cloze": [cloze_truncated, cloze_broken_middle_and_two_masks, cloze_answers_bom_crlf,
                        cloze_answers_missing, cloze_answers_wrong_idx, cloze_invalid_utf8, cloze_empty],
    "codexglue_line_completion": [lc_truncated_bad_middle_invalid_utf8, lc_bom_crlf_blank_lines, lc_nul,
                                  lc_ten_mb_line, lc_empty, lc_gbk_folder_name],
    "codesearchnet": [csn_truncated_gzip, csn_corrupt_gzip, csn_bad_lines, csn_ten_mb_code_and_backslashes,
                      csn_bom_crlf, csn_empty, csn_gbk_language_folder],
    "codexglue_refinement": [_parallel_misaligned(REF_B, REF_F), _parallel_bom_crlf(REF_B, REF_F),
                             _parallel_invalid_utf8_nul_blank(REF_B, REF_F), _parallel_ten_mb(REF_B, REF_F),
                             _parallel_empty(REF_B, REF_F, one_side=True), _parallel_empty(REF_B, REF_F, one_side=False)],
    "codexglue_translation": [_parallel_misaligned(TR_J, TR_C), _parallel_bom_crlf(TR_J, TR_C),
                              _parallel_invalid_utf8_nul_blank(TR_J, TR_C), _parallel_ten_mb(TR_J, TR_C),
                              _parallel_empty(TR_J, TR_C, one_side=True), _parallel_empty(TR_J, TR_C, one_side=False),
                              translation_gbk_file_name],
}
_IDS = {"_parallel_empty": ["one_side_empty", "both_empty"]}
PARAMS = []
for _source, _fns in CASES.items():
    _seen: dict[str, int] = {}
    for _fn in _fns:
        _name = _fn.__qualname__.split(".")[0]
        _n = _seen.get(_name, 0)
        _seen[_name] = _n + 1
        _label = _IDS.get(_name, [_name])[min(_n, len(_IDS.get(_name, [_name])) - 1)]
        PARAMS.append(pytest.param(_source, _fn, id=f"{_source}-{_label.lstrip('_')}"))


def test_every_source_has_nasty_cases():
    assert set(CASES) == set(sources.names())


@pytest.mark.parametrize("source, corrupt", PARAMS)
def test_nasty_file(source, corrupt, tmp_path):
    case = make_case(source, tmp_path)
    assert case.expected, source
    corrupt(case)
    t0 = time.perf_counter()
    case.check()
    assert time.perf_counter() - t0 < 60
    assert not (tmp_path / "raw" / "PWNED").exists() and not Path("PWNED").exists()


#: One raw folder with a corruption of every source, for a whole build.
IN_ONE_BUILD = {
    "codealpaca": [alpaca_broken_middle_one_line],
    "devign": [devign_labels, devign_unknown_indices],
    "bigclonebench": [bcb_unknown_ids_and_labels, bcb_duplicate_id],
    "codegpt_cn": [gpt_broken_middle_and_truncated, gpt_undecodable_member_name],
    "codepro": [pro_syntax_error_in_the_middle],
    "codexglue_cloze": [cloze_broken_middle_and_two_masks],
    "codexglue_line_completion": [lc_truncated_bad_middle_invalid_utf8],
    "codesearchnet": [csn_bad_lines, csn_corrupt_gzip],
    "codexglue_refinement": [_parallel_misaligned(REF_B, REF_F)],
    "codexglue_translation": [_parallel_invalid_utf8_nul_blank(TR_J, TR_C)],
}


def nasty_raw(tmp_path: Path) -> tuple[Path, dict[str, Case]]:
    raw = tmp_path / "raw"
    cases = {}
    for source, corruptions in IN_ONE_BUILD.items():
        cases[source] = case = make_case(source, tmp_path, raw)
        for corrupt in corruptions:
            corrupt(case)
    return raw, cases


@pytest.mark.slow
def test_a_build_over_nasty_files_of_every_source_quarantines_each_bad_row(tmp_path):
    from mulco.build import BuildConfig, build

    assert set(IN_ONE_BUILD) == set(sources.names())
    raw, cases = nasty_raw(tmp_path)
    result = build(BuildConfig(raw_dir=raw, out=tmp_path / "out", progress=False), log=lambda *a: None)
    lines = (tmp_path / "out" / "quarantine.jsonl").read_text(encoding="utf-8").splitlines()
    quarantine = [json.loads(line) for line in lines]
    report = json.loads((tmp_path / "out" / "build_report.json").read_text(encoding="utf-8"))
    for source, case in cases.items():
        res = result.sources[source]
        assert res.status == "built" and res.reconciles(), res.summary()
        assert report["sources"][source]["reconciles"] is True
        assert res.units_read == case.units, (source, res.units_read, case.units)
        norm = NORMALIZE.get(source, lambda f: f)
        where = {}
        for q in quarantine:
            if q["source"] == source and q["stage"] in ("read", "convert"):
                where.setdefault((norm(q["file"]), str(q["line"])), []).append(q["reason"])
        bad = {k: v for k, v in case.expected.items() if v != "good"}
        assert set(where) == set(bad), (source, sorted(set(where) ^ set(bad))[:5])
        for key, verdict in bad.items():
            assert any(r.startswith(verdict[1]) for r in where[key]), (source, key, where[key])
        assert res.units_quarantined == sum(1 for q in quarantine if q["source"] == source
                                            and q["stage"] in ("read", "convert")) or source == "codepro"


def test_a_build_with_a_raw_file_name_that_is_not_utf8(tmp_path):
    from mulco.build import BuildConfig, build

    case = make_case("codealpaca", tmp_path)
    alpaca_gbk_file_name(case)
    result = build(BuildConfig(raw_dir=case.raw, out=tmp_path / "out", sources=["codealpaca"], progress=False),
                   log=lambda *a: None)
    assert result.sources["codealpaca"].units_read == case.units
    report = (tmp_path / "out" / "build_report.json").read_text(encoding="utf-8")
    assert GBK_SHOWN.replace("\\", "\\\\") in report
