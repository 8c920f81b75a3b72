"""`--json` of `mulco configs`, `show` and `sources` (what scripts read), and the record counts per
licence that `mulco configs` prints, checked against `mulco.load`."""
from __future__ import annotations

import collections
import json

import mulco
from conftest import load_rows
from mulco import sources
from mulco.cli import main


def _run(capsys, *argv) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_configs_json_and_table_count_records_per_split_and_licence(built_sample, capsys):
    doc = json.loads(_run(capsys, "configs", str(built_sample), "--json"))
    by_name = {c["name"]: c for c in doc["configs"]}
    assert list(by_name)[0] == "all" and "code_search.en" in by_name
    for name in ("all", "zh", "code_search.en", "code_generation"):
        ds = load_rows(built_sample, name)  # mulco.load
        assert by_name[name]["splits"] == {s: len(ds[s]) if s in ds else 0 for s in ("train", "validation", "test")}
        lic = collections.Counter(r["license"] for s in ds for r in ds[s])
        assert by_name[name]["licenses"] == dict(sorted(lic.items()))
    assert doc["licenses"] == sorted(by_name["all"]["licenses"])
    table = _run(capsys, "configs", str(built_sample))
    header = table.splitlines()[0].split()
    assert header == ["config", "train", "validation", "test", *doc["licenses"]]
    row = next(line.split() for line in table.splitlines() if line.startswith("zh "))
    zh = by_name["zh"]
    assert row[1:] == [str(v) for v in (*zh["splits"].values(), *(zh["licenses"].get(x, 0) for x in doc["licenses"]))]


def test_show_json_gives_the_first_records_with_every_field(built_sample, capsys):
    doc = json.loads(_run(capsys, "show", str(built_sample), "code_search.en", "-n", "2", "--split", "test", "--json"))
    expected = mulco.load("code_search.en", data_dir=built_sample, split="test").to_list()[:2]
    assert doc == {"config": "code_search.en", "split": "test", "records": expected}


def test_sources_json_lists_the_registry(sample_raw, capsys):
    doc = json.loads(_run(capsys, "sources", "--json"))
    assert [s["source"] for s in doc["sources"]] == list(sources.names())
    assert all(s["license"] == sources.get(s["source"]).SPEC.license and s["expected"] for s in doc["sources"])
    doc = json.loads(_run(capsys, "sources", "--raw-dir", str(sample_raw), "--json"))
    assert all(s["present"].endswith(("file", "files")) for s in doc["sources"])


def test_card_counts_records_per_licence_and_shows_the_permissive_one_liner(built_sample):
    import re

    card = (built_sample / "README.md").read_text(encoding="utf-8")
    section = card.split("### Choosing by licence", 1)[1].split("\n#", 1)[0]
    rows = dict(re.findall(r"^\| (\S+) \| ([\d,]+) \| (?:yes|no) \|$", section, flags=re.M))
    ds = load_rows(built_sample, "all")  # mulco.load
    assert {k: int(v.replace(",", "")) for k, v in rows.items()} == dict(
        collections.Counter(r["license"] for s in ds for r in ds[s]))
    permissive = json.loads(re.search(r'licenses=(\[.*?\])\)', section).group(1))
    assert permissive and set(permissive) < set(rows) and "C-UDA-1.0" not in permissive
    subset = mulco.load("all", data_dir=built_sample, licenses=permissive)  # the one-liner, on the local folder
    assert {x for s in subset for x in subset[s]["license"]} == set(permissive)
