"""`mulco stats`: length distributions in characters and tokens, checked against lengths computed
here from `mulco.load` (and numpy's nearest-rank percentiles); the PNG; bad input is one line."""
from __future__ import annotations

import json
import random
import struct
from pathlib import Path

import numpy as np

from conftest import load_rows
from mulco.cli import main
from mulco.stats import FIELDS, compute, describe, percentile

SPLITS = ("train", "validation", "test")


def _records(sample, config, splits=SPLITS, licenses=None) -> list[dict]:
    out = []
    for s in splits:
        try:
            out += load_rows(sample, config, s, licenses)  # mulco.load, once per config, split and licences
        except ValueError:  # the config has no record in this split
            pass
    return out


def _expected(values: list[int]) -> dict:
    a = np.array(values)
    return {"count": len(values), "empty": int((a == 0).sum()), "mean": round(float(a.mean()), 2),
            **{f"p{p}": int(np.percentile(a, p, method="inverted_cdf")) for p in (50, 90, 99)}, "max": int(a.max())}


def test_percentiles_are_nearest_rank_like_numpy():
    rng = random.Random(7)
    for n in (1, 2, 3, 10, 99, 100, 101, 1000):
        vals = sorted(rng.randint(0, 5000) for _ in range(n))
        for p in (1, 50, 90, 99, 100):
            assert percentile(vals, p) == int(np.percentile(vals, p, method="inverted_cdf")), (n, p)
    d = describe([0, 0, 3, 10])
    assert (d.count, d.empty, d.mean, d.max) == (4, 2, 3.25, 10)


def test_character_lengths_match_the_records(built_sample):
    res = compute(built_sample, "code_search.en")
    recs = _records(built_sample, "code_search.en")
    assert res.records == len(recs) > 0 and res.splits == SPLITS
    for f in FIELDS:
        assert res.chars[f].to_json() == _expected([len(r[f]) for r in recs]), f
    assert res.tokens is None


def test_token_lengths_with_a_local_tokenizer(built_sample, tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    recs = _records(built_sample, "zh", ("train",))
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator([r[f] for r in recs for f in FIELDS],
                            trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<s>"], show_progress=False))
    folder = tmp_path / "tok"
    folder.mkdir()
    tok.save(str(folder / "tokenizer.json"))
    res = compute(built_sample, "zh", splits=["train"], tokenizer=folder)
    for f in FIELDS:
        counts = [len(tok.encode(r[f], add_special_tokens=False).ids) for r in recs]
        assert res.tokens[f].to_json() == _expected(counts), f
        assert res.chars[f].to_json() == _expected([len(r[f]) for r in recs]), f
    # Chinese text: more characters per token than bytes would give, fewer than one token per character
    assert res.tokens["output"].max > 0


def test_token_counting_shows_a_progress_bar(built_sample, tmp_path, monkeypatch, capsys):
    """On a terminal, counting tokens draws a bar on stderr (issue 18: 20 s silent); quiet: nothing."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    from mulco import progress

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(["def f(x): return x"], trainers.BpeTrainer(vocab_size=260, special_tokens=["<unk>"],
                                                                        show_progress=False))
    tok.save(str(tmp_path / "tokenizer.json"))
    monkeypatch.setattr(progress, "on_terminal", lambda stream=None: True)
    capsys.readouterr()
    res = compute(built_sample, "en", splits=["train"], tokenizer=tmp_path)
    err = capsys.readouterr().err
    assert "tokens" in err and f"{res.records * len(FIELDS)}/{res.records * len(FIELDS)}" in err
    compute(built_sample, "en", splits=["train"], tokenizer=tmp_path, progress=False)
    assert capsys.readouterr().err == ""


def test_licences_filter_the_stats(built_sample):
    res = compute(built_sample, "all", licenses=["mit", "Apache-2.0"])
    recs = _records(built_sample, "all", licenses=["MIT", "Apache-2.0"])
    assert res.licenses == ["Apache-2.0", "MIT"] and res.records == len(recs) > 0
    assert res.chars["output"].to_json() == _expected([len(r["output"]) for r in recs])


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_cli_table_json_and_plot(built_sample, tmp_path, capsys):
    png = tmp_path / "lengths.png"
    assert main(["stats", str(built_sample), "code_generation", "--split", "train", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert all(f in out for f in FIELDS) and "p99" in out and str(png) in out
    w, h = _png_size(png)
    assert w > 600 and h > 200
    assert not list(tmp_path.glob(".*tmp-*"))
    assert main(["stats", str(built_sample), "code_generation", "--split", "train", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    recs = _records(built_sample, "code_generation", ("train",))
    assert data["records"] == len(recs) and data["splits"] == ["train"]
    assert data["chars"]["instruction"] == _expected([len(r["instruction"]) for r in recs])
    # an existing PNG may be replaced
    assert main(["stats", str(built_sample), "en", "--plot", str(png)]) == 0
    capsys.readouterr()
    assert _png_size(png)[0] > 600


def _fails(argv, capsys, *needles):
    assert main(argv) == 2
    cap = capsys.readouterr()
    err = cap.err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("mulco stats: error:") and cap.out == "", cap.err
    for n in needles:
        assert n in err, err


def test_bad_input_is_one_line(built_sample, tmp_path, capsys):
    s = str(built_sample)
    _fails(["stats", s, "en", "--licenses", "GPL-3.0"], capsys, "GPL-3.0", "present:", "MIT")
    _fails(["stats", s, "nope"], capsys, "nope")
    _fails(["stats", s, "en", "--split", "dev"], capsys, "unknown split 'dev'")
    _fails(["stats", s, "en", "--tokenizer", str(tmp_path / "none")], capsys, "no such folder")
    notes = tmp_path / "notes.png"
    notes.write_text("not a picture")
    _fails(["stats", s, "en", "--plot", str(notes)], capsys, "not a PNG")
    assert notes.read_text() == "not a picture"
    _fails(["stats", s, "en", "--plot", str(tmp_path / "x.jpg")], capsys, ".png")
    _fails(["stats", s, "en", "--plot", str(built_sample / "x.png")], capsys, "inside the data folder")
    (tmp_path / "d.png").mkdir()
    _fails(["stats", s, "en", "--plot", str(tmp_path / "d.png")], capsys, "is a folder")
    assert not (built_sample / "x.png").exists()


def test_plot_without_matplotlib_names_the_extra_and_writes_nothing(built_sample, tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what a core install (no [charts] extra) has
    png = tmp_path / "lengths.png"
    _fails(["stats", str(built_sample), "en", "--plot", str(png)], capsys, "pip install 'mulco[charts]'")
    assert not png.exists() and list(tmp_path.iterdir()) == []
