"""Commands that write never destroy what the user did not ask to replace (issue 8).

``mulco build --out`` replaces only a new, empty or marked (``.mulco-build``) folder; it refuses
a folder it did not write (unless ``--force``), a file, ``--raw-dir`` itself, a folder inside or
around it (even with ``--force``), and a read-only output or parent, each before anything moves;
a build that found no source or kept no record fails. ``mulco download --raw-dir`` adds files and
never deletes one. Every case hashes every file of the user's folders (hidden ones too) before
and after, and checks that no staging folder is named in an error or left behind.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mulco.build import BuildConfig, NothingBuilt, build, sample_raw_dir
from mulco.cli import main
from mulco.safeout import BUILD_MARKER, UnsafeOutputError, prepare_output


def snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file and the set of folders under ``folder`` (hidden ones too)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "<dir>"
    return out


def user_folder(path: Path) -> Path:
    (path / "chapters").mkdir(parents=True)
    (path / "thesis.txt").write_text("four years of work\n")
    (path / "chapters" / "one.md").write_bytes(os.urandom(64))
    (path / ".hidden").write_text("mine too\n")
    return path


def small_raw(tmp_path: Path, name: str = "raw") -> Path:
    """A raw folder holding only the sample's codealpaca (a build takes about a second)."""
    raw = tmp_path / name
    shutil.copytree(sample_raw_dir() / "codealpaca", raw / "codealpaca")
    return raw


def cli_build(raw: Path | None, out: Path, *extra: str) -> list[str]:
    return ["build", *(["--raw-dir", str(raw)] if raw else ["--sample"]), "--out", str(out), "--no-progress", *extra]


def one_line_error(capsys, must_name: Path) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert str(must_name) in err and ".tmp-" not in err and "Traceback" not in err, err
    return err


def siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir())


# -- a folder mulco did not write ---------------------------------------------------------------


def test_a_folder_build_did_not_write_is_refused_and_kept_byte_for_byte(tmp_path, capsys):
    raw = small_raw(tmp_path)
    out = user_folder(tmp_path / "work" / "thesis")
    before, around = snapshot(out), siblings(out)
    assert main(cli_build(raw, out)) == 2
    err = one_line_error(capsys, out)
    assert "--force" in err and "thesis.txt" in err
    assert snapshot(out) == before and siblings(out) == around


def test_force_replaces_a_folder_build_did_not_write(tmp_path, capsys):
    raw = small_raw(tmp_path)
    out = user_folder(tmp_path / "thesis")
    assert main(cli_build(raw, out, "--force")) == 0
    assert not (out / "thesis.txt").exists() and (out / BUILD_MARKER).is_file()
    assert siblings(out) == ["raw", "thesis"]


def test_a_new_an_empty_and_an_earlier_build_folder_are_replaced(tmp_path):
    raw = small_raw(tmp_path)
    new = build(BuildConfig(raw_dir=raw, out=tmp_path / "new" / "out", progress=False), log=None)
    assert json.loads((new.out / BUILD_MARKER).read_text())["written_by"] == "mulco build"
    (tmp_path / "empty").mkdir()
    build(BuildConfig(raw_dir=raw, out=tmp_path / "empty", progress=False), log=None)
    assert (tmp_path / "empty" / "README.md").is_file()
    first = snapshot(new.out)
    (new.out / "stale.parquet").write_bytes(b"PAR1")  # a marked folder is ours: replaced whole
    build(BuildConfig(raw_dir=raw, out=new.out, progress=False), log=None)
    assert snapshot(new.out) == first


def test_the_marker_is_not_data(tmp_path):
    """Not uploaded by publish, not among the files a config names, and the same bytes in every build."""
    from mulco.card import read_card_yaml
    from mulco.publish import local_files

    raw = small_raw(tmp_path)
    a = build(BuildConfig(raw_dir=raw, out=tmp_path / "a", progress=False), log=None).out
    b = build(BuildConfig(raw_dir=raw, out=tmp_path / "b", workers=2, progress=False), log=None).out
    assert (a / BUILD_MARKER).read_bytes() == (b / BUILD_MARKER).read_bytes()
    assert BUILD_MARKER not in local_files(a) and "README.md" in local_files(a)
    names = json.dumps(read_card_yaml(a / "README.md").get("configs"))
    assert BUILD_MARKER not in names


def test_a_forged_or_broken_marker_does_not_count(tmp_path):
    out = user_folder(tmp_path / "t")
    (out / BUILD_MARKER).write_text("not json")
    with pytest.raises(UnsafeOutputError, match="did not write"):
        prepare_output(out)
    (out / BUILD_MARKER).unlink()
    (out / BUILD_MARKER).mkdir()
    with pytest.raises(UnsafeOutputError, match="did not write"):
        prepare_output(out)


# -- --raw-dir ----------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["equal", "inside", "containing"])
@pytest.mark.parametrize("force", [False, True])
def test_out_equal_to_inside_or_containing_raw_dir_is_refused_even_with_force(tmp_path, capsys, where, force):
    if where == "containing":
        top = tmp_path / "top"
        raw = small_raw(top)
        (top / BUILD_MARKER).write_text(json.dumps({"written_by": "mulco build"}))  # even a marked one
        out, watch = top, top
    else:
        raw = small_raw(tmp_path)
        out, watch = (raw if where == "equal" else raw / "out"), raw
    before = snapshot(watch)
    assert main(cli_build(raw, out, *(["--force"] if force else []))) == 2
    err = one_line_error(capsys, out)
    assert "--raw-dir" in err
    assert snapshot(watch) == before
    assert [p for p in tmp_path.rglob(".*tmp-*")] == []


# -- a file -------------------------------------------------------------------------------------


@pytest.mark.parametrize("force", [False, True])
def test_an_existing_file_is_refused_and_kept(tmp_path, capsys, force):
    raw = small_raw(tmp_path)
    out = tmp_path / "thesis.txt"
    out.write_text("four years of work\n")
    assert main(cli_build(raw, out, *(["--force"] if force else []))) == 2
    assert "is an existing file" in one_line_error(capsys, out)
    assert out.read_text() == "four years of work\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw", "thesis.txt"]


def test_raw_dir_that_is_a_file_is_named_as_a_file(tmp_path, capsys):
    f = tmp_path / "passwd"
    f.write_text("root:x:0:0\n")
    assert main(["build", "--raw-dir", str(f), "--out", str(tmp_path / "o")]) == 2
    err = one_line_error(capsys, f)
    assert "is a file" in err and "does not exist" not in err
    assert not (tmp_path / "o").exists()


# -- permissions: checked before anything moves ---------------------------------------------------


@contextlib.contextmanager
def read_only(path: Path, how: str):
    """Make ``path`` read-only for this process: chmod for a user, the immutable flag for root
    (root ignores modes). Skips when that is not possible here."""
    if how == "chmod":
        if os.geteuid() == 0:
            pytest.skip("root ignores permission bits (the immutable case covers root)")
        mode = path.stat().st_mode
        path.chmod(0o555)
        try:
            yield
        finally:
            path.chmod(mode)
    else:
        if shutil.which("chattr") is None or os.geteuid() != 0:
            pytest.skip("chattr +i needs root")
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("this filesystem has no immutable flag")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.parametrize("how", ["chmod", "immutable"])
def test_a_read_only_output_is_refused_before_anything_moves(tmp_path, capsys, how):
    """The issue: the output was swapped anyway, then `Permission denied: 'README.md'`, with the
    old output left as a hidden `.out.tmp-PID`."""
    raw = small_raw(tmp_path)
    out = tmp_path / "out"
    build(BuildConfig(raw_dir=raw, out=out, progress=False), log=None)
    before = snapshot(out)
    inner = out if how == "chmod" else out / "data"  # root: an immutable sub-folder cannot be emptied
    with read_only(inner, how):
        assert main(cli_build(raw, out)) == 2
        err = one_line_error(capsys, out)
        assert "read-only" in err
        assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "raw"]


@pytest.mark.parametrize("how", ["chmod", "immutable"])
def test_a_read_only_parent_is_refused_naming_the_users_path(tmp_path, capsys, how):
    raw = small_raw(tmp_path)
    parent = tmp_path / "ro"
    parent.mkdir()
    out = parent / "out"
    with read_only(parent, how):
        assert main(cli_build(raw, out)) == 2
        assert "cannot write into" in one_line_error(capsys, out)
    assert list(parent.iterdir()) == []


def test_a_file_put_into_the_output_during_the_build_is_not_lost(tmp_path, monkeypatch):
    """The output is checked again just before the swap."""
    import mulco.build

    raw = small_raw(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    real = mulco.build.resolve_translations

    def meanwhile(res, translator, **kw):
        (out / "notes.txt").write_text("written while the build ran\n")
        return real(res, translator, **kw)

    monkeypatch.setattr(mulco.build, "resolve_translations", meanwhile)
    with pytest.raises(UnsafeOutputError, match="notes.txt"):
        build(BuildConfig(raw_dir=raw, out=out, progress=False), log=None)
    assert snapshot(out) == {"notes.txt": hashlib.sha256(b"written while the build ran\n").hexdigest()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "raw"]


# -- builds that did nothing ----------------------------------------------------------------------


@pytest.mark.parametrize("case", ["empty", "parent"])
def test_a_build_that_finds_no_source_fails_and_keeps_the_old_output(tmp_path, capsys, case):
    good = small_raw(tmp_path / "data")  # tmp/data/raw
    out = tmp_path / "out"
    build(BuildConfig(raw_dir=good, out=out, progress=False), log=None)
    before = snapshot(out)
    raw = tmp_path / "empty" if case == "empty" else good.parent
    raw.mkdir(exist_ok=True)
    assert main(cli_build(raw, out, "--force")) == 2  # another raw folder: without --force refused before reading it
    err = one_line_error(capsys, out)
    assert "no source found" in err and f"mulco sources --raw-dir {raw}" in err
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"data", "out", raw.name})


def test_a_build_that_keeps_no_record_fails_and_keeps_the_old_output(tmp_path):
    raw = tmp_path / "raw"
    (raw / "codealpaca").mkdir(parents=True)
    (raw / "codealpaca" / "code_alpaca_2k.json").write_text(json.dumps([{"instruction": 1}, "not an object"]))
    out = user_folder(tmp_path / "out")
    (out / BUILD_MARKER).write_text(json.dumps({"written_by": "mulco build"}))
    before = snapshot(out)
    with pytest.raises(NothingBuilt, match="0 records"):
        build(BuildConfig(raw_dir=raw, out=out, progress=False), log=None)
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "raw"]


def test_a_source_that_read_rows_but_kept_none_is_a_warning(tmp_path, capsys):
    """The issue: codexglue_cloze showed "built" with 0 records (every row lacked its answer)."""
    raw = small_raw(tmp_path)
    shutil.copytree(sample_raw_dir() / "codexglue", raw / "codexglue",
                    ignore=lambda d, names: [n for n in names if n == "answers"])
    assert not list(raw.rglob("answers.txt"))
    assert main(cli_build(raw, tmp_path / "out", "--sources", "codealpaca", "codexglue_cloze")) == 0
    cap = capsys.readouterr()
    warning = [line for line in cap.err.splitlines() if line.startswith("WARNING:") and "codexglue_cloze" in line]
    assert len(warning) == 1 and "kept no record" in warning[0] and "no answer" in warning[0]
    assert "WARNING" not in cap.out  # the summary (stdout) marks the source instead
    assert any(line.startswith("codexglue_cloze") and "KEPT NONE" in line for line in cap.out.splitlines())
    report = json.loads((tmp_path / "out" / "build_report.json").read_text())
    assert any("codexglue_cloze" in w and "kept no record" in w for w in report["warnings"])
    assert "codexglue_cloze" in (tmp_path / "out" / "build_report.md").read_text().split("## Accounting")[0]


# -- mulco download --raw-dir ------------------------------------------------------------------


def _manifest(tmp_path: Path, url: str, dests: list[str]) -> Path:
    path = tmp_path / "downloads.json"
    path.write_text(json.dumps({"format": 1, "github": {"srv": url}, "sources": {"s": {"files": [
        {"dest": d, "url": "{srv}" + d, "sha256": hashlib.sha256(d.encode()).hexdigest()} for d in dests]}}}))
    return path


@pytest.fixture
def files_server():
    from helpers import QuietJSONHandler, server_url, start_server

    class Handler(QuietJSONHandler):
        def do_GET(self):
            body = self.path.lstrip("/").encode()  # each file's content is its own path
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = start_server(Handler)
    yield server_url(srv) + "/"
    srv.shutdown()
    srv.server_close()


def test_download_adds_files_and_never_deletes_the_users(tmp_path, files_server, capsys):
    raw = user_folder(tmp_path / "raw")
    (raw / "s").mkdir()
    (raw / "s" / "b").write_text("my own b, not the original\n")
    m = _manifest(tmp_path, files_server, ["s/a", "s/b"])
    before = snapshot(raw)
    assert main(["download", "--raw-dir", str(raw), "--manifest", str(m), "--no-progress"]) == 1
    after = snapshot(raw)
    assert {k: v for k, v in after.items() if k in before} == before  # every file of the user's is as it was
    assert (raw / "s" / "a").read_text() == "s/a"
    assert "--force" in capsys.readouterr().err  # what went wrong goes to stderr (docs/sources.md)
    assert main(["download", "--raw-dir", str(raw), "--manifest", str(m), "--no-progress", "--force"]) == 0
    assert (raw / "s" / "b").read_text() == "s/b"
    kept = list((raw / ".mulco-download" / "rejected" / "s").iterdir())
    assert [p.read_text() for p in kept] == ["my own b, not the original\n"]  # moved aside, not deleted


def test_download_refuses_a_file_and_a_build_output_as_raw_dir(tmp_path, files_server, capsys):
    m = _manifest(tmp_path, files_server, ["s/a"])
    f = tmp_path / "raw.txt"
    f.write_text("not a folder\n")
    assert main(["download", "--raw-dir", str(f), "--manifest", str(m)]) == 2
    assert "existing file" in one_line_error(capsys, f)
    assert f.read_text() == "not a folder\n"
    out = build(BuildConfig(raw_dir=small_raw(tmp_path), out=tmp_path / "out", progress=False), log=None).out
    before = snapshot(out)
    for raw in (out, out / "raw"):
        assert main(["download", "--raw-dir", str(raw), "--manifest", str(m)]) == 2
        assert "mulco build" in one_line_error(capsys, raw)
    assert snapshot(out) == before


def test_download_refuses_a_destination_it_cannot_write_and_keeps_what_is_there(tmp_path, files_server, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "s").write_text("a file where the folder s/ must go\n")
    m = _manifest(tmp_path, files_server, ["s/a"])
    assert main(["download", "--raw-dir", str(raw), "--manifest", str(m), "--no-progress"]) == 1
    out = capsys.readouterr()
    assert "is a file where a folder must be" in out.err and "Traceback" not in out.err
    assert (raw / "s").read_text() == "a file where the folder s/ must go\n"


def test_download_dry_run_creates_nothing_and_exits_0_when_the_plan_can_run(tmp_path, files_server, capsys):
    m = _manifest(tmp_path, files_server, ["s/a", "s/b"])
    raw = tmp_path / "new" / "raw"
    assert main(["download", "--raw-dir", str(raw), "--manifest", str(m), "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert text.count("would get") == 2 and "nothing was written" in text
    assert not (tmp_path / "new").exists()
    # an existing raw folder with a verified file: still nothing written (no lock file either)
    raw.mkdir(parents=True)
    (raw / "s").mkdir()
    (raw / "s" / "a").write_text("s/a")
    assert main(["download", "--raw-dir", str(raw), "--manifest", str(m), "--dry-run"]) == 0
    assert snapshot(raw) == {"s": "<dir>", "s/a": hashlib.sha256(b"s/a").hexdigest()}
    # an unpinned file: the plan can run with --trust-on-first-use, so the dry run exits 0 and its
    # last line names the flag; with the flag too, nothing is written
    unpinned = tmp_path / "unpinned.json"
    unpinned.write_text(json.dumps({"format": 1, "sources": {"s": {"files": [
        {"dest": "s/u", "url": files_server + "s/u", "sha256": None}]}}}))
    assert main(["download", "--raw-dir", str(raw), "--manifest", str(unpinned), "--dry-run"]) == 0
    assert "--trust-on-first-use" in capsys.readouterr().out.splitlines()[-1]
    assert main(["download", "--raw-dir", str(raw), "--manifest", str(unpinned), "--dry-run",
                 "--trust-on-first-use"]) == 0
    assert not (raw / "s" / "u").exists() and not (raw / "mulco-download.lock.json").exists()
    # a plan that is actually wrong (a present file that is not the original) exits 1, says how to go
    # on, and still writes nothing
    (raw / "s" / "b").write_text("my own b\n")
    before = snapshot(raw)
    assert main(["download", "--raw-dir", str(raw), "--manifest", str(m), "--dry-run"]) == 1
    assert "--force" in capsys.readouterr().err
    assert snapshot(raw) == before
