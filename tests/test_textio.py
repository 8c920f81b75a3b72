"""mulco.textio: the one BOM strip, JSON Lines reader and code fence that the sources, `mulco
validate`, decontamination, the download's preprocessing and the card share."""
from __future__ import annotations

import gzip
import io

import pytest

from mulco.textio import (BOM, BadLine, decode_line, decode_text, fence, fence_ticks, json_lines, nonblank_lines,
    read_json_lines, strip_bom)


def test_one_bom_is_dropped_a_second_is_content():
    assert strip_bom(BOM + b"x") == b"x"
    assert strip_bom(BOM + BOM + b"x") == BOM + b"x"
    assert strip_bom(b"x" + BOM) == b"x" + BOM
    assert decode_text(BOM + "中".encode()) == ("中", False)
    text, undecodable = decode_text(BOM + b"a\xffb")
    assert undecodable and text == "a\udcffb"


def test_nonblank_lines_number_from_one_and_skip_blank_lines():
    fh = io.BytesIO(BOM + b'{"a": 1}\n\n \t\r\n{"b": 2}\r\n' + BOM + b"x\n")
    assert list(nonblank_lines(fh)) == [(1, b'{"a": 1}\n'), (4, b'{"b": 2}\r\n'), (5, BOM + b"x\n")]
    assert list(nonblank_lines(io.BytesIO(BOM + b"\n"))) == []


@pytest.mark.parametrize("raw, reason, text", [
    (b'{"a": \xff}', "invalid UTF-8: at byte 6", None),
    (b'{"a" 1}', "bad JSON: Expecting ':' delimiter at column 6", '{"a" 1}'),
    (BOM + b"1", "bad JSON: Unexpected UTF-8 BOM (decode using utf-8-sig) at column 1", "\ufeff1"),
])
def test_decode_line_says_why(raw, reason, text):
    with pytest.raises(BadLine) as e:
        decode_line(raw)
    assert e.value.reason == str(e.value) == reason and e.value.text == text
    assert decode_line(b'{"a": "\\u4e2d"}\n') == ({"a": "中"}, '{"a": "\\u4e2d"}\n')


def test_json_lines_of_a_whole_file_name_file_and_line(tmp_path):
    f = tmp_path / "b.jsonl.gz"
    f.write_bytes(gzip.compress(BOM + b'{"task_id": 1}\n\n{"task_id": 2}\n'))
    assert list(read_json_lines(f)) == [{"task_id": 1}, {"task_id": 2}]
    with pytest.raises(ValueError, match=r"^m\.zip!x\.jsonl:3: bad JSON: Expecting value at column 1$"):
        list(json_lines(io.BytesIO(b"1\n\n]\n"), "m.zip!x.jsonl"))


def test_fence_is_longer_than_any_backtick_run_inside():
    assert fence_ticks("plain") == "```"
    assert fence_ticks("a `` b") == "```"
    assert fence_ticks("```py\nx\n```") == "````"
    assert fence_ticks("`````") == "``````"
    assert fence("\n\nint x;\n\n", "java") == "```java\nint x;\n```"
    assert fence('s = "```"', "python") == '````python\ns = "```"\n````'
    assert fence("a ```` b", "c") == "`````c\na ```` b\n`````"
