"""The whole path with a tiny model built here (generate -> score -> report) on the sample build,
batched left-padded generation, re-scoring and comparing, the endpoint and vllm backends, and
bad input (one clear line each, before any model is loaded where possible)."""
from __future__ import annotations

import json
import time

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from collama_train.evaluate.cli import main  # noqa: E402
from collama_train.evaluate.runner import EvalArguments, evaluate_model, load_records  # noqa: E402
from helpers import QuietJSONHandler, server_url, start_server  # noqa: E402

pytestmark = pytest.mark.train


@pytest.fixture(scope="module")
def sample(built_sample):
    """The bundled sample, built once per run (conftest; read-only)."""
    return built_sample


@pytest.fixture(scope="module")
def tiny(sample, tmp_path_factory):
    import pyarrow.parquet as pq

    from collama_train.tiny import record_texts, save_tiny

    rows = [r for f in sorted((sample / "data").rglob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    return save_tiny(tmp_path_factory.mktemp("eval_tiny") / "tiny", record_texts(rows), vocab_size=300,
                     hidden_size=32, layers=2, max_positions=1024)


def _lines(path):
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_tiny_model_generate_score_report(sample, tiny, tmp_path, capsys):
    from collama_train.prompts import from_name

    out = tmp_path / "run"
    start = time.perf_counter()
    rc = main(["--model", str(tiny), "--data", str(sample), "--configs", "code_search.en,code_summarization.en",
               "--max-new-tokens", "8", "--batch-size", "4", "--limit", "1", "-q", "--out", str(out)])
    elapsed = time.perf_counter() - start
    assert rc == 0 and elapsed < 60
    cap = capsys.readouterr()
    table = cap.out
    assert "generating" not in cap.err  # -q: no progress bar
    records = load_records(EvalArguments(data=str(sample), configs="code_search.en,code_summarization.en", limit=1))
    # --limit applies per leaf (task x subtask x lang x plang): every leaf of the configs is there, once
    every = load_records(EvalArguments(data=str(sample), configs="code_search.en,code_summarization.en"))

    def leaf(r):
        return r["task"], r["subtask"], r["lang"], r["plang"]

    assert len(every) > len(records) and sorted(map(leaf, records)) == sorted(set(map(leaf, every)))
    gens = _lines(out / "generations.jsonl")
    # one line per test record, asked exactly what training teaches, with the record's answer as reference
    assert [g["id"] for g in gens] == [r["id"] for r in records]
    tmpl = from_name("alpaca")
    for g, r in zip(gens, records):
        assert g["prompt"] == tmpl.prompt(r) and g["reference"] == r["output"]
        assert (g["task"], g["subtask"], g["lang"], g["plang"]) == (r["task"], r["subtask"], r["lang"], r["plang"])
        assert isinstance(g["prediction"], str)
    results = json.loads((out / "results.json").read_text())
    assert sum(c["n"] for c in results["cells"] if c["plang"] != "all") == len(records)
    for c in results["cells"]:  # a pooled row per task x lang with several plangs: its records, all of them
        if c["plang"] == "all":
            assert c["n"] == sum(x["n"] for x in results["cells"] if (x["task"], x["lang"]) == (c["task"], c["lang"])
                                 and x["plang"] != "all")
    by_task = {c["task"] for c in results["cells"]}
    assert {"code_summarization", "code_search.cloze_test", "code_search.code_translation"} <= by_task
    summ = [c for c in results["cells"] if c["task"] == "code_summarization"]
    assert all(0 <= c["metrics"]["smoothed_bleu4"] <= 100 for c in summ)
    assert results["run"]["speed"]["generated_tokens"] > 0
    assert "### code_summarization" in table and "| en | go |" in table
    assert (out / "results.md").read_text().endswith(table.split("# collama-eval results\n\n", 1)[-1])
    # the limit is recorded in results.json and in the header of results.md (and the printed table)
    assert results["run"]["limit"] == 1 and results["run"]["limit_per"] == "task x subtask x lang x plang"
    header = (out / "results.md").read_text().splitlines()[2]
    assert "limit `1` per task x subtask x lang x plang" in header and f"model `{tiny}`" in header
    # re-scoring the saved generations gives the same cells and keeps the run's metadata and header
    assert main(["score", str(out), "--out", str(tmp_path / "rescored")]) == 0
    rescored = json.loads((tmp_path / "rescored" / "results.json").read_text())
    assert rescored["cells"] == results["cells"]
    for k in ("model", "data", "configs", "split", "template", "generation", "limit"):
        assert rescored["run"][k] == results["run"][k], k
    again = (tmp_path / "rescored" / "results.md").read_text().splitlines()[2]
    assert f"model `{tiny}`" in again and "limit `1` per task x subtask" in again and "re-scored from" in again
    capsys.readouterr()
    assert main(["compare", str(out), str(tmp_path / "rescored")]) == 0
    diff = capsys.readouterr().out
    rows = [x for x in diff.splitlines()[2:] if x.strip()]
    assert rows and all(x.rstrip(" |").endswith("+0.00") or x.rstrip(" |").endswith("–") for x in rows)


def test_batched_left_padded_generation_equals_one_by_one(tiny):
    from collama_train.evaluate.backends import GenerationConfig, Request, TransformersBackend, load_transformers

    model, tok = load_transformers(str(tiny))
    prompts = [Request("def f(x):\n    return"), Request("Summarize what this Go function does in one sentence. func Max(a, b int) int {"),
               Request("Yes"), Request("Below is an instruction that describes a task.\n\n### Instruction:\nFix the bug.")]
    tok.padding_side = "right"
    backend = TransformersBackend(model, tok)
    batched = backend.generate(prompts, GenerationConfig(max_new_tokens=6, batch_size=4))
    single = backend.generate(prompts, GenerationConfig(max_new_tokens=6, batch_size=1))
    assert batched == single and all(len(x) == 1 for x in batched)
    assert tok.padding_side == "right"  # the tokenizer is given back as it came (training pads right)


def test_progress_bar_while_generating(tiny, capsys):
    from collama_train.evaluate.backends import GenerationConfig, Request, TransformersBackend, load_transformers

    model, tok = load_transformers(str(tiny))
    TransformersBackend(model, tok, progress=True).generate([Request("a"), Request("b")], GenerationConfig(max_new_tokens=2))
    assert "generating" in capsys.readouterr().err  # tqdm on stderr (quiet with -q: see the run test)


def test_generation_keeps_the_models_stop_tokens(tiny):
    """A generation config listing two EOS ids (Llama-3-Instruct: <|end_of_text|>, <|eot_id|>): the
    backend stops where model.generate stops, not only at the tokenizer's EOS (issue 17 item 7)."""
    import torch

    from collama_train.evaluate.backends import GenerationConfig, Request, TransformersBackend, load_transformers

    model, tok = load_transformers(str(tiny))
    prompt = "def f(x):\n    return"
    enc = tok(prompt, return_tensors="pt")
    with torch.inference_mode():
        first = int(model.generate(**enc, max_new_tokens=1, do_sample=False, eos_token_id=None,
                                   pad_token_id=tok.eos_token_id)[0, -1])
    assert first != tok.eos_token_id  # the tiny model's greedy first token is an ordinary one
    model.generation_config.eos_token_id = [tok.eos_token_id, first]
    with torch.inference_mode():
        ref = model.generate(**enc, max_new_tokens=8, do_sample=False, pad_token_id=tok.eos_token_id)
    assert ref.shape[1] - enc["input_ids"].shape[1] == 1  # model.generate stops after its stop token
    backend = TransformersBackend(model, tok)
    backend.generate([Request(prompt)], GenerationConfig(max_new_tokens=8, batch_size=1))
    assert backend.stats.generated_tokens == 1  # before: 8 (the list was replaced by the tokenizer's EOS)


def test_evaluate_model_for_collama_train(sample, tiny, tmp_path):
    from collama_train.evaluate.backends import load_transformers

    model, tok = load_transformers(str(tiny))
    args = EvalArguments(data=str(sample), configs="code_search.cloze_test.en", split="test", limit=2,
                         max_new_tokens=4, out=str(tmp_path / "eval"), template="chat")
    res = evaluate_model(model, tok, args)
    # --limit per leaf: each plang of the config keeps its 2 records (the pooled "all" row sums them)
    assert {c["plang"] for c in res["cells"]} and all(c["n"] == 2 for c in res["cells"] if c["plang"] != "all")
    gens = _lines(tmp_path / "eval" / "generations.jsonl")
    assert all(g["prompt"].endswith("<|assistant|>\n") for g in gens)  # the chat template's generation prompt
    assert (tmp_path / "eval" / "results.md").is_file()


# ---------------------------------------------------------------- endpoint, vllm

class _FakeOpenAI(QuietJSONHandler):
    seen: list = []
    token = "sk-test-SECRET-123"

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((self.path, self.headers.get("Authorization"), body))
        if self.headers.get("Authorization") != f"Bearer {self.token}":
            return self.send_json(401, {"error": f"bad token {self.headers.get('Authorization')}"})
        if self.path.endswith("/chat/completions"):
            choices = [{"index": i, "message": {"role": "assistant", "content": "否"}} for i in range(body["n"])]
        else:
            choices = [{"index": i, "text": "Yes"} for i in range(len(body["prompt"]) * body["n"])]
        self.send_json(200, {"choices": choices, "usage": {"completion_tokens": len(choices)}})


def test_openai_compatible_endpoint(sample, tmp_path, monkeypatch, capsys):
    server = start_server(_FakeOpenAI)
    try:
        url = server_url(server) + "/v1"
        monkeypatch.setenv("MY_TOKEN", _FakeOpenAI.token)
        out = tmp_path / "ep"
        assert main(["--endpoint", url, "--model", "served", "--api-key-env", "MY_TOKEN", "--data", str(sample),
                     "--configs", "code_search.clone_detection", "--out", str(out)]) == 0
        res = json.loads((out / "results.json").read_text())
        gold = [g["reference"] for g in _lines(out / "generations.jsonl")]
        # the fake always answers "Yes": accuracy = share of gold "Yes"/"是"
        yes = sum(g in ("Yes", "是") for g in gold)
        n = sum(c["n"] for c in res["cells"])
        acc = sum(c["metrics"]["accuracy"] * c["n"] for c in res["cells"]) / n
        assert acc == pytest.approx(100 * yes / len(gold)) and n == len(gold)
        path, auth, body = _FakeOpenAI.seen[-1]
        assert path == "/v1/completions" and body["model"] == "served" and body["temperature"] == 0.0
        assert _FakeOpenAI.token not in capsys.readouterr().out + (out / "results.json").read_text()
        # chat template: messages go to /chat/completions
        assert main(["--endpoint", url, "--api-key-env", "MY_TOKEN", "--data", str(sample), "--template", "chat",
                     "--configs", "code_search.clone_detection.zh", "--out", str(tmp_path / "chat")]) == 0
        path, _, body = _FakeOpenAI.seen[-1]
        assert path == "/v1/chat/completions" and body["messages"][-1]["role"] == "user"
        # a wrong token: one line, and the token is never shown
        monkeypatch.setenv("MY_TOKEN", "sk-wrong-SECRET-999")
        capsys.readouterr()
        assert main(["--endpoint", url, "--api-key-env", "MY_TOKEN", "--data", str(sample),
                     "--configs", "code_search.clone_detection.en", "--out", str(tmp_path / "bad")]) == 2
        err = capsys.readouterr().err
        assert "HTTP 401" in err and "sk-wrong-SECRET-999" not in err and err.count("\n") == 1
    finally:
        server.shutdown()


def test_vllm_missing_is_one_line(sample, tiny, tmp_path, capsys):
    try:
        import vllm  # noqa: F401
        pytest.skip("vllm is installed here")
    except ImportError:
        pass
    assert main(["--backend", "vllm", "--model", str(tiny), "--data", str(sample), "--configs", "code_search.en",
                 "--out", str(tmp_path / "v")]) == 2
    err = capsys.readouterr().err
    assert "vllm" in err and "pip install vllm" in err and err.count("\n") == 1


# ---------------------------------------------------------------- bad input

def _one_line_error(capsys, argv) -> str:
    capsys.readouterr()
    assert main(argv) == 2
    cap = capsys.readouterr()
    assert cap.err.startswith("collama-eval: error: ") and cap.err.count("\n") == 1, cap.err
    assert "Traceback" not in cap.err
    return cap.err


def _results(path, cells):
    path.mkdir(parents=True, exist_ok=True)
    (path / "results.json").write_text(json.dumps({"version": 1, "cells": cells, "notes": []}))
    return str(path)


def _cell(task, n, acc, plang="go"):
    return {"task": task, "lang": "en", "plang": plang, "n": n, "metrics": {"exact_match": acc}}


def test_compare_says_what_it_compares(tmp_path, capsys):
    a = _results(tmp_path / "a", [_cell("code_search.cloze_test", 4, 50.0), _cell("code_search.cloze_test", 4, 25.0, "java")])
    b = _results(tmp_path / "b", [_cell("code_search.cloze_test", 2, 100.0), _cell("code_search.cloze_test", 4, 50.0, "java")])
    capsys.readouterr()
    assert main(["compare", a, b]) == 0
    out = capsys.readouterr().out
    # a row whose record counts differ is marked, and said why below the table
    assert "| go | exact_match | 4≠2 | 50.00 | 100.00 | +50.00 * |" in out
    assert "| java | exact_match | 4/4 | 25.00 | 50.00 | +25.00 |" in out
    assert "1 cell(s) scored a different number of records in a and b" in out
    # nothing in common: one line, not a table of dashes
    c = _results(tmp_path / "c", [_cell("code_summarization", 4, 10.0)])
    err = _one_line_error(capsys, ["compare", a, c])
    assert "no task x lang x plang in common" in err and "code_search.cloze_test.en" in err
    # --out a folder or under a missing folder: refused before anything is read
    assert "is a folder" in _one_line_error(capsys, ["compare", a, b, "--out", str(tmp_path)])
    assert "does not exist" in _one_line_error(capsys, ["compare", a, b, "--out", str(tmp_path / "no" / "x.md")])
    assert main(["compare", a, b, "--out", str(tmp_path / "d.md")]) == 0 and "4≠2" in (tmp_path / "d.md").read_text()


def test_help_and_flag_typos(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "collama-eval score DIR" in out and "collama-eval compare DIR_A DIR_B" in out and "examples:" in out
    err = _one_line_error(capsys, ["--modle", "x"])
    assert "unknown argument --modle (did you mean --model" in err
    assert "invalid int value" in _one_line_error(capsys, ["--limit", "many"])


def test_bad_generations_files(tmp_path, capsys):
    good = {"id": "a", "task": "code_search", "subtask": "cloze_test", "lang": "en", "plang": "go", "prompt": "p",
            "prediction": "append", "reference": "append"}
    cases = {
        "missing": [good, {k: v for k, v in good.items() if k != "reference"}],
        "unknown": [good, good, {**good, "task": "code_golf"}],
        "badjson": None,
        "badref": [{**good, "subtask": "clone_detection", "reference": "perhaps"}],
    }
    for name, rows in cases.items():
        p = tmp_path / f"{name}.jsonl"
        p.write_text("{not json\n" if rows is None else "".join(json.dumps(r) + "\n" for r in rows))
        err = _one_line_error(capsys, ["score", str(p)])
        line = {"missing": 2, "unknown": 3, "badjson": 1, "badref": 1}[name]
        assert f"{p}:{line}:" in err, err
    assert "missing field(s) reference" in _one_line_error(capsys, ["score", str(tmp_path / "missing.jsonl")])
    unknown = _one_line_error(capsys, ["score", str(tmp_path / "unknown.jsonl")])
    assert "unknown task 'code_golf.cloze_test'; known: code_search.cloze_test" in unknown
    assert "no such generations file" in _one_line_error(capsys, ["score", str(tmp_path / "nope")])


def test_bad_run_input_fails_before_any_model_is_loaded(sample, tmp_path, capsys, monkeypatch):
    from collama_train.evaluate import backends

    def no_load(*a, **k):
        raise AssertionError("the model was loaded before the input was checked")

    monkeypatch.setattr(backends, "load_transformers", no_load)
    base = ["--model", str(tmp_path / "m"), "--data", str(sample), "--out", str(tmp_path / "o")]
    err = _one_line_error(capsys, [*base, "--configs", "code_search.query_to_code.en"])
    assert "selects no record in the 'test' split" in err  # the sample has query_to_code in train only
    assert "Unknown MulCo config 'code_search.nope'" in _one_line_error(capsys, [*base, "--configs", "code_search.nope"])
    assert "unknown split 'dev'" in _one_line_error(capsys, [*base, "--configs", "code_search.en", "--split", "dev"])
    assert "no such MulCo folder" in _one_line_error(capsys, ["--model", "m", "--data", str(tmp_path / "none"),
                                                            "--configs", "code_search.en"])
    assert "--num-samples > 1 needs --do-sample" in _one_line_error(capsys, [*base, "--num-samples", "5"])
    assert "unknown template 'alpacca'" in _one_line_error(capsys, [*base, "--template", "alpacca"])
    assert "mbpp needs --mbpp-dir" in _one_line_error(capsys, [*base, "--configs", "mbpp"])


def test_model_that_cannot_be_loaded(sample, tmp_path, capsys):
    base = ["--data", str(sample), "--configs", "code_search.cloze_test.en", "--out", str(tmp_path / "o")]
    assert "no such model folder" in _one_line_error(capsys, [*base, "--model", str(tmp_path / "missing")])
    assert "not a model folder (no config.json" in _one_line_error(capsys, [*base, "--model", str(sample)])
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{ not json")
    assert "cannot be loaded" in _one_line_error(capsys, [*base, "--model", str(broken)])


def test_code_execution_where_limits_cannot_be_set(sample, tmp_path, capsys, monkeypatch):
    import sys

    from collama_train.evaluate import sandbox

    sandbox.check_platform.cache_clear()
    monkeypatch.setitem(sys.modules, "resource", None)
    try:
        err = _one_line_error(capsys, ["--model", str(tmp_path / "m"), "--configs", "humaneval", "--limit", "1",
                                       "--allow-code-execution", "--out", str(tmp_path / "o")])
        assert "limits cannot be set" in err
    finally:
        sandbox.check_platform.cache_clear()
