"""``kill -9`` during ``mulco build`` and ``mulco download``.

Build: ``python -m mulco.cli build --out X`` runs over an existing, different output X (built
from one source; the new one is the whole sample) and is killed with SIGKILL, with its whole
process group, at a moment drawn from a seed: anywhere in the run, or just after the temp folder
of the new output appears (the write phase), or as soon as X is the new folder (the old one is
being removed). Afterwards X is, byte for byte, either the old tree
or the complete new one (never a mix, never a half-written file), every Parquet file the card
lists loads, and a rerun succeeds and gives the new tree. Temp folders left beside X are
recorded; that the next build removes them is checked separately.

Download: ``mulco download`` is killed while a file streams from a local server; the file is
never at its place half-written, and the next run resumes with ``Range`` from what was saved and
the sha256 of the result is the pinned one.
"""
from __future__ import annotations

import hashlib
import http.server
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import add_summary_line

REPO = Path(__file__).resolve().parent.parent
#: (mode, seed): "anywhere" = a delay in the whole run; "writing" = a delay after the temp folder
#: appears; "swap" = as soon as X is the new folder (while the old one, now in the temp folder, is removed)
KILLS = [("anywhere", 1), ("anywhere", 2), ("writing", 11), ("writing", 12), ("writing", 13), ("swap", 21)]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "mulco.cli", *args]


def sealed_env(home: Path) -> dict:
    env = dict(os.environ, HF_HOME=str(home), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               HF_HUB_DISABLE_TELEMETRY="1", PYTHONPATH=str(REPO))
    env.pop("HF_TOKEN", None)
    return env


def rerun(out: Path, *args: str) -> None:
    """``mulco build --out OUT`` in this process (the killed builds are separate processes; the one
    after them needs no fresh interpreter: what it finds is on disk)."""
    from mulco.cli import main

    assert main(["build", "--sample", "--out", str(out), "--no-progress", *args]) == 0


def snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (hidden ones too), by relative path."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            out[p.relative_to(folder).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def check_loads(folder: Path) -> int:
    """Every data file the card's configs name exists and loads; the report parses. Returns rows."""
    import pyarrow.parquet as pq

    from mulco.card import read_card_yaml

    json.loads((folder / "build_report.json").read_text(encoding="utf-8"))
    meta = read_card_yaml(folder / "README.md")
    from mulco.hub import resolve_data_files  # the card names files by glob

    files = {p for c in meta["configs"] for fs in resolve_data_files(folder, c).values() for p in fs}
    assert files
    return sum(pq.read_table(folder / f).num_rows for f in sorted(files))


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    """(old tree, its snapshot, new tree snapshot, timings of a clean build, env); the timings
    say when the temp folder of the new tree appeared and when it was gone (swapped in)."""
    base = tmp_path_factory.mktemp("crash")
    env = sealed_env(base / "hf")
    old = base / "old"
    rerun(old, "--sources", "codealpaca")
    (base / "ref").mkdir()
    shutil.copytree(old, base / "ref" / "X")
    proc = subprocess.Popen(cli("build", "--sample", "--out", str(base / "ref" / "X"), "--no-progress"), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0, appeared, gone = time.perf_counter(), None, None
    while proc.poll() is None:
        tmp = any(p.name != "X" for p in (base / "ref").iterdir())
        now = time.perf_counter() - t0
        if tmp and appeared is None:
            appeared = now
        if not tmp and appeared is not None and gone is None:
            gone = now
        time.sleep(0.002)
    assert proc.returncode == 0 and appeared is not None
    timing = {"total": time.perf_counter() - t0, "writing": (gone or time.perf_counter() - t0) - appeared}
    new = snapshot(base / "ref" / "X")
    assert snapshot(old) != new
    return old, snapshot(old), new, timing, env


@pytest.mark.slow
@pytest.mark.parametrize("mode, seed", KILLS, ids=[f"{m}-{s}" for m, s in KILLS])
def test_kill_9_during_build_leaves_the_old_output_or_the_new_one(trees, tmp_path, mode, seed, request):
    old, old_snap, new_snap, timing, env = trees
    out = tmp_path / "X"
    shutil.copytree(old, out)
    rng = random.Random(seed)
    proc = subprocess.Popen(cli("build", "--sample", "--out", str(out), "--no-progress"), env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.perf_counter()
    try:
        if mode == "anywhere":
            time.sleep(rng.uniform(0.2, timing["total"]))
        elif mode == "swap":
            inode = out.stat().st_ino
            while out.stat().st_ino == inode:
                assert proc.poll() is None, "the build ended before the swap was seen"
                time.sleep(0.0005)
            time.sleep(rng.uniform(0.0, 0.005))
        else:
            while not any(p.name.startswith(".X.tmp-") for p in tmp_path.iterdir()):
                assert proc.poll() is None, "the build ended before writing"
                assert time.perf_counter() - t0 < 4 * timing["total"] + 30
                time.sleep(0.002)
            time.sleep(rng.uniform(0.0, 1.1 * timing["writing"]))
    finally:
        delay = time.perf_counter() - t0
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    state = snapshot(out)
    outcome = "old" if state == old_snap else "new" if state == new_snap else None
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != "X")
    add_summary_line(request.node, "kill -9 during mulco build (mode, seed: killed after; X afterwards; left beside X):",
                     f"{mode:<8} {seed:>3}: {delay:.2f}s; {outcome or 'MIXED'}; {left or 'nothing'}")
    assert outcome is not None, (sorted(set(state) ^ set(old_snap))[:5], sorted(set(state) ^ set(new_snap))[:5])
    assert check_loads(out) > 0
    rerun(out)
    assert snapshot(out) == new_snap


def test_the_next_build_removes_temp_folders_a_killed_build_left(tmp_path):
    from mulco.build import BuildConfig, build

    out = tmp_path / "X"
    build(BuildConfig(out=out, sources=["codealpaca"], progress=False), log=lambda *a: None)
    dead = _dead_pid()
    for name in (f".X.tmp-{dead}", f".X.old-{dead}"):
        (tmp_path / name / "data").mkdir(parents=True)
        (tmp_path / name / "data" / "half.parquet").write_bytes(b"PAR1")
    build(BuildConfig(out=out, sources=["codealpaca"], progress=False), log=lambda *a: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X"]


def test_without_renameat2_a_crash_between_the_renames_keeps_an_output(tmp_path, monkeypatch):
    import mulco.fsops
    from mulco.build import BuildConfig, build

    out = tmp_path / "X"
    build(BuildConfig(out=out, sources=["codealpaca"], progress=False), log=lambda *a: None)
    monkeypatch.setattr(mulco.fsops, "_exchange", lambda a, b: False)
    real_rename, calls = os.rename, []

    def rename(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:
            raise KeyboardInterrupt("killed between the two renames (simulated)")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        build(BuildConfig(out=out, progress=False), log=lambda *a: None)
    monkeypatch.setattr(os, "rename", real_rename)
    assert out.is_dir() and check_loads(out) > 0


def _dead_pid() -> int:
    pid = 999_999
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


# --------------------------------------------------------------------------------------------
# mulco download

DATA = os.urandom(3 << 20)  # 3 MiB


class SlowFiles(http.server.BaseHTTPRequestHandler):
    """Serves DATA slowly (64 KiB every 10 ms), with Range; logs the Range headers."""

    protocol_version = "HTTP/1.1"
    ranges: list = []

    def log_message(self, *a):
        pass

    def do_GET(self):
        rng = self.headers.get("Range")
        type(self).ranges.append(rng)
        start = int(rng[6:].split("-")[0]) if rng else 0
        if start >= len(DATA):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(DATA)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(206 if rng else 200)
        if rng:
            self.send_header("Content-Range", f"bytes {start}-{len(DATA) - 1}/{len(DATA)}")
        self.send_header("Content-Length", str(len(DATA) - start))
        self.end_headers()
        try:
            for i in range(start, len(DATA), 64 << 10):
                self.wfile.write(DATA[i:i + (64 << 10)])
                self.wfile.flush()
                time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.mark.parametrize("seed", [5, 6])
def test_kill_9_during_download_resumes_and_the_checksum_holds(tmp_path, seed):
    from mulco.download import WORK_DIR

    SlowFiles.ranges = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowFiles)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/"
        manifest = tmp_path / "downloads.json"
        sha = hashlib.sha256(DATA).hexdigest()
        manifest.write_text(json.dumps({"format": 1, "github": {"srv": url}, "sources": {
            "s": {"files": [{"dest": "s/big.bin", "url": "{srv}big.bin", "sha256": sha}]}}}))
        raw = tmp_path / "raw"
        args = cli("download", "s", "--raw-dir", str(raw), "--manifest", str(manifest), "--no-progress", "--retries", "0")
        env = sealed_env(tmp_path / "hf")
        part = raw / WORK_DIR / "partial" / "s" / "big.bin"
        proc = subprocess.Popen(args, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        rng = random.Random(seed)
        want = rng.uniform(0.1, 0.8) * len(DATA)
        t0 = time.perf_counter()
        while not (part.exists() and part.stat().st_size >= want):
            assert proc.poll() is None, "the download ended before the kill"
            assert time.perf_counter() - t0 < 60
            time.sleep(0.005)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        assert not (raw / "s" / "big.bin").exists()  # never in place half-written
        have = part.stat().st_size
        assert 0 < have < len(DATA)
        done = subprocess.run(args, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        assert (raw / "s" / "big.bin").read_bytes() == DATA
        assert hashlib.sha256((raw / "s" / "big.bin").read_bytes()).hexdigest() == sha
        assert SlowFiles.ranges[0] is None and SlowFiles.ranges[-1] == f"bytes={have}-"
        assert not part.exists()
    finally:
        httpd.shutdown()
        httpd.server_close()
