"""`mulco validate`: JSON arrays, JSON Lines, Parquet and built folders; good and bad records are
reported with file, line/item/row, JSON pointer and reason; exit 1 on any failure; streaming."""
from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mulco import record
from mulco.cli import main
from mulco.steps.validate import iter_json_array, validate_paths


def good(i=0, **kw):
    r = record.make_record(source="codealpaca", source_id=f"f.json:{i}", license="CC-BY-NC-4.0",
                           task="code_generation", lang="en", plang="python",
                           instruction="Add two numbers.", input="", output="def add(a, b):\n    return a + b\n")
    r.update(kw)
    return r


def cli(capsys, *args) -> tuple[int, str]:
    code = main(["validate", *map(str, args)])
    return code, capsys.readouterr().out


def test_jsonl_good_and_bad(tmp_path, capsys):
    f = tmp_path / "data.jsonl"
    bad_lang = good(1, lang="fr")
    missing = good(2)
    del missing["license"]
    f.write_text("\n".join([json.dumps(good(0)), json.dumps(bad_lang), "", json.dumps(missing), "{oops",
                            json.dumps(good(5, output="  "))]) + "\n")
    code, out = cli(capsys, f)
    assert code == 1
    assert f"{f}:line 2: /lang: 'fr' is not one of: en, zh" in out
    assert f"{f}:line 4: /license: required field is missing" in out
    assert f"{f}:line 5: (record): bad JSON: Expecting property name enclosed in double quotes at column 2" in out
    assert f"{f}:line 6: /output: must contain a non-whitespace character" in out
    assert "5 records in 1 file: 1 valid, 4 invalid" in out
    # the summary counts records per reason
    assert "/lang: not an allowed value" in out and "/license: missing" in out
    ok = tmp_path / "ok.jsonl"
    ok.write_text(json.dumps(good(0)) + "\n" + json.dumps(good(1)) + "\n")
    code, out = cli(capsys, ok)
    assert code == 0 and "2 records in 1 file: 2 valid, 0 invalid" in out


def test_json_array_reports_item_and_line(tmp_path, capsys):
    f = tmp_path / "data.json"
    items = [good(0), good(1, extra="x"), good(2, id="XYZ")]
    f.write_text(json.dumps(items, indent=2))
    code, out = cli(capsys, f)
    assert code == 1
    line_of_item1 = f.read_text().split("\n").index("  {", 2) + 1
    assert f"{f}:item 1 (line {line_of_item1}): /extra: field is not part of a MulCo record" in out
    assert f"{f}:item 2 " in out and "/id: 'XYZ' does not match" in out


def test_alpaca_shape(tmp_path, capsys):
    f = tmp_path / "alpaca.json"
    f.write_text(json.dumps([{"instruction": "Do it", "input": "", "output": "ok", "extra": 1},
                             {"instruction": "Do it", "output": ""}, {"instruction": 3, "input": "", "output": "x"}]))
    code, out = cli(capsys, "--alpaca", f)
    assert code == 1
    assert f"{f}:item 1 (line 1): /input: required field is missing" in out
    assert f"{f}:item 1 (line 1): /output: must contain a non-whitespace character" in out
    assert f"{f}:item 2 (line 1): /instruction: is an integer, expected string" in out
    assert "3 records in 1 file: 1 valid, 2 invalid (Alpaca shape)" in out
    # the same file fails the full schema on every record
    assert cli(capsys, f)[0] == 1


def _parquet(path: Path, rows: list[dict]) -> None:
    pq.write_table(pa.Table.from_pylist(rows, schema=record.arrow_schema()), path)


def test_parquet_and_built_folder(tmp_path, capsys):
    f = tmp_path / "x.parquet"
    _parquet(f, [good(0), good(1, task="code_search"), good(2)])
    code, out = cli(capsys, f)
    assert code == 1 and f"{f}:row 1: /subtask: is null, expected string" in out
    folder = tmp_path / "built"
    (folder / "data" / "code_generation" / "en" / "python").mkdir(parents=True)
    _parquet(folder / "data" / "code_generation" / "en" / "python" / "train-00000-of-00001.parquet", [good(0), good(1)])
    code, out = cli(capsys, folder)
    assert code == 0 and "2 records in 1 file: 2 valid" in out
    assert main(["validate", str(tmp_path / "missing.json")]) == 2  # a user error, one line


def test_max_errors_limits_printing_not_counting(tmp_path, capsys):
    f = tmp_path / "d.jsonl"
    f.write_text("\n".join(json.dumps(good(i, lang="xx")) for i in range(30)) + "\n")
    code, out = cli(capsys, "--max-errors", "3", f)
    assert code == 1 and out.count("/lang:") == 3 + 1  # 3 problems + the summary row
    assert "27 more problems not shown" in out and "30 invalid" in out


def test_json_array_is_streamed_in_bounded_memory(tmp_path):
    f = tmp_path / "big.json"
    rec = good(0, output="x = 1\n" * 200)  # ~1.5 kB per record
    n = 12_000
    with open(f, "w") as fh:
        fh.write("[\n")
        for i in range(n):
            fh.write(("  " if i == 0 else ",\n  ") + json.dumps(rec))
        fh.write("\n]")
    size = f.stat().st_size
    assert size > 15_000_000
    tracemalloc.start()
    summary = validate_paths([f])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert summary.records == n and summary.ok
    assert peak < 8_000_000 < size, (peak, size)  # about two read buffers, whatever the file size


def test_jsonl_is_streamed_in_bounded_memory(tmp_path):
    f = tmp_path / "big.jsonl"
    line = json.dumps(good(0, output="y = 2\n" * 200)) + "\n"
    with open(f, "w") as fh:
        for _ in range(12_000):
            fh.write(line)
    tracemalloc.start()
    summary = validate_paths([f])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert summary.records == 12_000 and summary.ok
    assert peak < 2_000_000 < f.stat().st_size


def test_array_reader_handles_items_split_across_reads(tmp_path):
    f = tmp_path / "a.json"
    items = [{"k": "v" * (i * 37 % 500), "n": i} for i in range(300)]
    f.write_text(json.dumps(items, indent=1))
    got = [obj for _, obj, err in iter_json_array(f, "a.json", chunk=64)]
    assert got == items
    f.write_text('[{"a": 1}, {"a": 2,, {"a": 3}]')
    out = list(iter_json_array(f, "a.json", chunk=8))
    assert out[0][1] == {"a": 1} and out[-1][2].startswith("bad JSON")


def test_array_reader_errors_say_where(tmp_path):
    f = tmp_path / "a.json"
    f.write_bytes(b'\xef\xbb\xbf[\n{"a": 1},\n{"a": 2} {"a": 3}]')  # a BOM, then a missing comma
    assert list(iter_json_array(f, "a.json")) == [
        ("item 0 (line 2)", {"a": 1}, None), ("item 1 (line 3)", {"a": 2}, None),
        ("item 2 (line 3)", None, "bad JSON: expected ',' or ']', got '{'")]
    f.write_text('[{"a": 1},\n {"a": ')
    assert list(iter_json_array(f, "a.json"))[-1] == ("item 1 (line 2)", None, "bad JSON: Expecting value (line 2)")
    f.write_text('[{"a": 1}')
    assert list(iter_json_array(f, "a.json"))[-1] == ("line 1", None, "bad JSON: the array is not closed")
    f.write_text('{"a": 1}')
    assert list(iter_json_array(f, "a.json")) == [
        ("line 1", None, "not a JSON array (the file does not start with '[')")]
    f.write_bytes(b'[{"a": 1}, {"a": "\xff"}]')
    assert list(iter_json_array(f, "a.json"))[-1][2].startswith("unreadable file: 'utf-8' codec can't decode")


def test_jsonl_reader_uses_the_shared_line_reasons(tmp_path):
    import gzip

    from mulco.steps.validate import iter_jsonl

    f = tmp_path / "a.jsonl.gz"
    f.write_bytes(gzip.compress(b'\xef\xbb\xbf{"a": 1}\n\n  \n{"a": \xff}\n{"a"}\n'))
    assert list(iter_jsonl(f, "a.jsonl.gz")) == [
        ("line 1", {"a": 1}, None), ("line 4", None, "invalid UTF-8: at byte 6"),
        ("line 5", None, "bad JSON: Expecting ':' delimiter at column 5")]
    f.write_bytes(gzip.compress(b'{"a": 1}\n' * 100)[:-12])  # truncated
    assert list(iter_jsonl(f, "a.jsonl.gz"))[-1][0:2] == ("file", None)


def test_build_step_and_validate_word_a_schema_problem_alike(tmp_path, capsys):
    from mulco.steps.validate import schema_errors

    assert schema_errors(good()) is None
    bad = good(lang="fr", output=" ")
    assert schema_errors(bad) == ("schema: /output: must contain a non-whitespace character; "
                                  "/lang: 'fr' is not one of: en, zh")
    f = tmp_path / "d.jsonl"
    f.write_text(json.dumps(bad) + "\n")
    code, out = cli(capsys, f)
    assert code == 1
    assert f"{f}:line 1: /lang: 'fr' is not one of: en, zh" in out
    assert f"{f}:line 1: /output: must contain a non-whitespace character" in out


def test_format_sniffing_skips_the_bom_and_reads_gzip_in_any_case(tmp_path, capsys):
    import gzip

    f = tmp_path / "d.JSON.GZ"
    f.write_bytes(gzip.compress(b"\xef\xbb\xbf \n[" + json.dumps(good(0)).encode() + b"]"))
    code, out = cli(capsys, f)
    assert code == 0 and "1 record in 1 file: 1 valid, 0 invalid" in out
