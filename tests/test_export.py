"""`mulco export`: every format is read back by the library that reads it and compared record for
record with `mulco.load` of the same config, split and licences; LLaMA-Factory's and axolotl's
files are checked against the shape their loaders read; bad input is one line and leaves nothing."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import yaml

import mulco
from conftest import load_rows
from mulco.cli import main
from mulco.export import ALPACA_FIELDS, FORMATS, MARKER, alpaca_prompt, alpaca_prompts, export

REPO = Path(__file__).resolve().parent.parent
CONFIGS = ["code_search.en", "code_generation"]
SPLITS = ["train", "test"]
PERMISSIVE = ["MIT", "apache-2.0"]  # a case the data spells differently: matched case-insensitively


def _load(sample, config, split, licenses=None) -> list[dict]:
    """What ``mulco.load`` gives (conftest.load_rows: once per config, split and licences)."""
    return load_rows(sample, config, split, licenses)


def _read_back(path: Path) -> list[dict]:
    """The file as `datasets` reads it (the library every one of these tools uses)."""
    from datasets import load_dataset

    return load_dataset("json", data_files=str(path), split="train").to_list()


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def exports(built_sample, tmp_path_factory):
    base = tmp_path_factory.mktemp("exports")
    return {fmt: export(built_sample, fmt, CONFIGS, base / fmt, splits=SPLITS) for fmt in FORMATS}


def test_prompts_are_the_ones_collama_train_uses():
    theirs = yaml.safe_load((REPO / "collama_train" / "templates" / "alpaca.yaml").read_text(encoding="utf-8"))
    ours = alpaca_prompts()
    assert ours == {k: theirs[k] for k in ("prompt_input", "prompt_no_input")}
    assert ours["prompt_no_input"].endswith("### Response:") and "{input}" in ours["prompt_input"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_reads_back_as_mulco_load_gives_it(exports, built_sample, fmt):
    res = exports[fmt]
    dest = Path(res.dest)
    data_files = [f for f in res.files if f.config is not None]
    assert [(f.config, f.split) for f in data_files] == [(c, s) for c in CONFIGS for s in SPLITS]
    for f in data_files:
        expected = _load(built_sample, f.config, f.split)
        got = _read_back(dest / f.path)
        assert f.records == len(got) == len(expected) > 0
        assert f.bytes == (dest / f.path).stat().st_size
        if fmt == "jsonl":
            assert got == expected  # every field, metadata included, in the same order
        elif fmt == "trl":
            assert got == [{"prompt": alpaca_prompt(r), "completion": r["output"]} for r in expected]
        else:
            assert got == [{k: r[k] for k in ALPACA_FIELDS} for r in expected]


def test_trl_prompt_is_the_seed_prompt_with_and_without_input(exports):
    rows = [json.loads(x) for f in exports["trl"].files
            for x in (Path(exports["trl"].dest) / f.path).read_text(encoding="utf-8").splitlines()]
    p = alpaca_prompts()
    with_input = [r for r in rows if "### Input:" in r["prompt"]]
    without = [r for r in rows if "### Input:" not in r["prompt"]]
    assert with_input and without
    head_in, head_no = p["prompt_input"].split("{instruction}")[0], p["prompt_no_input"].split("{instruction}")[0]
    assert all(r["prompt"].startswith(head_in) and r["prompt"].endswith("### Response:") for r in with_input)
    assert all(r["prompt"].startswith(head_no) and r["prompt"].endswith("### Response:") for r in without)


def test_alpaca_json_is_one_json_list_like_the_seed_file(exports, built_sample):
    res = exports["alpaca-json"]
    for f in res.files:
        path = Path(res.dest) / f.path
        items = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(items, list) and all(list(i) == list(ALPACA_FIELDS) for i in items)
        # the bytes of json.dump(list, indent=4, ensure_ascii=False): the seed's train.py reads it with json.load
        assert path.read_text(encoding="utf-8") == json.dumps(items, ensure_ascii=False, indent=4)
    # Chinese stays readable (not \u escapes) in a config that has it
    zh = export(built_sample, "alpaca-json", ["zh"], Path(res.dest).parent / "zh")
    text = (Path(zh.dest) / zh.files[0].path).read_text(encoding="utf-8")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text) and "\\u" not in text


# LLaMA-Factory's dataset_info.json as its loader reads it (llamafactory/data/parser.py, DatasetAttr.join
# and get_dataset_list; data/README.md): these are the keys it knows.
LF_KEYS = {"hf_hub_url", "ms_hub_url", "om_hub_url", "script_url", "cloud_file_name", "file_name", "file_sha1",
           "formatting", "ranking", "subset", "split", "folder", "num_samples", "columns", "tags"}
LF_COLUMNS = {"prompt", "query", "response", "history", "messages", "system", "tools", "images", "videos", "audios",
              "chosen", "rejected", "kto_tag"}


def test_llamafactory_dataset_info_has_the_shape_its_loader_reads(exports, built_sample):
    from datasets import load_dataset

    res = exports["llamafactory"]
    dataset_dir = Path(res.dest)
    info = json.loads((dataset_dir / "dataset_info.json").read_text(encoding="utf-8"))
    assert sorted(info) == sorted(f"{c}.{s}" for c in CONFIGS for s in SPLITS)  # one entry per config and split
    for name, attr in info.items():
        assert set(attr) <= LF_KEYS and set(attr["columns"]) <= LF_COLUMNS
        assert attr["formatting"] == "alpaca"
        assert attr["columns"] == {"prompt": "instruction", "query": "input", "response": "output"}
        # what llamafactory.data.loader does for a file entry: load_dataset("json", data_files=[...], split=...)
        local_path = os.path.join(dataset_dir, attr["file_name"])
        assert os.path.isfile(local_path) and attr["file_name"].endswith(".json")
        ds = load_dataset("json", data_files=[local_path], split=attr["split"])
        config, split = name.rsplit(".", 1)
        expected = _load(built_sample, config, split)
        assert [(r[attr["columns"]["prompt"]], r[attr["columns"]["query"]], r[attr["columns"]["response"]])
                for r in ds] == [(r["instruction"], r["input"], r["output"]) for r in expected]


AXOLOTL_KEYS = {"path", "name", "ds_type", "data_files", "split", "revision", "type"}


def test_axolotl_snippets_point_at_the_files_and_at_the_hub_configs(exports, built_sample):
    from datasets import load_dataset

    res = exports["axolotl"]
    local = yaml.safe_load((Path(res.dest) / "axolotl.yaml").read_text(encoding="utf-8"))
    hub = yaml.safe_load((Path(res.dest) / "axolotl_hub.yaml").read_text(encoding="utf-8"))
    assert set(local) == set(hub) == {"datasets", "test_datasets"}
    assert len(local["datasets"]) == len(CONFIGS) and len(local["test_datasets"]) == len(CONFIGS)
    for key, split in (("datasets", "train"), ("test_datasets", "test")):
        for config, entry, hub_entry in zip(CONFIGS, local[key], hub[key]):
            assert set(entry) <= AXOLOTL_KEYS and set(hub_entry) <= AXOLOTL_KEYS
            assert entry["type"] == hub_entry["type"] == "alpaca"
            assert Path(entry["path"]).is_absolute() and Path(entry["path"]).is_file()
            # what axolotl does with it: load_dataset(ds_type, data_files=path, split=split)
            ds = load_dataset(entry["ds_type"], data_files=entry["path"], split=entry["split"])
            assert ds.to_list() == [{k: r[k] for k in ALPACA_FIELDS} for r in _load(built_sample, config, split)]
            assert hub_entry == {"path": "collama/mulco", "name": config, "split": split, "type": "alpaca"}


def test_licences_filter_the_export_like_mulco_load(built_sample, tmp_path):
    res = export(built_sample, "jsonl", ["all"], tmp_path / "perm", splits=["test"], licenses=PERMISSIVE)
    assert res.licenses == ["Apache-2.0", "MIT"]
    got = _read_back(Path(res.dest) / res.files[0].path)
    expected = _load(built_sample, "all", "test", licenses=PERMISSIVE)
    assert got == expected and 0 < len(got) < len(_load(built_sample, "all", "test"))
    assert {r["license"] for r in got} == {"Apache-2.0", "MIT"}


def test_exports_are_deterministic_and_replace_their_own_folder(built_sample, tmp_path):
    for fmt in FORMATS:
        a = export(built_sample, fmt, ["en"], tmp_path / fmt, splits=["train", "validation"])
        first = _tree(Path(a.dest))
        export(built_sample, fmt, ["en"], tmp_path / fmt, splits=["train", "validation"])  # replaces it
        assert _tree(Path(a.dest)) == first, fmt
        other = _tree(Path(export(built_sample, fmt, ["en"], tmp_path / f"{fmt}2", splits=["train", "validation"]).dest))
        same = {k: v for k, v in first.items() if k != "axolotl.yaml"}  # that one names its own folder
        assert {k: v for k, v in other.items() if k != "axolotl.yaml"} == same, fmt
        assert MARKER in first
    assert not list(tmp_path.glob(".*tmp-*"))


def test_cli_prints_a_table_and_json_of_what_it_wrote(built_sample, tmp_path, capsys):
    dest = tmp_path / "lf"
    assert main(["export", str(built_sample), "--format", "llamafactory", "--configs", "code_search.en",
                 "--configs", "zh", "--split", "train,test", "--dest", str(dest)]) == 0
    out = capsys.readouterr().out
    assert "code_search.en/train.json" in out and "dataset_info.json" in out and "total" in out
    assert main(["export", str(built_sample), "--format", "trl", "--configs", "zh", "--licenses", "c-uda-1.0",
                 "--dest", str(dest), "--force", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    files = report["files"]
    assert report["licenses"] == ["C-UDA-1.0"] and [f["path"] for f in files] == ["zh/train.jsonl"]
    assert files[0]["bytes"] == (dest / "zh/train.jsonl").stat().st_size
    assert files[0]["records"] == len(_load(built_sample, "zh", "train", licenses=["C-UDA-1.0"])) == report["records"]
    assert sorted(p.name for p in dest.iterdir()) == [MARKER, "zh"]  # the old llamafactory export is gone


# --------------------------------------------------------------------------------------------
# Bad input: one line, exit status 2, nothing written


def _fails(argv, capsys, *needles) -> str:
    assert main(argv) == 2
    cap = capsys.readouterr()
    err = cap.err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("mulco export: error:"), err
    assert "Traceback" not in cap.err and cap.out == ""
    for n in needles:
        assert n in err, err
    return err


def _argv(sample, dest, *extra, fmt="jsonl", configs="en"):
    return ["export", str(sample), "--format", fmt, "--configs", configs, "--dest", str(dest), *extra]


def test_bad_requests_are_one_line_and_write_nothing(built_sample, tmp_path, capsys):
    dest = tmp_path / "out"
    _fails(_argv(built_sample, dest, fmt="llama-factory"), capsys, "unknown format 'llama-factory'", "llamafactory")
    _fails(_argv(built_sample, dest, configs="nope"), capsys, "nope")
    # a valid name with no record in the build
    _fails(_argv(built_sample, dest, configs="code_search.defect_detection.zh.go"), capsys,
           "code_search.defect_detection.zh.go")
    _fails(_argv(built_sample, dest, "--split", "dev"), capsys, "unknown split 'dev'")
    _fails(_argv(built_sample, dest, "--licenses", "GPL-3.0,WTFPL", "--split", "test"), capsys,
           "GPL-3.0", "WTFPL", "present:", "MIT")  # none selects a record: named, with those present
    _fails(_argv(built_sample, dest, "--licenses", "Apache-2.0"), capsys, "Apache-2.0", "present:",
           "C-UDA-1.0")  # a licence of the build, but none in en/train: an empty export is refused
    _fails(_argv(tmp_path / "missing", dest), capsys, "missing")
    assert not dest.exists() and sorted(p.name for p in tmp_path.iterdir()) == []


def test_unsafe_destinations_are_refused(built_sample, tmp_path, capsys):
    afile = tmp_path / "notes.txt"
    afile.write_text("mine\n")
    _fails(_argv(built_sample, afile), capsys, str(afile), "file")
    assert afile.read_text() == "mine\n"
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "keep.txt").write_text("keep\n")
    _fails(_argv(built_sample, theirs), capsys, str(theirs), "keep.txt", "--force")
    assert (theirs / "keep.txt").read_text() == "keep\n"
    _fails(_argv(built_sample, built_sample / "exports"), capsys, "inside the data folder")
    _fails(_argv(built_sample, built_sample, "--force"), capsys, "data folder")  # never, even with --force
    assert not (built_sample / "exports").exists()
    assert main(_argv(built_sample, theirs, "--force")) == 0  # asked for: replaced
    capsys.readouterr()
    assert not (theirs / "keep.txt").exists() and (theirs / "en" / "train.jsonl").is_file()


def test_read_only_destination_is_one_line_and_leaves_nothing(built_sample, tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):  # root ignores the mode: use a folder no one can write into
            ro = Path("/proc")
            if not ro.is_dir():
                pytest.skip("running as root without /proc: no read-only folder to try")
        dest = ro / "mulco-export-test"
        _fails(_argv(built_sample, dest), capsys, str(dest))
        assert not dest.exists()
    finally:
        (tmp_path / "ro").chmod(0o755)


def test_a_failure_while_writing_keeps_the_old_export(built_sample, tmp_path, monkeypatch, capsys):
    import mulco.export as mx

    dest = tmp_path / "out"
    assert main(_argv(built_sample, dest)) == 0
    before = _tree(dest)
    capsys.readouterr()

    def broken(rows):
        yield "{}\n"
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mx, "json_lines", broken)
    _fails(_argv(built_sample, dest, configs="zh"), capsys, str(dest), "No space left on device")
    assert _tree(dest) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temp folder left beside it


# --------------------------------------------------------------------------------------------
# TRL reads the export and trains on it (the training extra)


@pytest.mark.slow
def test_sft_trainer_takes_two_steps_on_the_trl_export(exports, tmp_path):
    pytest.importorskip("torch")
    trl = pytest.importorskip("trl")
    from datasets import load_dataset

    from collama_train.tiny import make_model, train_tokenizer

    res = exports["trl"]
    train_file = Path(res.dest) / next(f.path for f in res.files if f.split == "train")
    ds = load_dataset("json", data_files=str(train_file), split="train")
    tok = train_tokenizer([t for r in ds for t in (r["prompt"], r["completion"])], vocab_size=400)
    model = make_model(tok, hidden_size=32, layers=2, heads=2, max_positions=512)
    cfg = trl.SFTConfig(output_dir=str(tmp_path / "run"), max_steps=2, per_device_train_batch_size=2,
                        learning_rate=1e-3, max_length=512, logging_steps=1, save_strategy="no", report_to=[],
                        use_cpu=True, dataloader_pin_memory=False, disable_tqdm=True, seed=0)
    trainer = trl.SFTTrainer(model=model, args=cfg, train_dataset=ds, processing_class=tok)
    # TRL understood the prompt/completion split: the prompt's tokens are masked out of the loss, the
    # completion and the EOS TRL appends are learnt
    i = min(range(len(ds)), key=lambda k: len(ds[k]["prompt"]) + len(ds[k]["completion"]))
    row = trainer.train_dataset[i]
    learnt = [t for t in row["labels"] if t != -100]
    assert row["labels"].count(-100) == len(tok(ds[i]["prompt"])["input_ids"]) > 0 and learnt
    assert tok.decode(learnt).endswith(ds[i]["completion"][-10:] + tok.eos_token)
    out = trainer.train()
    assert trainer.state.global_step == 2
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == 2 and all(0 < x < 100 for x in losses) and out.training_loss > 0


def test_export_from_a_hub_repo_equals_the_local_export(built_sample, tmp_path, monkeypatch):
    from huggingface_hub import constants

    from helpers import server_url
    from test_mulco_api import FolderHub

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # only 127.0.0.1 is reached
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub_cache"))
    fake = FolderHub(built_sample)
    server = fake.serve()
    try:
        remote = export(fake.repo, "axolotl", ["code_search.en", "zh"], tmp_path / "remote", splits=["train", "test"],
                        licenses=["c-uda-1.0"], endpoint=server_url(server))
    finally:
        server.shutdown()
        server.server_close()
    local = export(built_sample, "axolotl", ["code_search.en", "zh"], tmp_path / "local", splits=["train", "test"],
                   licenses=["c-uda-1.0"])
    assert remote.revision == fake.sha and remote.source == fake.repo
    for a, b in zip(remote.files, local.files):
        if a.config is not None:
            assert (Path(remote.dest) / a.path).read_bytes() == (Path(local.dest) / b.path).read_bytes()
    hub = yaml.safe_load((Path(remote.dest) / "axolotl_hub.yaml").read_text(encoding="utf-8"))
    assert all(e["path"] == fake.repo and e["revision"] == fake.sha for e in hub["datasets"] + hub["test_datasets"])


def test_mulco_load_keeps_only_the_licences_asked_for(built_sample):
    ds = mulco.load("all", data_dir=built_sample, licenses=["mit", "Apache-2.0"])
    full = mulco.load("all", data_dir=built_sample)
    for split in full:
        assert ds[split].to_list() == [r for r in full[split].to_list() if r["license"] in ("MIT", "Apache-2.0")]
    stream = mulco.load("en", data_dir=built_sample, split="test", streaming=True, licenses="MIT")
    assert [r["id"] for r in stream] == [r["id"] for r in full["test"] if r["lang"] == "en" and r["license"] == "MIT"]
    with pytest.raises(mulco.SelectionError, match=r"GPL-3.0.*present: .*C-UDA-1.0.*MIT"):
        mulco.load("all", data_dir=built_sample, licenses=["GPL-3.0"])


# --------------------------------------------------------------------------------------------
# Issue 20: licences as an allow-list, missing splits skipped, names the folder has, overlapping
# configs, absolute paths for LLaMA-Factory


def test_licenses_are_an_allow_list_a_licence_selecting_nothing_is_a_note(built_sample, tmp_path, capsys):
    from mulco.commands.export_cmd import EPILOG

    # the example of `mulco export --help`, on the local build, where some of its licences select nothing
    example = next(line.split() for line in EPILOG.splitlines() if "--licenses" in line)
    asked = example[example.index("--licenses") + 1].split(",")
    present = mulco.count_licenses(mulco.resolve("en", built_sample, "train"))
    here, absent = [x for x in asked if x in present], [x for x in asked if x not in present]
    assert here and absent
    argv = [str(built_sample) if a == "collama/mulco" else str(tmp_path / "trl") if a == "exports/trl" else a
            for a in example[1:]]
    assert main(argv) == 0
    cap = capsys.readouterr()
    assert f"mulco export: note: licence(s) {', '.join(absent)} select no record here" in cap.err
    got = _read_back(tmp_path / "trl" / "en" / "train.jsonl")
    assert len(got) == len(_load(built_sample, "en", "train", licenses=here)) > 0
    # the README's one-liner: cc-by-4.0 is in code_search.en, apache-2.0 is not -> a LicenceNote, and the records
    with pytest.warns(mulco.LicenceNote, match="apache-2.0"):
        ds = mulco.load("code_search.en", data_dir=built_sample, licenses=["cc-by-4.0", "apache-2.0"])
    rows = [r for split in ds for r in ds[split].to_list()]
    assert rows and {r["license"] for r in rows} == {"CC-BY-4.0"}
    res = export(built_sample, "jsonl", ["en"], tmp_path / "api", licenses=[here[0].lower(), "GPL-3.0"])
    assert res.licenses == [here[0]] and len(res.notes) == 1 and "GPL-3.0" in res.notes[0]


def test_missing_splits_are_skipped_and_listed_and_the_error_names_the_splits_a_config_has(built_sample, tmp_path, capsys):
    only_train = "code_search.query_to_code"  # the sample has it in train only
    dest = tmp_path / "all"
    assert main(["export", str(built_sample), "--format", "jsonl", "--configs", f"code_search.en,{only_train}",
                 "--split", "train,validation,test", "--dest", str(dest)]) == 0
    out = capsys.readouterr().out
    assert "Not exported" in out and f"{only_train}/train.jsonl" in out
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.jsonl")) == [
        "code_search.en/test.jsonl", "code_search.en/train.jsonl", "code_search.en/validation.jsonl",
        f"{only_train}/train.jsonl"]
    res = export(built_sample, "jsonl", [only_train], tmp_path / "api", splits=["train", "test"])
    assert res.skipped == [(only_train, "test", "no test split")]
    assert res.to_json()["skipped"] == [{"config": only_train, "split": "test", "why": "no test split"}]
    err = _fails(_argv(built_sample, tmp_path / "x", "--split", "validation,test", configs=only_train), capsys,
                 f"config {only_train!r} selects no record in the 'validation' split")
    assert "it has records only in the train split" in err


def test_suggestions_name_only_configs_the_folder_has(built_sample, tmp_path, capsys):
    have = set(mulco.config_names(lf.keys for lf in mulco.select.group_leaves(mulco.select.list_local(built_sample))))
    assert "code_search.en.cpp" not in have  # the taxonomy's closest name to the typo below: not in this build
    err = _fails(_argv(built_sample, tmp_path / "x", configs="code_search.en.cs"), capsys, "code_search.en.cs")
    close = err.split(" has: ")[1].split(" (`mulco configs")[0].split(", ")
    assert close and set(close) <= have and "code_search.en.cpp" not in err


def test_overlapping_configs_are_exported_with_a_warning_saying_how_to_avoid_it(built_sample, tmp_path, capsys):
    res = export(built_sample, "jsonl", ["en", "code_search.en"], tmp_path / "api")
    n = len(_load(built_sample, "code_search.en", "train"))
    assert res.warnings == [
        f"configs en and code_search.en share records ({n:,} train): the export holds them twice, and a tool reading "
        f"both files trains on them twice; export only one of them, or configs that do not overlap "
        f"(`collama-train --configs en,code_search.en` uses each record once)"]
    assert export(built_sample, "jsonl", ["code_search.en", "zh"], tmp_path / "disjoint").warnings == []
    assert main(["export", str(built_sample), "--format", "jsonl", "--configs", "en,code_search.en", "--dest",
                 str(tmp_path / "cli"), "-q"]) == 0
    assert "WARNING: configs en and code_search.en share records" in capsys.readouterr().err


def test_llamafactory_absolute_paths_can_be_merged_into_another_dataset_info(built_sample, tmp_path, capsys):
    dest = tmp_path / "lf"
    assert main(["export", str(built_sample), "--format", "llamafactory", "--configs", "code_search.en", "--dest",
                 str(dest)]) == 0
    assert "--absolute-paths" in capsys.readouterr().err  # the note says how to get mergeable entries
    info = json.loads((dest / "dataset_info.json").read_text(encoding="utf-8"))
    assert info["code_search.en.train"]["file_name"] == "code_search.en/train.json"
    assert main(["export", str(built_sample), "--format", "llamafactory", "--configs", "code_search.en", "--dest",
                 str(dest), "--absolute-paths"]) == 0
    merged = json.loads((dest / "dataset_info.json").read_text(encoding="utf-8"))
    their_dir = tmp_path / "LLaMA-Factory" / "data"  # their own dataset_dir, elsewhere
    for name, entry in merged.items():
        assert Path(entry["file_name"]).is_absolute() and entry == {**info[name], "file_name": entry["file_name"]}
        path = os.path.join(str(their_dir), entry["file_name"])  # what llamafactory.data.loader does
        assert _read_back(Path(path)) == [{k: r[k] for k in ALPACA_FIELDS} for r in _load(built_sample, "code_search.en", "train")]
