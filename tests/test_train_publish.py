"""``collama-train publish`` against the fake Hub of ``test_publish.py`` (127.0.0.1, driven through
the real ``HfApi``): a full run and a LoRA run (adapter, and merged) are published in one commit
each; the uploaded card parses with huggingface_hub and its model-index gives back the scores of
``eval/results.json``; the uploaded folder loads with transformers (and peft); no local path, host
name or token is uploaded; a failed upload changes nothing; ``--dry-run`` uploads nothing; bad
runs are refused with one line."""
from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import pytest

from test_publish import TOKEN, hub  # noqa: F401  (the fake Hub fixture)
from train_fixtures import *  # noqa: F401,F403
from train_fixtures import base_argv

torch = pytest.importorskip("torch")

from huggingface_hub import ModelCard, metadata_load  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

from collama_train.cli import main as cli_main  # noqa: E402
from collama_train.train import main as train_main  # noqa: E402

HOST = "build-host-4711.example.internal"
EVAL = ("--eval-configs", "code_search.en,code_generation.en", "--eval-limit", "2", "--eval-max-new-tokens", "4")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_model, mulco_sample) -> dict[str, Path]:
    """A full run and a LoRA run of the tiny model (2 steps each), both evaluated (RUN/eval/results.json)."""
    base = tmp_path_factory.mktemp("publish_runs")
    out = {"full": base / "full", "lora": base / "lora"}
    steps = ("--max_steps", "2", "--disable_tqdm", "true", "--configs", "code_search.en,code_generation.en:0.5")
    assert train_main(base_argv(tiny_model, mulco_sample, out["full"], base / "cache", *steps, *EVAL)) == 0
    assert train_main(base_argv(tiny_model, mulco_sample, out["lora"], base / "cache", *steps, *EVAL,
                                "--lora", "--lora-r", "4", "--learning_rate", "5e-2")) == 0
    return out


@pytest.fixture
def online(hub, monkeypatch):  # noqa: F811
    """The fake Hub as HF_ENDPOINT, a write token, and this machine's name seen as HOST."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setattr(constants, "ENDPOINT", hub.endpoint)
    monkeypatch.setattr("collama_train.publish.folder.hostnames", lambda: [HOST])
    return hub


def publish(*argv: str) -> int:
    return cli_main(["publish", *map(str, argv)])


def error_line(capsys) -> str:
    """The one error line on stderr (notes and warnings may come before it, nothing after)."""
    lines = capsys.readouterr().err.strip().splitlines()
    errors = [x for x in lines if x.startswith("collama-train publish: error: ")]
    assert errors == lines[-1:], lines
    return errors[0]


def fetch(hub, repo_id: str, dest: Path) -> Path:  # noqa: F811
    """The repo's files at main, written to ``dest`` (what a download of the repo gives)."""
    for name, data in hub.files(repo_id).items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_bytes(data)
    return dest


def assert_nothing_leaks(files: dict[str, bytes], tmp_root: Path) -> None:
    """No uploaded byte names a local path (the test's temp root, the home folder, the checkout),
    this host or the token (a weights file: its header)."""
    secrets = [str(tmp_root), str(Path.home()), str(Path(__file__).resolve().parent.parent), HOST, TOKEN]
    for name, data in files.items():
        if name.endswith(".safetensors"):
            data = data[:8 + int.from_bytes(data[:8], "little")]
        text = data.decode("utf-8", "replace")
        for s in secrets:
            assert not re.search(rf"{re.escape(s)}(?![\w-])", text), f"{name} holds {s!r}"


def scores_of(results: dict) -> dict[tuple[str, str], float]:
    """(cell label, metric) -> value of every finite number in results.json's cells."""
    out = {}
    for c in results["cells"]:
        for m, v in c["metrics"].items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                out[(f"{c['task']}, {c['lang']}, {c['plang']}", m)] = v
    return out


def card_scores(card: ModelCard) -> dict[tuple[str, str], float]:
    out = {}
    for r in card.data.eval_results:
        label = re.fullmatch(rf"{re.escape(r.metric_type)} \((.*)\)", r.metric_name).group(1)
        out[(label, r.metric_type)] = r.metric_value
        assert r.task_type == "text-generation" and r.dataset_split == "test"
        assert r.dataset_type == "collama/mulco" and r.dataset_config.startswith(r.task_name)
    return out


def usage_snippet(card_text: str) -> str:
    return re.search(r"## How to use.*?```python\n(.*?)```", card_text, re.S).group(1)


def logits(model, tokenizer) -> torch.Tensor:
    ids = torch.tensor([tokenizer("def add(a, b):\n    return a + b\n")["input_ids"]])
    with torch.no_grad():
        return model(ids).logits


def test_full_run_is_one_commit_whose_card_and_model_load(online, runs, tmp_path, tmp_path_factory, mulco_sample, capsys):
    import mulco

    run = runs["full"]
    report = json.loads((run / "collama_run.json").read_text())
    report["environment"]["host"] = HOST  # a key another version might add: scrubbed all the same
    (run / "collama_run.json").write_text(json.dumps(report))
    assert publish(run, "--repo-id", "alice/tiny-coder", "--base-model", "collama/tiny-base", "--license",
                   "apache-2.0", "--private") == 0
    out = capsys.readouterr().out
    assert "created private model repo alice/tiny-coder" in out and "commit" in out
    repo = online.repos["alice/tiny-coder"]
    assert len(repo["commits"]) == 2 and len([r for r in online.requests if "/commit/" in r[1]]) == 1
    files = online.files("alice/tiny-coder")
    assert set(files) == {".gitattributes", "README.md", "collama_run.json", "eval/results.json", "config.json",
                          "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                          "chat_template.jinja"}
    assert_nothing_leaks(files, tmp_path_factory.getbasetemp())
    folder = fetch(online, "alice/tiny-coder", tmp_path / "dl")

    card = ModelCard.load(folder / "README.md")
    meta = metadata_load(folder / "README.md")
    assert meta["base_model"] == card.data.base_model == "collama/tiny-base"
    assert meta["library_name"] == "transformers" and meta["pipeline_tag"] == "text-generation"
    assert meta["license"] == "apache-2.0" and meta["datasets"] == ["collama/mulco"] and "en" in meta["language"]
    assert "model-index" in meta and meta["model-index"][0]["name"] == "tiny-coder"
    results = json.loads((run / "eval/results.json").read_text())
    assert card_scores(card) == scores_of(results) and scores_of(results)
    body = card.text
    for config in ("code_search.en", "code_generation.en"):
        assert f"| `{config}` |" in body  # the mixture table
    # the licence table: the records of the selected configs, as mulco counts them
    counts = mulco.count_licenses(mulco.resolve(["code_search.en", "code_generation.en"], mulco_sample, "train"))
    assert counts and all(f"| {lic} | {n:,} |" in body for lic, n in counts.items())
    assert ("Non-commercial data" in body) == any("-nc" in lic.lower() for lic in counts)
    assert "@misc{Hu2023CoLLaMA" in body and "## Limitations" in body and "learning_rate" in body
    uploaded_report = json.loads(files["collama_run.json"])
    assert uploaded_report["training"]["output_dir"] == "." and uploaded_report["environment"]["host"] == "<host>"
    assert uploaded_report["model"]["model"] == "collama/tiny-base"

    model = AutoModelForCausalLM.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert torch.equal(logits(model, tokenizer), logits(AutoModelForCausalLM.from_pretrained(run), tokenizer))
    # the card's usage snippet runs as written (the repo id pointed at the download, fewer new tokens)
    code = usage_snippet(body).replace('"alice/tiny-coder"', repr(str(folder))).replace("max_new_tokens=256", "max_new_tokens=4")
    exec(compile(code, "README.md", "exec"), {})
    assert "Below is an instruction" in code and "### Response:" in code


def test_lora_run_publishes_the_adapter_or_the_merged_model(online, runs, tmp_path, tmp_path_factory, tiny_model, capsys):
    from peft import PeftModel

    run = runs["lora"]
    assert publish(run, "--repo-id", "alice/tiny-lora") == 2  # the base is a local folder
    assert "pass --base-model ID" in error_line(capsys) and "alice/tiny-lora" not in online.repos

    assert publish(run, "--repo-id", "alice/tiny-lora", "--base-model", "collama/tiny-base") == 0
    files = online.files("alice/tiny-lora")
    assert {"adapter_config.json", "adapter_model.safetensors", "README.md", "eval/results.json"} <= set(files)
    assert "model.safetensors" not in files
    assert json.loads(files["adapter_config.json"])["base_model_name_or_path"] == "collama/tiny-base"
    folder = fetch(online, "alice/tiny-lora", tmp_path / "adapter")
    card = ModelCard.load(folder / "README.md")
    assert card.data.library_name == "peft" and "lora" in card.data.tags and card.data.base_model == "collama/tiny-base"
    assert card_scores(card) == scores_of(json.loads((run / "eval/results.json").read_text()))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tuned = logits(PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model), folder), tokenizer)
    assert not torch.allclose(tuned, logits(AutoModelForCausalLM.from_pretrained(tiny_model), tokenizer))

    assert publish(run, "--repo-id", "alice/tiny-merged", "--merge", "--base-model", "collama/tiny-base") == 0
    files = online.files("alice/tiny-merged")
    assert {"config.json", "model.safetensors", "README.md"} <= set(files)
    assert not any(n.startswith("adapter_") for n in files)
    assert_nothing_leaks({**files, **online.files("alice/tiny-lora")}, tmp_path_factory.getbasetemp())
    merged = fetch(online, "alice/tiny-merged", tmp_path / "merged")
    meta = metadata_load(merged / "README.md")
    assert meta["library_name"] == "transformers" and "merged" in meta["tags"]
    assert torch.allclose(logits(AutoModelForCausalLM.from_pretrained(merged), tokenizer), tuned, atol=1e-5)


def test_failed_upload_leaves_the_remote_as_it_was(online, runs, capsys):
    online.create("alice/tiny-coder", files={"README.md": b"old card", "model.safetensors": b"old"})
    before = dict(online.files("alice/tiny-coder"))
    online.fail_commit = 500
    assert publish(runs["full"], "--repo-id", "alice/tiny-coder", "--base-model", "none") == 1
    err = error_line(capsys)
    assert "HTTP 500" in err and "nothing was committed" in err
    assert online.files("alice/tiny-coder") == before and len(online.repos["alice/tiny-coder"]["commits"]) == 1


def test_dry_run_uploads_nothing(online, runs, monkeypatch, capsys):
    from huggingface_hub import constants

    online.create("alice/tiny-coder", files={"old-shard.bin": b"x" * 10})
    state = json.dumps({k: sorted(v) for k, v in online.repos["alice/tiny-coder"]["commits"].items()})
    assert publish(runs["full"], "--repo-id", "alice/tiny-coder", "--base-model", "none", "--dry-run") == 0
    out = capsys.readouterr().out
    assert all(m == "GET" for m, _, _ in online.requests)
    assert json.dumps({k: sorted(v) for k, v in online.repos["alice/tiny-coder"]["commits"].items()}) == state
    assert re.search(r"add .* model\.safetensors", out) and re.search(r"delete .* old-shard\.bin", out)
    assert "dry run: nothing was uploaded" in out and "model-index:" in out and "# tiny-coder" in out
    # non-commercial and share-alike training data: said on the card, and warned about when --license allows more
    monkeypatch.setattr("collama_train.publish.card.count_licences",
                        lambda report, log: {"CC-BY-SA-4.0": 3, "CC-BY-NC-4.0": 1, "MIT": 4})
    assert publish(runs["full"], "--repo-id", "alice/tiny-coder", "--base-model", "none", "--license", "mit",
                   "--dry-run") == 0
    cap = capsys.readouterr()
    assert "Non-commercial data" in cap.out and "Share-alike data" in cap.out and "| CC-BY-SA-4.0 | 3 | 37.5% |" in cap.out
    assert "warning: some training records are under a non-commercial licence (CC-BY-NC-4.0)" in cap.err
    assert "--license mit allows commercial use" in cap.err
    # offline: the plan without reading the repo, and no request at all
    n = len(online.requests)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert publish(runs["full"], "--repo-id", "bob/x", "--base-model", "none", "--dry-run", "-q") == 0
    assert len(online.requests) == n and "bob/x" not in online.repos
    cap = capsys.readouterr()
    assert "the repo was not read" in cap.out and "model-index:" in cap.out and "note:" not in cap.err  # -q: no notes


def test_bad_runs_and_missing_token_are_one_line(runs, tmp_path, monkeypatch, capsys):
    from huggingface_hub import constants

    def refused(*argv, code=2) -> str:
        assert publish(*argv) == code
        return error_line(capsys)

    crashed = tmp_path / "crashed"
    shutil.copytree(runs["full"], crashed)
    (crashed / "model.safetensors").unlink()
    assert "has no model" in refused(crashed, "--repo-id", "a/b", "--base-model", "none", "--dry-run")
    shutil.copy(runs["full"] / "model.safetensors", crashed / "model.safetensors")
    with open(crashed / "model.safetensors", "r+b") as fh:
        fh.truncate(1000)
    assert "truncated or damaged" in refused(crashed, "--repo-id", "a/b", "--base-model", "none", "--dry-run")
    (crashed / "collama_run.json").unlink()
    (crashed / "checkpoint-2").mkdir()
    assert "checkpoint-2" in refused(crashed, "--repo-id", "a/b", "--dry-run")
    assert "local folder" in refused(runs["full"], "--repo-id", "a/b", "--dry-run")
    assert "not a Hub model id" in refused(runs["full"], "--repo-id", "a/b", "--base-model", str(tmp_path), "--dry-run")
    assert "holds a full model" in refused(runs["full"], "--repo-id", "a/b", "--merge", "--dry-run")
    assert "<namespace>/<name>" in refused(runs["full"], "--repo-id", "nope", "--dry-run")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    assert "no Hugging Face token" in refused(runs["full"], "--repo-id", "a/b", "--base-model", "none", code=1)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert "HF_HUB_OFFLINE" in refused(runs["full"], "--repo-id", "a/b", "--base-model", "none", code=1)
    # a file that would carry the token is never uploaded
    leaky = tmp_path / "leaky"
    shutil.copytree(runs["full"], leaky)
    (leaky / "chat_template.jinja").write_text(f"{{# {TOKEN} #}}")
    err = refused(leaky, "--repo-id", "a/b", "--base-model", "none", "--dry-run")
    assert "chat_template.jinja would upload the Hugging Face token" in err and TOKEN not in err
