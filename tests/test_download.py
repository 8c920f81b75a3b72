"""`mulco download` drives real HTTP against a local http.server on 127.0.0.1 serving fixture
bytes: pins (sha256, git blob, lock file), resume after an interrupted transfer, retries, a
corrupted file kept aside, archives, the CodeXGLUE code-to-text derivation, files to fetch by
hand; and the shipped manifest is checked against the source registry."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import threading
import zipfile
from pathlib import Path

import pytest
from helpers import QuietJSONHandler, server_url, start_server

from mulco import cli
from mulco import sources as registry
from mulco.download import EXIT_FAILED, EXIT_MANUAL, EXIT_OK, LOCK_NAME, WORK_DIR, Options, download, fetch, iter_items, load_manifest
from mulco.sources.codesearchnet import codexglue_code_to_text


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def git_blob(b: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(b) + b).hexdigest()


class Files:
    """What the server serves, and how it misbehaves."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.cut_once: dict[str, int] = {}  # path -> bytes sent before the connection drops (once)
        self.fail_once: dict[str, int] = {}  # path -> status answered once
        self.log: list[tuple[str, str | None]] = []  # (path, Range header)
        self.lock = threading.Lock()


@pytest.fixture
def server():
    state = Files()

    class Handler(QuietJSONHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            rng = self.headers.get("Range")
            with state.lock:
                state.log.append((self.path, rng))
                fail = state.fail_once.pop(self.path, None)
                cut = state.cut_once.pop(self.path, None)
            if fail:
                self.send_response(fail)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = state.files.get(self.path)
            if data is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start = 0
            if rng and rng.startswith("bytes="):
                start = int(rng[6:].split("-")[0])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if cut is not None:  # an interrupted transfer: promise everything, send a part, hang up
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    httpd = start_server(Handler)
    state.base = server_url(httpd) + "/"
    yield state
    httpd.shutdown()
    httpd.server_close()


def manifest(tmp_path: Path, server: Files, sources: dict) -> Path:
    path = tmp_path / "downloads.json"
    path.write_text(json.dumps({"format": 1, "github": {"srv": server.base}, "sources": sources}))
    return path


OPTS = dict(retries=3, backoff=0.001, timeout=5, progress=False)


def run(tmp_path, server, sources, names=None, **kw):
    """(exit code, {key: outcome}, what it said: stdout and stderr lines in order)."""
    lines: list[str] = []
    code, outcomes = download(names, tmp_path / "raw", Options(**{**OPTS, **kw}), manifest=manifest(tmp_path, server, sources),
                              log=lines.append, warn=lines.append)
    return code, {o.key: o for o in outcomes}, "\n".join(lines)


DATA = b"".join(b'{"idx": %d, "func": "int f%d() { return %d; }"}\n' % (i, i, i) for i in range(3000))


def test_sha256_pinned_file_is_fetched_verified_and_locked(server, tmp_path):
    server.files["/a/data.jsonl"] = DATA
    src = {"s": {"files": [{"dest": "s/data.jsonl", "url": "{srv}a/data.jsonl", "sha256": sha(DATA)}]}}
    code, out, _ = run(tmp_path, server, src)
    assert code == EXIT_OK and out["s/data.jsonl"].status == "downloaded"
    assert (tmp_path / "raw/s/data.jsonl").read_bytes() == DATA
    lock = json.loads((tmp_path / "raw" / LOCK_NAME).read_text())
    assert lock["files"]["s/data.jsonl"]["sha256"] == sha(DATA)
    assert not list((tmp_path / "raw" / WORK_DIR / "partial").rglob("*.*"))
    n = len(server.log)
    code, out, _ = run(tmp_path, server, src)  # already there: checked, not fetched
    assert code == EXIT_OK and out["s/data.jsonl"].status == "ok" and len(server.log) == n


def test_interrupted_transfer_resumes_where_it_stopped(server, tmp_path):
    server.files["/big.bin"] = DATA
    server.cut_once["/big.bin"] = 10_000
    src = {"s": {"files": [{"dest": "s/big.bin", "url": "{srv}big.bin", "sha256": sha(DATA)}]}}
    code, out, text = run(tmp_path, server, src)
    assert code == EXIT_OK and (tmp_path / "raw/s/big.bin").read_bytes() == DATA
    assert [r for p, r in server.log if p == "/big.bin"] == [None, "bytes=10000-"]
    assert "retry 1/3" in text


def test_partial_file_from_an_earlier_run_is_resumed(server, tmp_path):
    server.files["/big.bin"] = DATA
    part = tmp_path / "raw" / WORK_DIR / "partial" / "s/big.bin"
    part.parent.mkdir(parents=True)
    part.write_bytes(DATA[:5000])  # what a killed run left
    src = {"s": {"files": [{"dest": "s/big.bin", "url": "{srv}big.bin", "sha256": sha(DATA)}]}}
    code, _, _ = run(tmp_path, server, src)
    assert code == EXIT_OK and (tmp_path / "raw/s/big.bin").read_bytes() == DATA
    assert server.log == [("/big.bin", "bytes=5000-")]


def test_corrupted_file_is_an_error_and_kept_aside(server, tmp_path):
    bad = DATA[:-10] + b"CORRUPTED\n"
    server.files["/a/data.jsonl"] = bad
    src = {"s": {"files": [{"dest": "s/data.jsonl", "url": "{srv}a/data.jsonl", "sha256": sha(DATA)}]}}
    code, out, _ = run(tmp_path, server, src)
    assert code == EXIT_FAILED
    o = out["s/data.jsonl"]
    assert o.status == "failed" and "checksum mismatch" in o.message
    assert sha(DATA) in o.message and sha(bad) in o.message and "kept aside" in o.message
    assert not (tmp_path / "raw/s/data.jsonl").exists()  # never used
    (kept,) = (tmp_path / "raw" / WORK_DIR / "rejected").rglob("data.jsonl.*")
    assert kept.read_bytes() == bad and str(kept) in o.message
    lock = tmp_path / "raw" / LOCK_NAME
    assert not lock.exists() or "s/data.jsonl" not in json.loads(lock.read_text())["files"]
    # the next run downloads afresh (the bad bytes are not resumed)
    server.files["/a/data.jsonl"] = DATA
    code, out, _ = run(tmp_path, server, src)
    assert code == EXIT_OK and (tmp_path / "raw/s/data.jsonl").read_bytes() == DATA


def test_git_blob_and_size_pin_verifies_and_records_sha256(server, tmp_path):
    server.files["/x.txt"] = DATA
    src = {"s": {"files": [{"dest": "s/x.txt", "url": "{srv}x.txt", "sha256": None, "git_blob": git_blob(DATA)[:12],
                            "size": len(DATA)}]}}
    code, out, _ = run(tmp_path, server, src)
    assert code == EXIT_OK
    entry = json.loads((tmp_path / "raw" / LOCK_NAME).read_text())["files"]["s/x.txt"]
    assert entry == {"sha256": sha(DATA), "size": len(DATA), "verified_by": "git-blob", "url": server.base + "x.txt"}
    server.files["/y.txt"] = DATA + b"x"
    src = {"s": {"files": [{"dest": "s/y.txt", "url": "{srv}y.txt", "sha256": None, "git_blob": git_blob(DATA)[:12],
                            "size": len(DATA) + 1}]}}
    code, out, _ = run(tmp_path, server, src)
    assert code == EXIT_FAILED and "git blob" in out["s/y.txt"].message


def test_unpinned_files_need_trust_on_first_use_which_locks_them(server, tmp_path):
    server.files["/u.json"] = b"[1, 2, 3]"
    src = {"s": {"files": [{"dest": "s/u.json", "url": "{srv}u.json", "sha256": None}]}}
    code, out, _ = run(tmp_path, server, src)
    assert code == EXIT_FAILED and out["s/u.json"].status == "refused" and "--trust-on-first-use" in out["s/u.json"].message
    assert server.log == [] and not (tmp_path / "raw/s/u.json").exists()
    code, out, _ = run(tmp_path, server, src, trust_on_first_use=True)
    assert code == EXIT_OK and out["s/u.json"].status == "trusted"
    entry = json.loads((tmp_path / "raw" / LOCK_NAME).read_text())["files"]["s/u.json"]
    assert entry["sha256"] == sha(b"[1, 2, 3]") and entry["verified_by"] == "trust-on-first-use"
    # pinned by the lock from now on: a changed upstream file is caught without any flag
    (tmp_path / "raw/s/u.json").unlink()
    server.files["/u.json"] = b"[1, 2, 4]"
    code, out, _ = run(tmp_path, server, src)
    assert code == EXIT_FAILED and "checksum mismatch" in out["s/u.json"].message and LOCK_NAME in out["s/u.json"].message


def test_retries_transient_errors_and_stops_on_404(server, tmp_path):
    server.files["/f"] = b"payload"
    server.fail_once["/f"] = 503
    src = {"s": {"files": [{"dest": "s/f", "url": "{srv}f", "sha256": sha(b"payload")},
                           {"dest": "s/g", "url": "{srv}missing", "sha256": sha(b"x")}]}}
    code, out, _ = run(tmp_path, server, src)
    assert out["s/f"].status == "downloaded" and [p for p, _ in server.log].count("/f") == 2
    assert code == EXIT_FAILED and "HTTP 404" in out["s/g"].message and [p for p, _ in server.log].count("/missing") == 1


def test_gives_up_after_retries_and_says_it_can_resume(server, tmp_path):
    from mulco.download import DownloadError

    hits = []

    class Busy(QuietJSONHandler):  # always 503: a failure that can heal, so it is retried
        def do_GET(self):
            hits.append(self.path)
            self.send_json(503, {"error": "busy"})

    busy = start_server(Busy)
    try:
        with pytest.raises(DownloadError, match="failed after 3 tries.*HTTP 503.*run again to resume"):
            fetch(server_url(busy) + "/x", tmp_path / "x.part", retries=2, backoff=0.001, progress=False,
                  log=lambda s: None)
    finally:
        busy.shutdown()
        busy.server_close()
    assert hits == ["/x"] * 3


def test_connection_refused_fails_at_once_and_the_host_is_not_tried_again(tmp_path):
    """A closed port (and a name that does not resolve) cannot heal: no retry, no backoff; the
    other files of that host are not tried (the issue: a DNS failure cost 62 s for two files)."""
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp_path / "downloads.json"
    srv = f"http://127.0.0.1:{port}/"
    path.write_text(json.dumps({"format": 1, "github": {"srv": srv}, "sources": {"s": {"files": [
        {"dest": "s/a", "url": "{srv}a", "sha256": sha(b"a")}, {"dest": "s/b", "url": "{srv}b", "sha256": sha(b"b")}]}}}))
    lines: list[str] = []
    t0 = time.perf_counter()
    code, outcomes = download(None, tmp_path / "raw", Options(retries=5, backoff=1.0, timeout=5, progress=False),
                              manifest=path, log=lines.append, warn=lines.append)
    took = time.perf_counter() - t0
    out = {o.key: o for o in outcomes}
    assert code == EXIT_FAILED and took < 1.0, (took, lines)  # 5 retries with 1 s backoff would take 31 s
    assert "connection refused" in out["s/a"].message and "not retried" in out["s/a"].message
    assert out["s/b"].status == "failed" and "not tried" in out["s/b"].message
    assert not any("retry" in line for line in lines)
    assert not (tmp_path / "raw" / "s").exists()


def test_a_present_file_that_differs_is_not_touched_unless_forced(server, tmp_path):
    server.files["/d"] = DATA
    (tmp_path / "raw/s").mkdir(parents=True)
    (tmp_path / "raw/s/d").write_bytes(DATA[:100])  # e.g. a shared slice (a prefix of the original)
    src = {"s": {"files": [{"dest": "s/d", "url": "{srv}d", "sha256": sha(DATA)}]}}
    code, out, _ = run(tmp_path, server, src)
    assert code == EXIT_FAILED and "--force" in out["s/d"].message and server.log == []
    assert (tmp_path / "raw/s/d").read_bytes() == DATA[:100]
    code, out, _ = run(tmp_path, server, src, force=True)
    assert code == EXIT_OK and (tmp_path / "raw/s/d").read_bytes() == DATA
    (kept,) = (tmp_path / "raw" / WORK_DIR / "rejected").rglob("d.*")
    assert kept.read_bytes() == DATA[:100]


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_archive_members_are_extracted_into_place(server, tmp_path):
    z = _zip({"dataset/py150/dev.json": b'{"input": "<s> a", "gt": "b"}\n', "dataset/README": b"x"})
    server.files["/dataset.zip"] = z
    src = {"lc": {"archives": [{"name": "ds.zip", "url": "{srv}dataset.zip", "sha256": None, "git_blob": git_blob(z)[:12],
                                "members": [{"member": "dataset/py150/dev.json", "dest": "lc/py150/dev.json", "size": 30}]}]}}
    code, out, _ = run(tmp_path, server, src)
    assert code == EXIT_OK and out["lc/py150/dev.json"].status == "extracted"
    assert (tmp_path / "raw/lc/py150/dev.json").read_bytes() == b'{"input": "<s> a", "gt": "b"}\n'
    assert (tmp_path / "raw" / WORK_DIR / "archives/ds.zip").read_bytes() == z
    n = len(server.log)
    code, out, _ = run(tmp_path, server, src)
    assert code == EXIT_OK and out["lc/py150/dev.json"].status == "ok" and len(server.log) == n


def _csn_fixture():
    def row(url, doc):
        return {"repo": "o/r", "path": "a.rb", "func_name": "f", "original_string": "def f\nend", "language": "ruby",
                "code": "def f\nend", "code_tokens": ["def", "f", "end"], "docstring": doc,
                "docstring_tokens": doc.split(), "sha": "0" * 40, "url": url, "partition": "x"}

    def shard(rows):
        return gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode())

    shards = _zip({
        "ruby/final/jsonl/train/ruby_train_0.jsonl.gz": shard([row("u1", "one"), row("u2", "two 中"), row("u9", "not listed")]),
        "ruby/final/jsonl/train/ruby_train_1.jsonl.gz": shard([row("u2", "two again")]),  # a later duplicate wins
        "ruby/final/jsonl/test/ruby_test_0.jsonl.gz": shard([row("t1", "test one")]),
        "ruby/final/jsonl/valid/ruby_valid_0.jsonl.gz": shard([row("v1", "valid one")]),
        "ruby_licenses.pkl": b"pickle",
    })
    lists = _zip({"dataset/ruby/train.txt": b"u2\nmissing\nu1\n", "dataset/ruby/valid.txt": b"v1\n",
                  "dataset/ruby/test.txt": b"t1\n", "dataset/preprocess.py": b"# not run"})
    expected = {
        "train": json.dumps(row("u2", "two again")) + "\n" + json.dumps(row("u1", "one")) + "\n",
        "valid": json.dumps(row("v1", "valid one")) + "\n",
        "test": json.dumps(row("t1", "test one")) + "\n",
    }
    return shards, lists, expected


def test_codexglue_code_to_text_filters_like_preprocess_py(tmp_path):
    shards, lists, expected = _csn_fixture()
    (tmp_path / "s.zip").write_bytes(shards)
    (tmp_path / "l.zip").write_bytes(lists)
    parts = {s: tmp_path / f"out/{s}.jsonl" for s in ("train", "valid", "test")}
    codexglue_code_to_text(tmp_path / "l.zip", tmp_path / "s.zip", "ruby", parts, tmp_path / "tmp")
    for s, text in expected.items():
        assert parts[s].read_text(encoding="utf-8") == text
    assert not list((tmp_path / "tmp").iterdir())


def test_derived_codesearchnet_layout_end_to_end(server, tmp_path):
    shards, lists, expected = _csn_fixture()
    server.files["/ruby.zip"] = shards
    server.files["/dataset.zip"] = lists
    src = {"codesearchnet": {
        "archives": [{"name": "lists.zip", "url": "{srv}dataset.zip", "sha256": None},
                     {"name": "csn-ruby.zip", "url": "{srv}ruby.zip", "sha256": sha(shards)}],
        "derive": {"kind": "codexglue_code_to_text", "url_lists": "lists.zip", "shards": "csn-{lang}.zip",
                   "outputs": [{"dest": "codesearchnet/ruby/train.jsonl", "sha256": None},
                               {"dest": "codesearchnet/ruby/valid.jsonl", "sha256": None,
                                "git_blob": git_blob(expected["valid"].encode())[:12]},
                               {"dest": "codesearchnet/ruby/test.jsonl", "sha256": sha(expected["test"].encode())}]}}}
    code, out, _ = run(tmp_path, server, src)
    assert code == EXIT_FAILED and out["archives/lists.zip"].status == "refused"
    code, out, _ = run(tmp_path, server, src, trust_on_first_use=True)
    assert code == EXIT_OK, out
    for s in ("train", "valid", "test"):
        assert (tmp_path / f"raw/codesearchnet/ruby/{s}.jsonl").read_text(encoding="utf-8") == expected[s]
    # the converter reads this layout
    from mulco.sources import codesearchnet

    found = [p.relative_to(tmp_path / "raw").as_posix() for p in codesearchnet.find(tmp_path / "raw")]
    assert found == ["codesearchnet/ruby/test.jsonl", "codesearchnet/ruby/train.jsonl", "codesearchnet/ruby/valid.jsonl"]
    n = len(server.log)
    code, _, _ = run(tmp_path, server, src)
    assert code == EXIT_OK and len(server.log) == n  # all in place: no archive fetched again


def test_files_to_fetch_by_hand_are_explained_then_checked(server, tmp_path):
    src = {"devign": {"manual": [{"dest": "d/function.json", "sha256": None, "url": "https://drive.google.com/file/d/X/view",
                                  "why": "it is on Google Drive", "how": "gdown X -O {dest}"}]}}
    code, out, text = run(tmp_path, server, src)
    assert code == EXIT_MANUAL and out["d/function.json"].status == "manual"
    where = str(tmp_path / "raw/d/function.json")
    assert f"save it as {where}" in text and f"gdown X -O {where}" in text and "drive.google.com" in text
    (tmp_path / "raw/d").mkdir(parents=True)
    (tmp_path / "raw/d/function.json").write_text("[]")
    code, out, _ = run(tmp_path, server, src)
    assert out["d/function.json"].status == "unverified" and code == EXIT_OK
    code, out, _ = run(tmp_path, server, src, trust_on_first_use=True)
    assert out["d/function.json"].status == "trusted"
    assert json.loads((tmp_path / "raw" / LOCK_NAME).read_text())["files"]["d/function.json"]["sha256"] == sha(b"[]")


def test_cli_download(server, tmp_path, capsys):
    server.files["/f"] = b"data"
    m = manifest(tmp_path, server, {"s": {"files": [{"dest": "s/f", "url": "{srv}f", "sha256": sha(b"data")}]}})
    assert cli.main(["download", "s", "--raw-dir", str(tmp_path / "raw"), "--manifest", str(m), "--no-progress"]) == 0
    assert (tmp_path / "raw/s/f").read_bytes() == b"data"
    assert cli.main(["download", "nope", "--raw-dir", str(tmp_path / "raw"), "--manifest", str(m)]) == 2
    assert "unknown source 'nope'" in capsys.readouterr().err


def test_problems_go_to_stderr_and_the_summary_to_stdout(server, tmp_path, capsys):
    server.files["/f"] = b"data"
    m = manifest(tmp_path, server, {"s": {"files": [{"dest": "s/f", "url": "{srv}f", "sha256": sha(b"data")},
                                                    {"dest": "s/gone", "url": "{srv}gone", "sha256": sha(b"x")},
                                                    {"dest": "s/u", "url": "{srv}f", "sha256": None}]}})
    code = cli.main(["download", "s", "--raw-dir", str(tmp_path / "raw"), "--manifest", str(m), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == EXIT_FAILED
    assert "got        s/f" in out and "1 downloaded; 1 failed; 1 refused" in out
    assert "FAILED" not in out and "REFUSED" not in out and "HTTP 404" not in out
    assert "FAILED     s/gone: " in err and "HTTP 404" in err and "REFUSED    s/u: " in err
    assert "1 file(s) refused" in err and "1 file(s) not in place" in err


def test_dry_run_plans_unpinned_files_as_needing_the_flag_and_exits_0(server, tmp_path, capsys):
    server.files["/f"] = b"data"
    m = manifest(tmp_path, server, {"s": {"files": [{"dest": "s/f", "url": "{srv}f", "sha256": sha(b"data")},
                                                    {"dest": "s/u", "url": "{srv}u", "sha256": None}]}})
    argv = ["download", "--raw-dir", str(tmp_path / "raw"), "--manifest", str(m), "--dry-run"]
    assert cli.main(argv) == EXIT_OK
    out, err = capsys.readouterr()
    assert "would need --trust-on-first-use" in out and "UNPINNED   s/u" in out and "would get  s/f" in out
    assert "1 file(s) would need --trust-on-first-use" in out and "the plan above can run" in out and not err
    assert server.log == [] and not (tmp_path / "raw").exists()
    # something actually wrong still fails the plan: a present file that is not the original
    (tmp_path / "raw/s").mkdir(parents=True)
    (tmp_path / "raw/s/f").write_bytes(b"other")
    assert cli.main(argv) == EXIT_FAILED
    out, err = capsys.readouterr()
    assert "FAILED     s/f: present but not the original" in err and "the plan above can run" not in out


def test_dry_run_of_the_shipped_manifest_exits_0_and_names_the_unpinned_files(tmp_path, capsys):
    code, outcomes = download(None, tmp_path / "raw", Options(dry_run=True, progress=False))
    out = capsys.readouterr().out
    unpinned = [o for o in outcomes if o.status == "needs-trust"]
    assert code == EXIT_OK and unpinned and not [o for o in outcomes if o.status in ("failed", "refused")]
    assert f"{len(unpinned)} file(s) would need --trust-on-first-use" in out
    assert not (tmp_path / "raw").exists()


def test_downloads_work_while_the_hub_is_offline(server, tmp_path, monkeypatch):
    """HF_HUB_OFFLINE is about the Hub: GitHub and Zenodo downloads go on (huggingface_hub's own
    HTTP session would refuse them, which is why mulco.retry does not use http_backoff)."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    server.files["/f"] = b"data"
    code, out, _ = run(tmp_path, server, {"s": {"files": [{"dest": "s/f", "url": "{srv}f", "sha256": sha(b"data")}]}})
    assert code == EXIT_OK and out["s/f"].status == "downloaded"


def test_retry_after_is_honoured_and_capped(server, tmp_path):
    import time

    from mulco.retry import delay

    assert delay(0, 1.0) == 1.0 and delay(3, 1.0) == 8.0 and delay(10, 1.0) == 60.0
    assert delay(0, 1.0, 0.2) == 0.2 and delay(0, 1.0, 3600.0) == 60.0

    class Limited(QuietJSONHandler):  # 429 once with Retry-After: 0.3, then the file
        hits: list[float] = []

        def do_GET(self):
            Limited.hits.append(time.monotonic())
            if len(Limited.hits) == 1:
                return self.send_json(429, {"error": "slow down"}, {"Retry-After": "0.3"})
            self.send_response(200)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"data")

    srv = start_server(Limited)
    try:
        assert fetch(server_url(srv) + "/f", tmp_path / "f.part", retries=2, backoff=0.001, progress=False,
                     log=lambda s: None) == 4
    finally:
        srv.shutdown()
        srv.server_close()
    assert len(Limited.hits) == 2 and Limited.hits[1] - Limited.hits[0] >= 0.3


# -- the shipped manifest --------------------------------------------------------------------------


def test_manifest_loads_and_is_well_formed():
    m = load_manifest()
    for item in iter_items(m):
        if item.url:
            assert item.url.startswith("https://"), item.url
            if "github.com/" in item.url and "google-research" not in item.url:
                assert len(item.url.split("/raw/")[1].split("/")[0]) == 40, f"{item.url} is not at a fixed commit"
        if item.pin.sha256 is None and not item.pin.git_blob and item.kind in ("file", "archive"):
            assert item.kind in ("file", "archive")  # unpinned: fetched only with --trust-on-first-use


@pytest.mark.parametrize("name", registry.names())
def test_every_source_has_a_download_entry(name):
    assert name in load_manifest(), f"{name} is in the registry but not in mulco/data/downloads.json"


@pytest.mark.parametrize("name", registry.names())
def test_download_destinations_are_where_the_converter_looks(name):
    import fnmatch

    entry = load_manifest()[name]
    spec = registry.get(name).SPEC
    dests = [i.key for i in entry.items() if i.kind != "archive"]
    assert dests
    for d in dests:
        assert any(fnmatch.fnmatch(d, p.replace("**/", "*")) or fnmatch.fnmatch(d, p) for p in spec.patterns), (d, spec.patterns)


def test_pins_match_the_shared_slice_where_it_holds_whole_files(shared_raw):
    """The shared slice keeps a few files whole; their pins must verify (the others are prefixes
    and must NOT verify: their hashes are not the originals')."""
    from mulco.download import verify

    whole = {"codexglue/Defect-detection/dataset/train.txt", "codexglue/Defect-detection/dataset/valid.txt",
             "codexglue/Defect-detection/dataset/test.txt"}
    checked = 0
    for item in iter_items(load_manifest()):
        path = shared_raw / item.key
        if item.kind == "archive" or not path.is_file() or not item.pin.strong:
            continue
        v = verify(path, item.pin, None)
        assert v.ok is (item.key in whole), (item.key, v)
        checked += 1
    assert checked >= 10
