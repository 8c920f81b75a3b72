"""The OpenAI-compatible translator against a local server on 127.0.0.1 that speaks
``POST /v1/chat/completions``: batching, the disk cache, retries, rate limit, key handling,
and the build with and without it."""
from __future__ import annotations

import json
import threading
import time

import pytest
from helpers import QuietJSONHandler, server_url, start_server

from mulco import cli
from mulco.build import BuildConfig, build
from mulco.translate import Translator
from mulco.translate_openai import OpenAITranslator, TranslatorError, chat_url, translator_from_config

KEY = "sk-test-SECRET-0123456789abcdef"


def zh(text: str) -> str:
    return f"中文：{text}"


class FakeLLM:
    """Translates by prefixing 中文：; ``script`` holds statuses to answer before succeeding."""

    def __init__(self):
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.script: list[int] = []
        self.bad_batches = False
        self.lock = threading.Lock()

    def serve(self):
        llm = self

        class Handler(QuietJSONHandler):

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with llm.lock:
                    llm.requests.append(body)
                    llm.headers.append(dict(self.headers))
                    status = llm.script.pop(0) if llm.script else 200
                if self.path != "/v1/chat/completions":
                    return self.send_json(404, {"error": {"message": "not found"}})
                if status == 401:
                    return self.send_json(401, {"error": {"message": f"Incorrect API key provided: {KEY}"}})
                if status != 200:
                    return self.send_json(status, {"error": {"message": "busy"}}, {"Retry-After": "0"})
                system, user = body["messages"][0]["content"], body["messages"][1]["content"]
                if "JSON array" in system:
                    texts = json.loads(user)
                    out = [zh(t) for t in texts]
                    if llm.bad_batches:
                        out = out[:-1]  # one short: the client must not shift texts
                    content = "```json\n" + json.dumps(out, ensure_ascii=False) + "\n```"
                else:
                    content = zh(user)
                self.send_json(200, {"id": "x", "object": "chat.completion", "model": body["model"],
                                 "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                              "finish_reason": "stop"}]})

        return start_server(Handler)


@pytest.fixture
def llm():
    fake = FakeLLM()
    server = fake.serve()
    fake.url = server_url(server) + "/v1"
    yield fake
    server.shutdown()
    server.server_close()


def make(llm, tmp_path, **kw) -> OpenAITranslator:
    kw.setdefault("requests_per_second", 0)
    kw.setdefault("backoff", 0.001)
    return OpenAITranslator(url=llm.url, model="m1", api_key=KEY, cache_dir=tmp_path / "cache", progress=False, **kw)


def test_translates_in_order_in_batches(llm, tmp_path):
    t = make(llm, tmp_path, batch_size=3)
    assert isinstance(t, Translator) and t.name == "openai-compatible:m1"
    texts = [f"Return the sum {i}." for i in range(7)] + ["", "Return the sum 1."]
    assert t.translate(texts) == [zh(x) if x else x for x in texts]
    assert len(llm.requests) == 3  # 7 distinct texts in batches of 3; "" and the duplicate cost nothing
    assert llm.requests[0]["model"] == "m1" and llm.requests[0]["temperature"] == 0
    assert json.loads(llm.requests[0]["messages"][1]["content"]) == texts[:3]


def test_a_bad_batch_reply_falls_back_to_one_text_per_request(llm, tmp_path):
    llm.bad_batches = True
    t = make(llm, tmp_path, batch_size=4)
    texts = [f"text {i}" for i in range(4)]
    assert t.translate(texts) == [zh(x) for x in texts]
    assert len(llm.requests) == 1 + 4


def test_cache_on_disk_makes_reruns_free(llm, tmp_path):
    texts = ["Parse the header.", "Open the file.", "Close it."]
    make(llm, tmp_path).translate(texts)
    n = len(llm.requests)
    again = make(llm, tmp_path)  # a new process would build a new translator
    assert again.translate(texts) == [zh(x) for x in texts]
    assert len(llm.requests) == n and again.stats["cached"] == 3
    other_model = OpenAITranslator(url=llm.url, model="m2", api_key=KEY, cache_dir=tmp_path / "cache",
                                   progress=False, requests_per_second=0)
    other_model.translate(texts[:1])
    assert len(llm.requests) == n + 1  # the key includes the model
    cached = b"".join(p.read_bytes() for p in (tmp_path / "cache").rglob("*.json"))
    assert KEY.encode() not in cached and "Parse the header.".encode() in cached


def test_retries_429_and_5xx_with_backoff(llm, tmp_path):
    llm.script = [429, 503, 500]
    t = make(llm, tmp_path)
    assert t.translate(["one"]) == [zh("one")]
    assert t.stats["retries"] == 3 and len(llm.requests) == 4


def test_gives_up_after_max_retries_with_one_line(llm, tmp_path):
    llm.script = [503] * 10
    t = make(llm, tmp_path, max_retries=2)
    with pytest.raises(TranslatorError) as ei:
        t.translate(["one"])
    assert "failed 3 times" in str(ei.value) and "HTTP 503" in str(ei.value) and "\n" not in str(ei.value)
    assert len(llm.requests) == 3


def test_refused_key_is_not_retried_and_never_shown(llm, tmp_path):
    llm.script = [401]
    t = make(llm, tmp_path)
    with pytest.raises(TranslatorError) as ei:
        t.translate(["one"])
    assert "refused the key" in str(ei.value) and "--translator-key-env" in str(ei.value)
    assert KEY not in str(ei.value) and KEY not in repr(t)
    assert len(llm.requests) == 1


def test_unreachable_endpoint(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = OpenAITranslator(url=f"http://127.0.0.1:{port}/v1", cache_dir=tmp_path, progress=False,
                         max_retries=1, backoff=0.001)
    with pytest.raises(TranslatorError, match="check that it is running"):
        t.translate(["x"])


def test_rate_limit_spaces_requests(llm, tmp_path):
    t = make(llm, tmp_path, requests_per_second=20, batch_size=1)
    start = time.monotonic()
    t.translate([f"t{i}" for i in range(6)])
    assert time.monotonic() - start >= 5 / 20 * 0.95


def test_chat_url():
    assert chat_url("http://h:1/v1") == "http://h:1/v1/chat/completions"
    assert chat_url("http://h:1/v1/") == "http://h:1/v1/chat/completions"
    assert chat_url("http://h:1/v1/chat/completions") == "http://h:1/v1/chat/completions"


def test_translator_from_config_reads_the_key_from_the_named_env_var(llm, tmp_path, monkeypatch):
    monkeypatch.setenv("MY_KEY_VAR", KEY)
    cfg = BuildConfig(translator_url=llm.url, translator_model="qwen", translator_key_env="MY_KEY_VAR",
                      translator_cache=tmp_path / "c", progress=False)
    t = translator_from_config(cfg)
    t.requests_per_second = 0
    assert t.model == "qwen" and t.cache_dir == tmp_path / "c"
    t.translate(["hello"])
    assert llm.headers[-1]["Authorization"] == f"Bearer {KEY}"
    monkeypatch.delenv("MY_KEY_VAR")
    t2 = translator_from_config(cfg)
    t2.requests_per_second = 0
    t2.translate(["bye"])
    assert "Authorization" not in llm.headers[-1]  # a local endpoint may need no key


def test_build_without_translator_skips_and_counts_zh(sample_raw, tmp_path):
    res = build(BuildConfig(raw_dir=sample_raw, sources=["codesearchnet"], out=tmp_path / "out", progress=False))
    skipped = res.sources["codesearchnet"].records_skipped.get("zh_needs_translator", 0)
    if not skipped:
        pytest.skip("the codesearchnet sample has no record that needs a translator")
    assert res.report["translator"] is None
    report = json.loads((tmp_path / "out" / "build_report.json").read_text())
    assert report["sources"]["codesearchnet"]["records_skipped"]["zh_needs_translator"] == skipped
    assert f"{skipped:,} Chinese records that need an English text translated were skipped" in \
        (tmp_path / "out" / "README.md").read_text(encoding="utf-8")


def test_build_with_translator_fills_zh_records_via_the_cli(llm, sample_raw, tmp_path, monkeypatch, capsys):
    base = build(BuildConfig(raw_dir=sample_raw, sources=["codesearchnet"], out=tmp_path / "base", progress=False))
    skipped = base.sources["codesearchnet"].records_skipped.get("zh_needs_translator", 0)
    if not skipped:
        pytest.skip("the codesearchnet sample has no record that needs a translator")
    monkeypatch.setenv("MULCO_TRANSLATOR_KEY", KEY)
    argv = ["build", "--raw-dir", str(sample_raw), "--sources", "codesearchnet", "--out", str(tmp_path / "out"),
            "--no-progress", "--translator-url", llm.url, "--translator-model", "m1",
            "--translator-cache", str(tmp_path / "cache")]
    assert cli.main(argv) == 0
    report = json.loads((tmp_path / "out" / "build_report.json").read_text())
    assert report["translator"] == "openai-compatible:m1"
    assert report["sources"]["codesearchnet"]["records_skipped"].get("zh_needs_translator", 0) == 0
    assert sum(report["sources"]["codesearchnet"]["records_skipped"].values()) == 0
    import pyarrow.parquet as pq

    zh_rows = [r for p in (tmp_path / "out" / "data").rglob("*.parquet") for r in pq.read_table(p).to_pylist()
               if r["lang"] == "zh" and r["task"] in ("code_summarization", "code_generation")]
    assert zh_rows and any("中文：" in (r["output"] + r["input"]) for r in zh_rows)
    n = len(llm.requests)
    assert cli.main(argv) == 0  # a rerun costs nothing: every text is cached
    assert len(llm.requests) == n
    out = capsys.readouterr()
    assert KEY not in out.out + out.err
