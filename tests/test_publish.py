"""`mulco publish` against a fake Hub on 127.0.0.1 that implements the endpoints huggingface_hub
calls (whoami, repos/create, repo info, tree, preupload, validate-yaml, commit, branch, tag),
driven through the real ``HfApi``. A test marked ``hub`` talks to the real Hub and runs only
with a token (``HF_TOKEN`` when pytest started) and network."""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import socket
import threading
import urllib.parse
from pathlib import Path

import pytest
from helpers import QuietJSONHandler, server_url, start_server

from mulco import cli
from mulco.publish import PublishError, compare, local_files, make_plan, publish

# the autouse fixture in conftest.py removes HF_TOKEN; the `hub` test needs the real one
_REAL_TOKEN = os.environ.get("HF_TOKEN")
TOKEN = "hf_FAKEfakeFAKE0123456789secretTOKEN"
READ_TOKEN = "hf_READonly0123456789readTOKEN"


def git_blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeHub:
    """Repos with branches, commits, tags; every commit applies all its operations or none."""

    def __init__(self):
        self.repos: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.fail_commit: int | None = None
        self.unknown: list[str] = []
        self.sent: list[dict[str, list[str]]] = []  # per commit request: the paths it added and deleted
        self.lock = threading.Lock()
        self.n = 0

    def new_commit(self, repo: dict, files: dict[str, bytes]) -> str:
        self.n += 1
        oid = hashlib.sha1(f"commit {self.n}".encode()).hexdigest()
        repo["commits"][oid] = dict(files)
        return oid

    def create(self, repo_id: str, private: bool = False, files: dict[str, bytes] | None = None) -> dict:
        repo = {"private": private, "commits": {}, "branches": {}, "tags": {}}
        head = self.new_commit(repo, {".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n", **(files or {})})
        repo["branches"]["main"] = head
        self.repos[repo_id] = repo
        return repo

    def files(self, repo_id: str, rev: str = "main") -> dict[str, bytes]:
        repo = self.repos[repo_id]
        return repo["commits"][repo["branches"].get(rev) or repo["tags"].get(rev) or rev]

    def serve(self):
        hub = self

        class Handler(QuietJSONHandler):

            def _err(self, code, msg, error_code=None):
                h = {"X-Error-Message": msg}
                if error_code:
                    h["X-Error-Code"] = error_code
                self.send_json(code, {"error": msg}, h)

            def _auth(self, write: bool) -> bool:
                auth = self.headers.get("Authorization", "")
                if auth not in (f"Bearer {TOKEN}", f"Bearer {READ_TOKEN}"):
                    if write or auth:
                        self._err(401, "Invalid credentials in Authorization header")
                        return False
                    return True
                if write and auth == f"Bearer {READ_TOKEN}":
                    self._err(403, "You don't have the rights to create or write to this repo")
                    return False
                return True

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def do_GET(self):
                self._route("GET")

            def do_POST(self):
                self._route("POST")

            def _route(self, method):
                url = urllib.parse.urlsplit(self.path)
                path = urllib.parse.unquote(url.path)
                body = self._body() if method == "POST" else b""
                with hub.lock:
                    hub.requests.append((method, path, dict(self.headers)))
                    self._dispatch(method, path, urllib.parse.parse_qs(url.query), body)

            def _dispatch(self, method, path, query, body):
                parts = path.strip("/").split("/")
                if path == "/api/whoami-v2":
                    if not self._auth(write=True) and self.headers.get("Authorization") != f"Bearer {READ_TOKEN}":
                        return
                    return self.send_json(200, {"type": "user", "name": "tester", "orgs": []})
                if path == "/api/validate-yaml" and method == "POST":
                    return self.send_json(200, {"errors": [], "warnings": []})
                if path == "/api/repos/create" and method == "POST":
                    if not self._auth(write=True):
                        return
                    req = json.loads(body)
                    repo_id = f"{req['organization']}/{req['name']}" if req.get("organization") else f"tester/{req['name']}"
                    if repo_id in hub.repos:
                        return self._err(409, "You already created this dataset repo")
                    hub.create(repo_id, private=bool(req.get("private")) or req.get("visibility") == "private")
                    return self.send_json(200, {"url": f"http://{self.headers['Host']}/datasets/{repo_id}", "name": repo_id})
                if len(parts) >= 4 and parts[0] == "api" and parts[1] in ("datasets", "models"):  # models: collama-train publish
                    repo_id = "/".join(parts[2:4])
                    rest = parts[4:]
                    repo = hub.repos.get(repo_id)
                    if repo is None or (repo["private"] and not self.headers.get("Authorization")):
                        return self._err(404, "Repository not found", "RepoNotFound")
                    if not self._auth(write=method == "POST"):
                        return
                    return self._repo(method, repo_id, repo, rest, query, body)
                hub.unknown.append(f"{method} {path}")
                self._err(404, f"fake hub: no route {method} {path}")

            def _rev(self, repo, rev):
                return repo["branches"].get(rev) or repo["tags"].get(rev) or (rev if rev in repo["commits"] else None)

            def _repo(self, method, repo_id, repo, rest, query, body):
                if method == "GET" and (not rest or rest[0] == "revision"):
                    rev = rest[1] if rest else "main"
                    oid = self._rev(repo, rev)
                    if oid is None:
                        return self._err(404, "Invalid rev id", "RevisionNotFound")
                    return self.send_json(200, {"id": repo_id, "sha": oid, "private": repo["private"],
                                            "siblings": [{"rfilename": p} for p in sorted(repo["commits"][oid])]})
                if method == "GET" and rest[0] == "tree":
                    oid = self._rev(repo, rest[1])
                    if oid is None:
                        return self._err(404, "Invalid rev id", "RevisionNotFound")
                    files = repo["commits"][oid]
                    dirs = sorted({"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)})
                    out = [{"type": "directory", "path": d, "oid": "0" * 40, "size": 0} for d in dirs]
                    out += [{"type": "file", "path": p, "size": len(b), "oid": git_blob(b)} for p, b in sorted(files.items())]
                    return self.send_json(200, out)
                if method == "POST" and rest[0] == "preupload":
                    req = json.loads(body)
                    oid = self._rev(repo, rest[1])
                    have = repo["commits"][oid] if oid else {}
                    # like the Hub: the blob id of a file the revision already has (the client skips it if unchanged)
                    return self.send_json(200, {"files": [
                        {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                         **({"oid": git_blob(have[f["path"]])} if f["path"] in have else {})} for f in req["files"]]})
                if method == "POST" and rest[0] == "commit":
                    branch = rest[1]
                    if branch not in repo["branches"]:
                        return self._err(404, "Invalid rev id", "RevisionNotFound")
                    if hub.fail_commit:
                        return self._err(hub.fail_commit, "fake hub: commit failed")
                    lines = [json.loads(x) for x in body.decode().splitlines() if x.strip()]
                    header = lines[0]["value"]
                    head = repo["branches"][branch]
                    parent = header.get("parentCommit")
                    if parent and not head.startswith(parent):
                        return self._err(412, "A commit has happened since. Please refresh and try again.")
                    files = dict(repo["commits"][head])
                    hub.sent.append({k: [op["value"]["path"] for op in lines[1:] if op["key"] == k] for k in ("file", "deletedFile")})
                    for op in lines[1:]:
                        v = op["value"]
                        if op["key"] == "file":
                            files[v["path"]] = base64.b64decode(v["content"])
                        elif op["key"] == "deletedFile":
                            files.pop(v["path"], None)
                        else:
                            return self._err(400, f"fake hub: unsupported {op['key']}")
                    oid = hub.new_commit(repo, files)
                    repo["branches"][branch] = oid
                    url = f"http://{self.headers['Host']}/datasets/{repo_id}/commit/{oid}"
                    return self.send_json(200, {"commitUrl": url, "commitOid": oid, "success": True})
                if method == "POST" and rest[0] == "branch":
                    req = json.loads(body or b"{}")
                    if rest[1] in repo["branches"]:
                        return self._err(409, "Branch already exists")
                    repo["branches"][rest[1]] = self._rev(repo, req.get("startingPoint") or "main")
                    return self.send_json(200, {})
                if method == "POST" and rest[0] == "tag":
                    req = json.loads(body)
                    if req["tag"] in repo["tags"]:
                        return self._err(409, "Tag already exists")
                    repo["tags"][req["tag"]] = self._rev(repo, rest[1])
                    return self.send_json(200, {})
                hub.unknown.append(f"{method} {'/'.join(rest)}")
                return self._err(404, "fake hub: no route")

        return start_server(Handler)


@pytest.fixture
def hub(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # only 127.0.0.1 is reached
    fake = FakeHub()
    server = fake.serve()
    fake.endpoint = server_url(server)
    yield fake
    server.shutdown()
    server.server_close()
    assert not fake.unknown, f"huggingface_hub called endpoints the fake hub lacks: {fake.unknown}"


@pytest.fixture
def folder(tmp_path) -> Path:
    """A minimal built folder: a card whose configs name existing data files."""
    out = tmp_path / "out"
    (out / "data/code_generation/en/python").mkdir(parents=True)
    (out / "data/code_generation/en/python/train-00000-of-00001.parquet").write_bytes(b"PAR1 train data PAR1")
    (out / "data/code_generation/en/python/test-00000-of-00001.parquet").write_bytes(b"PAR1 test data PAR1")
    (out / "assets").mkdir()
    (out / "assets/records.png").write_bytes(b"\x89PNG fake")
    (out / "README.md").write_text(
        "---\nlicense: other\nconfigs:\n- config_name: all\n  default: true\n  data_files:\n"
        "  - split: train\n    path: data/code_generation/en/python/train-00000-of-00001.parquet\n"
        "  - split: test\n    path: data/code_generation/en/python/test-00000-of-00001.parquet\n---\n# MulCo\n",
        encoding="utf-8")
    (out / "build_report.json").write_text("{}\n")
    (out / ".out.tmp-123").write_text("litter")  # never uploaded
    return out


def _api(hub, token=TOKEN):
    from huggingface_hub import HfApi

    return HfApi(endpoint=hub.endpoint, token=token)


def _local(folder: Path) -> dict[str, bytes]:
    return {p: lf.abspath.read_bytes() for p, lf in local_files(folder).items()}


def test_first_publish_creates_repo_in_one_commit_and_tags(hub, folder, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    res = publish(folder, "collama/mulco", tag="v0.1", private=True, endpoint=hub.endpoint)
    repo = hub.repos["collama/mulco"]
    assert repo["private"] is True
    assert hub.files("collama/mulco") == {".gitattributes": hub.files("collama/mulco")[".gitattributes"], **_local(folder)}
    assert ".out.tmp-123" not in hub.files("collama/mulco")
    assert len(repo["commits"]) == 2  # the repo's first commit + ours
    assert repo["tags"]["v0.1"] == repo["branches"]["main"] == res.commit
    commits = [r for r in hub.requests if "/commit/" in r[1]]
    assert len(commits) == 1
    out = capsys.readouterr().out
    assert "created private dataset repo collama/mulco" in out and "tagged" in out


def test_dry_run_plans_against_remote_state_and_writes_nothing(hub, folder, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    readme = (folder / "README.md").read_bytes()
    hub.create("collama/mulco", files={
        "README.md": readme,  # unchanged
        "build_report.json": b'{"old": 1}\n',  # updated
        "data/old/train-00000-of-00001.parquet": b"stale" * 10,  # deleted
    })
    before = json.dumps({k: {p: b.hex() for p, b in v.items()} for k, v in hub.repos["collama/mulco"]["commits"].items()})
    res = publish(folder, "collama/mulco", dry_run=True, tag="v1", endpoint=hub.endpoint)
    after = json.dumps({k: {p: b.hex() for p, b in v.items()} for k, v in hub.repos["collama/mulco"]["commits"].items()})
    assert before == after and not hub.repos["collama/mulco"]["tags"]
    assert all(m == "GET" for m, _, _ in hub.requests)
    plan = res.plan
    assert {i.path for i in plan.of("unchanged")} == {"README.md"}
    assert {i.path for i in plan.of("update")} == {"build_report.json"}
    assert {i.path for i in plan.of("delete")} == {"data/old/train-00000-of-00001.parquet"}
    assert {i.path for i in plan.of("keep")} == {".gitattributes"}
    assert {i.path for i in plan.of("add")} == {"assets/records.png", "data/code_generation/en/python/test-00000-of-00001.parquet",
                                                 "data/code_generation/en/python/train-00000-of-00001.parquet"}
    out = capsys.readouterr().out
    assert "delete" in out and "50 B" in out and "data/old/train-00000-of-00001.parquet" in out
    assert "update" in out and "11 B -> 3 B" in out
    assert "dry run: nothing was written" in out and "would tag the new commit as v1" in out


def test_dry_run_of_a_missing_repo_needs_no_token(hub, folder, capsys):
    res = publish(folder, "collama/new", dry_run=True, endpoint=hub.endpoint)
    assert not res.plan.repo_exists
    assert "does not exist yet" in capsys.readouterr().out
    assert "collama/new" not in hub.repos


def test_second_publish_is_a_no_op_and_stale_files_are_deleted(hub, folder, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    publish(folder, "collama/mulco", endpoint=hub.endpoint, log=lambda s: None)
    n = len(hub.repos["collama/mulco"]["commits"])
    res = publish(folder, "collama/mulco", endpoint=hub.endpoint, log=lambda s: None)
    assert not res.plan.changes and len(hub.repos["collama/mulco"]["commits"]) == n
    # the next build drops a leaf and changes the card: one commit updates and deletes
    (folder / "data/code_generation/en/python/test-00000-of-00001.parquet").unlink()
    (folder / "README.md").write_text((folder / "README.md").read_text().replace(
        "  - split: test\n    path: data/code_generation/en/python/test-00000-of-00001.parquet\n", ""))
    res = publish(folder, "collama/mulco", endpoint=hub.endpoint, log=lambda s: None)
    assert {i.action for i in res.plan.changes} == {"update", "delete"}
    # huggingface_hub's own planning skipped the unchanged files: only the card was sent
    assert hub.sent[-1] == {"file": ["README.md"], "deletedFile": ["data/code_generation/en/python/test-00000-of-00001.parquet"]}
    assert "data/code_generation/en/python/test-00000-of-00001.parquet" not in hub.files("collama/mulco")
    assert len(hub.repos["collama/mulco"]["commits"]) == n + 1
    # --no-delete keeps remote-only files
    hub.repos["collama/mulco"]["commits"][hub.repos["collama/mulco"]["branches"]["main"]]["extra.txt"] = b"x"
    res = publish(folder, "collama/mulco", endpoint=hub.endpoint, delete=False, log=lambda s: None)
    assert "extra.txt" in hub.files("collama/mulco") and not res.plan.changes


def test_failed_commit_leaves_the_remote_as_it_was(hub, folder, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hub.create("collama/mulco", files={"README.md": b"old card", "data/x.parquet": b"old"})
    before = dict(hub.files("collama/mulco"))
    hub.fail_commit = 500
    with pytest.raises(PublishError) as ei:
        publish(folder, "collama/mulco", tag="v2", endpoint=hub.endpoint, log=lambda s: None)
    msg = str(ei.value)
    assert "\n" not in msg and "HTTP 500" in msg and "nothing was committed" in msg
    assert hub.files("collama/mulco") == before and not hub.repos["collama/mulco"]["tags"]


def test_concurrent_push_fails_instead_of_overwriting(hub, folder, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hub.create("collama/mulco")
    import mulco.publish as pub

    real = pub.remote_state
    calls = []

    def read_then_someone_pushes(*a, **kw):
        state = real(*a, **kw)
        if not calls:
            repo = hub.repos["collama/mulco"]
            repo["branches"]["main"] = hub.new_commit(repo, {"README.md": b"pushed by someone else"})
        calls.append(a)
        return state

    monkeypatch.setattr(pub, "remote_state", read_then_someone_pushes)
    with pytest.raises(PublishError, match="changed while publishing"):
        publish(folder, "collama/mulco", endpoint=hub.endpoint, log=lambda s: None)
    assert hub.files("collama/mulco")["README.md"] == b"pushed by someone else"


def test_revision_branch_is_created_from_main(hub, folder, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hub.create("collama/mulco", files={"README.md": (folder / "README.md").read_bytes()})
    res = publish(folder, "collama/mulco", revision="v1-dev", endpoint=hub.endpoint, log=lambda s: None)
    assert {i.path for i in res.plan.of("unchanged")} == {"README.md"}
    assert hub.files("collama/mulco", "v1-dev").keys() >= _local(folder).keys()
    assert set(hub.files("collama/mulco", "main")) == {".gitattributes", "README.md"}


@pytest.mark.parametrize("token,expect", [
    (None, "no Hugging Face token found: set HF_TOKEN or run `hf auth login`"),
    ("hf_wrongwrongwrong0123456789", "the Hub refused the token (HTTP 401"),
    (READ_TOKEN, "no permission to write to dataset collama/mulco (HTTP 403"),
])
def test_auth_failures_are_one_line_with_what_to_do(hub, folder, monkeypatch, token, expect):
    if token:
        monkeypatch.setenv("HF_TOKEN", token)
    hub.create("collama/other")
    with pytest.raises(PublishError) as ei:
        publish(folder, "collama/mulco", endpoint=hub.endpoint, log=lambda s: None)
    assert expect in str(ei.value) and "\n" not in str(ei.value)
    assert "collama/mulco" not in hub.repos
    if token:
        assert token not in str(ei.value)


def test_network_down_is_one_line(folder, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(PublishError) as ei:
        publish(folder, "collama/mulco", endpoint=f"http://127.0.0.1:{port}", log=lambda s: None)
    assert f"cannot reach http://127.0.0.1:{port}" in str(ei.value) and "check the network" in str(ei.value)


def test_offline_mode_and_bad_folder_and_repo_id(folder, tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(PublishError, match="HF_HUB_OFFLINE"):
        publish(folder, "collama/mulco")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with pytest.raises(PublishError, match="<namespace>/<name>"):
        publish(folder, "mulco")
    with pytest.raises(PublishError, match="no README.md"):
        publish(tmp_path, "collama/mulco", endpoint="http://127.0.0.1:9")
    (folder / "data/code_generation/en/python/test-00000-of-00001.parquet").unlink()
    with pytest.raises(PublishError, match="1 data files named in README.md are missing"):
        publish(folder, "collama/mulco", endpoint="http://127.0.0.1:9")


def test_token_is_never_printed_logged_or_written(hub, folder, tmp_path, monkeypatch, capsys, caplog):
    """The CLI end to end, with debug logging on: the token shows up only in Authorization headers."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", hub.endpoint)
    assert cli.main(["publish", str(folder), "--repo-id", "collama/mulco", "--dry-run"]) == 0
    assert cli.main(["publish", str(folder), "--repo-id", "collama/mulco", "--tag", "v1"]) == 0
    hub.fail_commit = 403
    (folder / "build_report.json").write_text('{"changed": true}\n')
    assert cli.main(["publish", str(folder), "--repo-id", "collama/mulco"]) == 1
    hub.fail_commit = None
    err = capsys.readouterr()
    assert "mulco publish: error: no permission" in err.err and len(err.err.strip().splitlines()) == 1
    text = err.out + err.err + caplog.text
    assert TOKEN not in text and TOKEN[3:15] not in text
    for p in tmp_path.rglob("*"):  # the folder, the HF cache/home of this test
        if p.is_file():
            assert TOKEN.encode() not in p.read_bytes(), p
    for p in (Path(os.environ["HF_HOME"])).rglob("*"):
        if p.is_file():
            assert TOKEN.encode() not in p.read_bytes(), p
    sent = [h for _, _, h in hub.requests if TOKEN in json.dumps(h)]
    assert sent and all(h.get("Authorization", h.get("authorization")) == f"Bearer {TOKEN}" for h in sent)
    assert all(TOKEN not in json.dumps({k: v for k, v in h.items() if k.lower() != "authorization"})
               for _, _, h in hub.requests)


def test_compare_uses_lfs_sha256_and_git_blob_ids(folder):
    from mulco.publish import RemoteFile

    local = local_files(folder)
    readme = local["README.md"]
    png = local["assets/records.png"]
    remote = {
        "README.md": RemoteFile("README.md", readme.size, blob_id=readme.git_blob_id()),
        "assets/records.png": RemoteFile("assets/records.png", png.size, blob_id="x" * 40, lfs_sha256=png.sha256()),
        "build_report.json": RemoteFile("build_report.json", 3, blob_id=git_blob(b"{}\n")),
        "data/code_generation/en/python/test-00000-of-00001.parquet": RemoteFile(
            "data/code_generation/en/python/test-00000-of-00001.parquet", 19, lfs_sha256="0" * 64),
    }
    acts = {i.path: i.action for i in compare(local, remote)}
    assert acts["README.md"] == acts["assets/records.png"] == acts["build_report.json"] == "unchanged"
    assert acts["data/code_generation/en/python/test-00000-of-00001.parquet"] == "update"
    assert acts["data/code_generation/en/python/train-00000-of-00001.parquet"] == "add"


def test_make_plan_reads_sizes_from_the_tree(hub, folder):
    hub.create("collama/mulco", files={"data/gone.parquet": b"0123456789"})
    plan = make_plan(_api(hub, token=False), folder, "collama/mulco")
    (gone,) = plan.of("delete")
    assert gone.path == "data/gone.parquet" and gone.size == 10
    assert plan.parent_commit == hub.repos["collama/mulco"]["branches"]["main"]


@pytest.fixture(scope="module")
def built_for(tmp_path_factory):
    """A real (small) build made for collama/mulco, and one made for alice/my-mulco."""
    from mulco.build import BuildConfig, build

    base = tmp_path_factory.mktemp("pub_build")
    build(BuildConfig(out=base / "default", sources=["codealpaca"], progress=False))
    build(BuildConfig(out=base / "alice", sources=["codealpaca"], progress=False, repo_id="alice/my-mulco"))
    return {"collama/mulco": base / "default", "alice/my-mulco": base / "alice"}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_publish_to_another_repo_rerenders_the_card_and_schema_for_it(hub, built_for, tmp_path, monkeypatch):
    """A folder built for collama/mulco, published to alice/my-mulco: the uploaded card and schema
    name alice/my-mulco and are what `mulco build --repo-id alice/my-mulco` writes; the folder is
    not changed; publishing again changes nothing."""
    import shutil

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    folder = tmp_path / "out"
    shutil.copytree(built_for["collama/mulco"], folder)
    before = _snapshot(folder)
    logs: list[str] = []
    publish(folder, "alice/my-mulco", endpoint=hub.endpoint, log=logs.append)
    assert _snapshot(folder) == before
    assert any("rendered for alice/my-mulco (the folder was built for collama/mulco" in line for line in logs)
    remote = hub.files("alice/my-mulco")
    target = _snapshot(built_for["alice/my-mulco"])
    assert remote["README.md"] == target["README.md"] and remote["record.schema.json"] == target["record.schema.json"]
    assert b'load_dataset("alice/my-mulco"' in remote["README.md"] and b"collama/mulco" not in remote["README.md"]
    assert json.loads(remote["record.schema.json"])["$id"].startswith("https://huggingface.co/datasets/alice/my-mulco/")
    uploaded = set(local_files(folder))
    assert ".mulco-build" in before and ".mulco-build" not in uploaded | set(remote)  # a local marker only
    for path in uploaded - {"README.md", "record.schema.json"}:  # everything else is uploaded as built
        assert remote[path] == before[path], path
    n = len(hub.repos["alice/my-mulco"]["commits"])
    again = publish(folder, "alice/my-mulco", endpoint=hub.endpoint, log=lambda s: None)
    assert not again.plan.changes and len(hub.repos["alice/my-mulco"]["commits"]) == n


def test_publish_to_the_repo_it_was_built_for_uploads_the_files_as_they_are(hub, built_for, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    folder = built_for["alice/my-mulco"]
    logs: list[str] = []
    publish(folder, "alice/my-mulco", endpoint=hub.endpoint, log=logs.append)
    assert not any("rendered for" in line for line in logs)
    remote = hub.files("alice/my-mulco")
    assert all(remote[p] == lf.abspath.read_bytes() for p, lf in local_files(folder).items())


def test_dry_run_to_another_repo_says_the_card_is_rerendered(hub, built_for, capsys):
    folder = built_for["collama/mulco"]
    before = _snapshot(folder)
    res = publish(folder, "bob/mulco", dry_run=True, endpoint=hub.endpoint)
    out = capsys.readouterr().out
    assert "the card and record.schema.json are rendered for bob/mulco" in out and "dry run: nothing was written" in out
    assert {i.path for i in res.plan.of("add")} >= {"README.md", "record.schema.json"}
    assert _snapshot(folder) == before and "bob/mulco" not in hub.repos


def test_a_glob_in_the_card_that_matches_no_file_is_a_missing_data_file(folder):
    card = folder / "README.md"
    card.write_text(card.read_text().replace("data/code_generation/en/python/test-00000-of-00001.parquet",
                                             "data/code_generation/*/python/test-*.parquet"))
    from mulco.publish import check_folder

    check_folder(folder)  # the glob matches the test file
    (folder / "data/code_generation/en/python/test-00000-of-00001.parquet").unlink()
    with pytest.raises(PublishError, match="1 data files named in README.md are missing"):
        check_folder(folder)


def _online() -> bool:
    try:
        socket.create_connection(("huggingface.co", 443), timeout=3).close()
        return True
    except OSError:
        return False


@pytest.mark.hub
@pytest.mark.skipif(not _REAL_TOKEN, reason="needs HF_TOKEN (a token with write access) and network")
def test_publish_to_the_real_hub(folder, monkeypatch):
    """Publish, re-publish (no-op) and dry-run against huggingface.co in a private test repo."""
    if not _online():
        pytest.skip("no network")
    from huggingface_hub import HfApi, constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_TOKEN", _REAL_TOKEN)
    api = HfApi(token=_REAL_TOKEN)
    repo_id = os.environ.get("MULCO_HUB_TEST_REPO") or f"{api.whoami()['name']}/mulco-publish-test"
    try:
        res = publish(folder, repo_id, private=True, log=lambda s: None)
        assert res.commit
        again = publish(folder, repo_id, log=lambda s: None)
        assert not again.plan.changes
        files = set(api.list_repo_files(repo_id, repo_type="dataset"))
        assert set(local_files(folder)) <= files
    finally:
        if not os.environ.get("MULCO_HUB_TEST_REPO"):
            api.delete_repo(repo_id, repo_type="dataset", missing_ok=True)
