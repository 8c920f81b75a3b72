"""Secrets never leak, raw paths never escape.

* The Hugging Face token (``HF_TOKEN``) and the translator key never appear in anything a run
  shows or writes: stdout, stderr, every file of the output folder, the HF cache, the
  translator cache, and the text of any exception, whether the run succeeds or fails, even when
  the server echoes the secret back in its error (a fake Hub and a fake translator on
  127.0.0.1 do). Each test also checks the secret really was sent, so it was in play.
* Names from raw files (zip member names such as ``../../evil.json`` or absolute paths, ids
  such as ``../../x``) never make a file outside the output folder: the converters read zip
  members in memory and no output path is made from raw text.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import traceback
import uuid
import zipfile
from pathlib import Path

import pytest
from helpers import QuietJSONHandler, server_url, start_server

from mulco.build import BuildConfig, build

REPO = Path(__file__).resolve().parent.parent
TOKEN = "hf_fakeTOKENneverPRINTme0123456789abcdef"
KEY = "sk-fakeKEYneverPRINTme0123456789abcdef"


def run_cli(args: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mulco.cli", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def base_env(tmp: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(HF_HOME=str(tmp / "hf"), HF_HUB_DISABLE_TELEMETRY="1", PYTHONPATH=str(REPO), **extra)
    return env


def files_holding(root: Path, secret: str) -> list[str]:
    needle = secret.encode()
    return sorted(str(p) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes())


class Recorder:
    """A fake HTTP server: answers with ``answer(handler) -> (status, body)``; records headers."""

    def __init__(self, answer):
        self.headers: list[dict] = []
        rec = self

        class Handler(QuietJSONHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.body = self.rfile.read(length) if length else b""
                rec.headers.append(dict(self.headers))
                status, body, extra = answer(self)
                self.send_json(status, body, extra)

            do_GET = do_POST = do_HEAD = _serve

        self.httpd = start_server(Handler)
        self.url = server_url(self.httpd)

    def saw(self, secret: str) -> bool:
        return any(secret in v for h in self.headers for v in h.values())

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def echo(h) -> str:
    """What a careless server says back: every header it got, the Authorization one included."""
    return " ".join(f"{k}: {v}" for k, v in h.headers.items())


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sec") / "out"
    build(BuildConfig(out=out, sources=["codealpaca", "codepro"], progress=False), log=lambda *a: None)
    return out


# --------------------------------------------------------------------------------------------
# The HF token and the translator key


@pytest.mark.slow
def test_a_build_with_a_token_and_a_key_set_shows_and_writes_neither(tmp_path):
    env = base_env(tmp_path, HF_TOKEN=TOKEN, MULCO_TRANSLATOR_KEY=KEY, HF_HUB_OFFLINE="1")
    ok = run_cli(["build", "--sample", "--out", str(tmp_path / "out"), "--no-progress"], env, tmp_path)
    bad = run_cli(["build", "--raw-dir", str(tmp_path / "missing"), "--out", str(tmp_path / "out2")], env, tmp_path)
    assert ok.returncode == 0 and bad.returncode == 2
    for secret in (TOKEN, KEY):
        assert secret not in ok.stdout + ok.stderr + bad.stdout + bad.stderr
        assert files_holding(tmp_path, secret) == []


@pytest.mark.parametrize("answer", ["ok", "401 echo", "500 echo", "404 echo"])
def test_publish_dry_run_never_shows_the_token(built, tmp_path, answer):
    def hub(h):
        if answer == "ok":
            if "/tree/" in h.path:
                return 200, [], {}
            return 200, {"id": "me/mulco", "sha": "0" * 40, "siblings": []}, {}
        status = int(answer.split()[0])
        return status, {"error": f"no: {echo(h)}"}, {"X-Error-Message": f"bad {echo(h)}"}

    server = Recorder(hub)
    try:
        env = base_env(tmp_path, HF_TOKEN=TOKEN, HF_ENDPOINT=server.url)
        done = run_cli(["publish", str(built), "--repo-id", "me/mulco", "--dry-run"], env, tmp_path)
        assert server.saw(TOKEN)
        assert TOKEN not in done.stdout + done.stderr, (done.stdout, done.stderr)
        assert (done.returncode == 0) == (answer == "ok"), done.stderr
        assert files_holding(tmp_path, TOKEN) == []
    finally:
        server.close()


def test_publish_errors_never_hold_the_token(built, tmp_path, monkeypatch):
    from mulco import publish as publish_mod

    server = Recorder(lambda h: (500, {"error": f"boom {echo(h)}"}, {"X-Error-Message": f"boom {echo(h)}"}))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False, raising=False)
    lines: list[str] = []
    try:
        for dry in (True, False):
            with pytest.raises(publish_mod.PublishError) as e:
                publish_mod.publish(built, "me/mulco", dry_run=dry, endpoint=server.url, token=TOKEN, log=lines.append)
            text = "".join(traceback.format_exception(e.value)) + repr(e.value) + str(e.value.args)
            assert TOKEN not in text
            assert TOKEN not in "\n".join(lines)
        assert server.saw(TOKEN)
    finally:
        server.close()


@pytest.mark.slow
def test_the_translator_key_never_leaks_even_when_the_server_echoes_it(tmp_path):
    def refuse(h):
        return 401, {"error": {"message": f"bad key: {echo(h)}"}}, {}

    def translate(h):
        user = json.loads(h.body)["messages"][-1]["content"]
        try:
            batch = json.loads(user)
            content = json.dumps(["译文：" + t[:20] for t in batch], ensure_ascii=False) if isinstance(batch, list) else None
        except ValueError:
            content = None
        return 200, {"choices": [{"message": {"content": content or "译文：" + user[:20]}}]}, {}

    for answer in (refuse, translate):
        server = Recorder(answer)
        try:
            env = base_env(tmp_path, MULCO_TRANSLATOR_KEY=KEY, HF_TOKEN=TOKEN, HF_HUB_OFFLINE="1")
            out = tmp_path / f"out-{answer.__name__}"
            done = run_cli(["build", "--sample", "--out", str(out), "--no-progress", "--sources", "codesearchnet",
                            "--translator-url", server.url + "/v1", "--translator-cache", str(tmp_path / "tcache")],
                           env, tmp_path)
            assert server.saw(KEY)
            assert (done.returncode == 0) == (answer is translate), done.stderr[-2000:]
            for secret in (KEY, TOKEN):
                assert secret not in done.stdout + done.stderr
                assert files_holding(tmp_path, secret) == []
        finally:
            server.close()


def test_download_sends_no_token_or_key_to_the_hosts_it_fetches_from(tmp_path):
    """GitHub, Zenodo and the like are not the Hub: with HF_TOKEN set, a token stored by `hf auth
    login` and the translator key in the environment, no request of `mulco download` carries any
    of them (nor any Authorization header), and neither shows when the server echoes headers."""
    import hashlib

    def files(h):
        if h.path == "/f":
            return 200, {"ok": 1}, {}
        return 404, {"error": f"not here: {echo(h)}"}, {}

    server = Recorder(files)
    try:
        body = json.dumps({"ok": 1}).encode()
        manifest = tmp_path / "downloads.json"
        manifest.write_text(json.dumps({"format": 1, "github": {"srv": server.url + "/"}, "sources": {"s": {"files": [
            {"dest": "s/f", "url": "{srv}f", "sha256": hashlib.sha256(body).hexdigest()},
            {"dest": "s/g", "url": "{srv}g", "sha256": None}]}}}))
        (tmp_path / "hf").mkdir()
        (tmp_path / "hf" / "token").write_text(TOKEN)  # where `hf auth login` stores it
        env = base_env(tmp_path, HF_TOKEN=TOKEN, MULCO_TRANSLATOR_KEY=KEY)
        done = run_cli(["download", "--raw-dir", str(tmp_path / "raw"), "--manifest", str(manifest), "--no-progress",
                        "--trust-on-first-use"], env, tmp_path)
        assert done.returncode == 1 and "HTTP 404" in done.stderr, done.stderr
        assert (tmp_path / "raw" / "s" / "f").read_bytes() == body
        assert len(server.headers) == 2 and not any("authorization" in k.lower() for h in server.headers for k in h)
        for secret in (TOKEN, KEY):
            assert not server.saw(secret)
            assert secret not in done.stdout + done.stderr
            assert files_holding(tmp_path / "raw", secret) == []
    finally:
        server.close()


def test_the_translator_key_does_not_follow_a_redirect_to_another_host(tmp_path):
    """The key goes to the translator's host only: a redirect elsewhere (to a name that is not the
    one configured) is followed without it."""
    from mulco.translate_openai import OpenAITranslator, TranslatorError

    elsewhere = Recorder(lambda h: (200, {"choices": [{"message": {"content": "译文"}}]}, {}))
    where = f"http://localhost:{elsewhere.httpd.server_address[1]}/v1/chat/completions"
    server = Recorder(lambda h: (302, {}, {"Location": where}))
    try:
        t = OpenAITranslator(url=server.url + "/v1", api_key=KEY, cache_dir=tmp_path / "c", progress=False,
                             requests_per_second=0, max_retries=0)
        try:
            t.translate(["hello"])
        except TranslatorError as e:
            assert KEY not in str(e)
        assert server.saw(KEY) and elsewhere.headers  # the key was in play, and the redirect was followed
        assert not elsewhere.saw(KEY) and not any("authorization" in k.lower() for h in elsewhere.headers for k in h)
    finally:
        server.close()
        elsewhere.close()


# --------------------------------------------------------------------------------------------
# Paths from raw files


def everything(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


OUTPUT_FILE = re.compile(
    r"(README\.md|LICENSE\.md|record\.schema\.json|build_report\.(json|md)|quarantine\.jsonl|\.mulco-build|assets(/[\w.-]+)?"
    r"|data/[a-z_]+(/[a-z_]+)?/(en|zh)/[a-z]+/(train|validation|test)-\d{5}-of-\d{5}\.parquet"
    r"|data(/[a-z_]+){0,4})")


class _Named(zipfile.ZipInfo):
    raw_name = b""

    def _encodeFilenameFlags(self):
        return self.raw_name, self.flag_bits


def test_zip_member_names_never_write_outside_the_output(tmp_path, monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("a zip member was extracted")

    monkeypatch.setattr(zipfile.ZipFile, "extract", refuse)
    monkeypatch.setattr(zipfile.ZipFile, "extractall", refuse)
    deep = tmp_path / "a" / "b" / "c"
    raw, out = deep / "raw", deep / "out"
    absolute = f"/tmp/mulco-zip-slip-{uuid.uuid4().hex}.json"
    item = json.dumps([{"user": "用python写一个加法函数", "assistant": "```python\ndef add(a, b):\n    return a + b\n```"}],
                      ensure_ascii=False).encode()
    names = [b"../../evil.json", b"../../../../../../evil2.json", absolute.encode(), b"code-basic/../../../evil3.json",
             b"code-basic/..\\..\\evil4.json", b"code-basic/\x2e\x2e/\x2e\x2e/evil5.json", "code-basic/Python3.json".encode()]
    (raw / "codegpt").mkdir(parents=True)
    with zipfile.ZipFile(raw / "codegpt" / "CodeGPT-Dataset-V1-CN.zip", "w") as z:
        for name in names:
            info = _Named(name.decode("cp437"), date_time=(2023, 5, 1, 0, 0, 0))
            info.raw_name = name
            z.writestr(info, item)
    before = everything(tmp_path)
    result = build(BuildConfig(raw_dir=raw, out=out, sources=["codegpt_cn"], progress=False), log=lambda *a: None)
    new = everything(tmp_path) - before
    outside = sorted(p for p in new if not p.startswith("a/b/c/out/") and p != "a/b/c/out")
    assert outside == []
    assert not Path(absolute).exists()
    for p in out.rglob("*"):
        assert OUTPUT_FILE.fullmatch(p.relative_to(out).as_posix()), p
    res = result.sources["codegpt_cn"]
    assert res.reconciles() and res.units_read == res.units_kept + res.units_quarantined
    quarantine = [json.loads(line) for line in (out / "quarantine.jsonl").read_text(encoding="utf-8").splitlines()]
    unknown = {q["file"].split("!", 1)[1] for q in quarantine if q["reason"].startswith("unknown member")}
    assert {"../../evil.json", "../../../../../../evil2.json", absolute} <= unknown
    # a name under a known folder is read like any member: in memory, its name only in source_id
    assert res.units_kept >= 2


def test_ids_from_raw_files_never_make_paths(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "out"
    d = raw / "codexglue" / "Clone-detection-BigCloneBench" / "dataset"
    d.mkdir(parents=True)
    ids = ["../../../evil", "/etc/passwd", "..\\..\\evil", "a/../../b"]
    (d / "data.jsonl").write_text("".join(json.dumps({"idx": i, "func": f"int f{n}() {{ return {n}; }}"}) + "\n"
                                          for n, i in enumerate(ids)))
    (d / "train.txt").write_text(f"{ids[0]}\t{ids[1]}\t1\n{ids[2]}\t{ids[3]}\t0\n")
    cloze = raw / "codexglue/ClozeTesting-all/data/cloze-all/python/clozeTest.json"
    cloze.parent.mkdir(parents=True)
    cloze.write_text(json.dumps([{"idx": "../../../evil-cloze", "nl_tokens": ["Sum"],
                                  "pl_tokens": ["return", "<mask>", "(", "a", ")"]}]))
    answers = raw / "codexglue/ClozeTesting-all/evaluator/answers/python/answers.txt"
    answers.parent.mkdir(parents=True)
    answers.write_text("../../../evil-cloze<CODESPLIT>sum\n")
    before = everything(tmp_path)
    result = build(BuildConfig(raw_dir=raw, out=out, sources=["bigclonebench", "codexglue_cloze"], progress=False),
                   log=lambda *a: None)
    assert result.sources["bigclonebench"].units_kept == 2 and result.sources["codexglue_cloze"].units_kept == 1
    new = everything(tmp_path) - before
    assert sorted(p for p in new if p != "out" and not p.startswith("out/")) == []
    for p in out.rglob("*"):
        assert OUTPUT_FILE.fullmatch(p.relative_to(out).as_posix()), p
    assert not Path("/evil").exists() and not (tmp_path.parent / "evil").exists()
