"""mulco's public selection API: config names -> disjoint leaf files (local folder or Hub repo),
the licence filter, one-line errors; and the boundary: collama_train uses only ``mulco.__all__``,
mulco imports no torch and no collama_train."""
from __future__ import annotations

import ast
import hashlib
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

import mulco
from helpers import QuietJSONHandler, server_url, start_server

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def sample(built_sample) -> Path:
    """The bundled sample, built once per run (conftest; read-only)."""
    return built_sample


def _ids(selection, **kw) -> list[str]:
    return mulco.read_table(selection, columns=["id"], **kw).column("id").to_pylist()


def test_overlapping_names_select_each_record_once(sample):
    wide = mulco.resolve("code_search", sample)
    both = mulco.resolve(["code_search", "code_search.en.python", "code_search.en"], sample)
    assert set(both.leaves) == set(wide.leaves)
    ids = _ids(both)
    assert len(ids) == len(set(ids)) == len(_ids(wide)) > 0
    # every leaf is owned by exactly one name, the most specific one that selects it
    owned = [lf for g in both.owned.values() for lf in g]
    assert len(owned) == len(set(owned)) == len(both.leaves)
    assert all(lf.lang == "en" and lf.plang == "python" for lf in both.owned["code_search.en.python"])
    assert all(lf.lang == "en" and lf.plang != "python" for lf in both.owned["code_search.en"])
    assert all(lf.lang == "zh" for lf in both.owned["code_search"])
    # by_name keeps every leaf a name selects (they overlap)
    assert set(both.by_name["code_search.en.python"]) <= set(both.by_name["code_search.en"]) <= set(both.by_name["code_search"])


def test_selected_records_equal_what_mulco_load_gives(sample):
    for name in ("code_generation.zh", "code_search.en.python", "all"):
        loaded = mulco.load(name, data_dir=sample, split="train")
        assert sorted(_ids(mulco.resolve(name, sample))) == sorted(loaded["id"])
    val = mulco.resolve("all", sample, "validation")
    assert {lf.split for lf in val.leaves} == {"validation"}
    assert sorted(_ids(val)) == sorted(mulco.load("all", data_dir=sample, split="validation")["id"])


def test_licence_filter_keeps_only_listed_licences_case_insensitive(sample):
    sel = mulco.resolve("all", sample)
    present = mulco.count_licenses(sel)
    assert sum(present.values()) == len(_ids(sel)) and len(present) >= 2
    lic = sorted(present)[0]
    table = mulco.read_table(sel, licenses=[lic.upper()], columns=["id", "license"])
    assert table.num_rows == present[lic] and set(table.column("license").to_pylist()) == {lic}
    assert mulco.read_table(sel, licenses=[lic.lower()], columns=["id"]).column_names == ["id"]
    assert mulco.check_licenses([lic.lower()], present) == [lic]
    # an allow-list: a licence that selects nothing is a note (a warning, or a line in notes); none left is an error
    with pytest.warns(mulco.LicenceNote, match="wtfpl"):
        assert mulco.check_licenses(["wtfpl", lic], present) == [lic]
    notes: list[str] = []
    assert mulco.check_licenses(["wtfpl", lic], present, notes=notes) == [lic] and len(notes) == 1 and "wtfpl" in notes[0]
    with pytest.raises(mulco.SelectionError) as e:
        mulco.check_licenses(["wtfpl", "gpl-3.0"], present)
    msg = str(e.value)
    assert "wtfpl" in msg and all(p in msg for p in present) and "\n" not in msg


def test_unknown_and_empty_names_fail_at_once_with_close_names(sample, tmp_path):
    with pytest.raises(mulco.UnknownConfigError) as e:
        mulco.resolve(["code_generation", "code_serch.en"], sample)
    assert "code_search.en" in str(e.value)
    # an unknown name fails before the data is even looked at
    with pytest.raises(mulco.UnknownConfigError):
        mulco.resolve("code_gen", tmp_path / "nowhere")
    with pytest.raises(mulco.UnknownConfigError) as e:
        mulco.resolve("code_generation.en.php", sample)  # valid grammar, no record in this build
    assert "selects no record" in str(e.value) and "code_generation.en." in str(e.value)
    sel = mulco.resolve(["code_generation.en.php", "code_generation.zh"], sample, missing="skip")
    assert sel.names == ("code_generation.zh",)


def test_name_that_only_repeats_another_is_refused(sample):
    sel = mulco.resolve("code_search.code_repair", sample, "validation")
    only = {lf.plang for lf in sel.leaves}
    if len(only) != 1:
        pytest.skip("the sample has several PLs for code_repair")
    with pytest.raises(mulco.SelectionError, match="already selects"):
        mulco.resolve(["code_search.code_repair", f"code_search.code_repair.{only.pop()}"], sample, "validation")


def test_not_a_mulco_folder(tmp_path):
    with pytest.raises(mulco.SelectionError, match="no such MulCo folder"):
        mulco.resolve("all", tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "x.parquet").write_bytes(b"")
    with pytest.raises(mulco.SelectionError, match="not a MulCo folder"):
        mulco.resolve("all", tmp_path / "plain")
    with pytest.raises(mulco.SelectionError, match="not a MulCo folder"):
        mulco.check_source(tmp_path / "plain")


def test_fingerprint_follows_the_bytes_of_the_selected_files(sample, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(sample, copy)
    a, b = mulco.resolve("code_generation", sample), mulco.resolve("code_generation", copy)
    assert a.fingerprint() == b.fingerprint()
    assert mulco.resolve("code_search", copy).fingerprint() != b.fingerprint()
    leaf = b.leaves[0].files[0]
    with open(copy / leaf, "ab") as fh:
        fh.write(b"\0")
    assert mulco.resolve("code_generation", copy).fingerprint() != a.fingerprint()


# ------------------------------------------------------------------ the Hub, served from a local folder


class FolderHub:
    """Serves a local folder as the Hub dataset repo ``tester/mulco``: the repo info (sha + file
    list) and ``resolve`` downloads, which is all mulco.resolve/read_table use."""

    repo = "tester/mulco"

    def __init__(self, folder: Path):
        self.folder = folder
        self.files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        h = hashlib.sha1()
        for f in self.files:  # a commit changes when any file's bytes change
            h.update(f.encode() + b"\0" + (folder / f).read_bytes())
        self.sha = h.hexdigest()
        self.requests: list[str] = []

    def serve(self):
        hub = self

        class Handler(QuietJSONHandler):
            def do_HEAD(self):
                self._route(head=True)

            def do_GET(self):
                self._route(head=False)

            def _route(self, head: bool):
                path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
                hub.requests.append(f"{'HEAD' if head else 'GET'} {path}")
                info = f"/api/datasets/{hub.repo}/revision/"
                res = f"/datasets/{hub.repo}/resolve/"
                if path.startswith(info) or path == f"/api/datasets/{hub.repo}":
                    return self.send_json(200, {"id": hub.repo, "sha": hub.sha, "private": False,
                                                "siblings": [{"rfilename": f} for f in hub.files]})
                if path.startswith(res):
                    rev, _, rel = path[len(res):].partition("/")
                    if rev not in (hub.sha, "main") or rel not in hub.files:
                        return self.send_json(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
                    data = (hub.folder / rel).read_bytes()
                    self.send_response(200)
                    self.send_header("X-Repo-Commit", hub.sha)
                    self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if not head:
                        self.wfile.write(data)
                    return
                self.send_json(404, {"error": f"no route {path}"}, {"X-Error-Code": "RepoNotFound"})

        return start_server(Handler)


@pytest.fixture
def hub(sample, monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # only 127.0.0.1 is reached
    # huggingface_hub reads HF_HOME at import time: point its cache at this test's folder
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub_cache"))
    fake = FolderHub(sample)
    server = fake.serve()
    fake.endpoint = server_url(server)
    yield fake
    server.shutdown()
    server.server_close()


def test_hub_repo_resolves_like_the_local_folder(sample, hub, tmp_path):
    names = ["code_search.en", "code_generation.zh:ignored".split(":")[0]]
    remote = mulco.resolve(names, hub.repo, endpoint=hub.endpoint)
    local = mulco.resolve(names, sample)
    assert remote.is_hub and remote.revision == hub.sha and not local.is_hub
    assert remote.leaves == local.leaves and remote.owned == local.owned
    assert not any("/resolve/" in r for r in hub.requests)  # resolving lists; it downloads nothing
    assert _ids(remote) == _ids(local)
    lic = sorted(mulco.count_licenses(local))[0]
    assert _ids(remote, licenses=[lic]) == _ids(local, licenses=[lic])
    downloaded = {r.split("/resolve/")[1].split("/", 1)[1] for r in hub.requests if r.startswith("GET") and "/resolve/" in r}
    assert downloaded == {f for lf in local.leaves for f in lf.files}  # only the selected leaves
    assert remote.fingerprint() == mulco.resolve(names, hub.repo, endpoint=hub.endpoint).fingerprint()
    assert any((tmp_path / "hub_cache").rglob("*.parquet"))  # downloads went to the sealed cache


def test_token_is_not_in_the_selection_repr(hub):
    secret = "hf_FAKEfakeFAKE0123456789secretTOKEN"
    sel = mulco.resolve("all", hub.repo, endpoint=hub.endpoint, token=secret)
    assert secret not in repr(sel) and secret not in str(sel)


def test_hub_errors_are_one_line(hub, monkeypatch):
    with pytest.raises(mulco.SelectionError) as e:
        mulco.resolve("all", "tester/other", endpoint=hub.endpoint)
    assert "tester/other" in str(e.value) and "\n" not in str(e.value)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(mulco.SelectionError, match="offline"):
        mulco.resolve("all", hub.repo, endpoint=hub.endpoint)


# ------------------------------------------------------------------ boundaries


def test_mulco_imports_no_torch_and_no_collama_train():
    code = ("import sys, mulco, mulco.select, mulco.taxonomy; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'collama_train', 'transformers', 'datasets')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stdout + r.stderr


def _mulco_uses(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) for every use of mulco in a module: imports anywhere (also inside functions)
    and attribute accesses on the imported module names."""
    uses, aliases = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "mulco" or a.name.startswith("mulco."):
                    uses.append((node.lineno, a.name))
                    if a.name == "mulco":
                        aliases.add(a.asname or "mulco")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and (
                node.module == "mulco" or node.module.startswith("mulco.")):
            for a in node.names:
                uses.append((node.lineno, node.module if node.module != "mulco" else f"mulco.{a.name}"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            uses.append((node.lineno, f"mulco.{node.attr}"))
    return uses


def test_collama_train_uses_only_mulco_public_names():
    public = {f"mulco.{n}" for n in mulco.__all__}
    files = sorted((REPO / "collama_train").rglob("*.py"))
    assert files
    bad, seen = [], 0
    for f in files:
        for line, what in _mulco_uses(ast.parse(f.read_text(encoding="utf-8"))):
            seen += 1
            if what != "mulco" and what not in public:
                bad.append(f"{f.relative_to(REPO)}:{line}: {what}")
    assert seen > 0  # the scan finds collama_train's real uses
    assert not bad, "collama_train reaches mulco internals:\n" + "\n".join(bad)


def test_the_scan_catches_private_uses():
    src = "import mulco\nfrom mulco.hub import read_configs\ndef f():\n    from mulco import taxonomy\n    return mulco.build\n"
    found = {w for _, w in _mulco_uses(ast.parse(src))}
    public = {f"mulco.{n}" for n in mulco.__all__}
    assert {"mulco.hub", "mulco.taxonomy", "mulco.build"} <= found - public


def test_public_names_exist():
    for name in mulco.__all__:
        assert hasattr(mulco, name), name
