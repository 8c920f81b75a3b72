"""Two builds of the same input give byte-identical output folders (Parquet, card, report, report
Markdown, quarantine, charts), whatever the worker and thread counts, the order and times the raw
files were written in, the hash seed, the time zone and the working directory.

The input is the bundled sample with a few bad rows added (so the quarantine has entries from
several sources and steps). Build A: files written in sorted order, 1 worker, 1 thread,
PYTHONHASHSEED=0, TZ=UTC. Build B: the same files written in reverse order with shuffled
modification times, 2 workers, 2 threads, PYTHONHASHSEED=4242, TZ=Asia/Shanghai, another
working directory. The two raw folders are at different paths, so the ``.mulco-build`` markers
differ in their ``origin`` (the raw folder's name and a hash of its path: a build of another raw
folder replaces the output only with --force) and in nothing else.
"""
from __future__ import annotations

import filecmp
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from mulco import sources
from mulco.safeout import BUILD_MARKER
from mulco.build import sample_raw_dir

REPO = Path(__file__).resolve().parent.parent


def tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def differing(a: Path, b: Path) -> list[str]:
    ta, tb = tree(a), tree(b)
    assert ta == tb, sorted(set(ta) ^ set(tb))
    return [f for f in ta if not filecmp.cmp(a / f, b / f, shallow=False)]


def raw_files() -> dict[str, bytes]:
    """The sample's raw files, with bad rows added to three sources."""
    root = sample_raw_dir()
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    lc = "codexglue/CodeCompletion-line/dataset/py150/dev.json"
    files[lc] += b'{"input": "<s> x = 1 <EOL>", "gt": }\n\xff\xfe\n{"input": "<s>", "gt": "y"}\n'
    tr = "codexglue/code-to-code-trans/data/train.java-cs.txt.cs"
    files[tr] += b"public void Extra(){}\n"
    al = "codealpaca/code_alpaca_20k.json"
    files[al] = files[al].replace(b'"input": ""', b'"input": ', 1)
    return files


def write_raw(root: Path, files: dict[str, bytes], reverse: bool, seed: int) -> None:
    rng = random.Random(seed)
    for name in sorted(files, reverse=reverse):
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(files[name])
        t = 1_600_000_000 + rng.randrange(10**8)
        os.utime(p, (t, t))


def cli_build(raw: Path, out: Path, cwd: Path, *, workers: int, threads: int, hashseed: str, tz: str) -> None:
    env = dict(os.environ, PYTHONHASHSEED=hashseed, TZ=tz, PYTHONPATH=str(REPO), HF_HOME=str(cwd / "hf"),
               HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    cmd = [sys.executable, "-m", "mulco.cli", "build", "--raw-dir", str(raw), "--out", str(out), "--no-progress",
           "--workers", str(workers), "--threads", str(threads)]
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.mark.slow
def test_two_builds_of_the_same_input_are_byte_identical(tmp_path):
    files = raw_files()
    raw_a, raw_b = tmp_path / "a" / "raw", tmp_path / "b" / "raw"
    write_raw(raw_a, files, reverse=False, seed=1)
    write_raw(raw_b, files, reverse=True, seed=2)
    (tmp_path / "elsewhere").mkdir()
    cli_build(raw_a, tmp_path / "out_a", tmp_path / "a", workers=1, threads=1, hashseed="0", tz="UTC")
    cli_build(raw_b, tmp_path / "out_b", tmp_path / "elsewhere", workers=2, threads=2, hashseed="4242",
              tz="Asia/Shanghai")
    a, b = tmp_path / "out_a", tmp_path / "out_b"
    names = tree(a)
    assert any(n.endswith(".parquet") for n in names)
    assert {"README.md", "build_report.json", "quarantine.jsonl"} <= set(names)
    assert (a / "quarantine.jsonl").read_text(encoding="utf-8").count("\n") >= 6
    assert differing(a, b) == [BUILD_MARKER]  # only the origin: see the module docstring
    ma, mb = (json.loads((x / BUILD_MARKER).read_text(encoding="utf-8")) for x in (a, b))
    assert ma.pop("origin") != mb.pop("origin") and ma == mb


def test_the_order_sources_are_named_in_does_not_change_the_output(sample_build, tmp_path):
    """Every source named, in reverse and one twice: the same bytes as the build that names none
    (conftest's sample build, which takes the registry's order; with its --zh-twins all)."""
    from mulco.build import BuildConfig, build

    names = sources.names()
    build(BuildConfig(out=tmp_path / "b", sources=list(reversed(names)) + names[:1], progress=False, zh_twins="all"),
          log=lambda *a: None)
    assert differing(sample_build.out, tmp_path / "b") == []


def test_raw_files_are_found_in_sorted_order_whatever_the_disk_order(tmp_path):
    files = raw_files()
    write_raw(tmp_path / "a", files, reverse=False, seed=1)
    write_raw(tmp_path / "b", files, reverse=True, seed=2)
    for name in sources.names():
        mod = sources.get(name)
        found_a = [p.relative_to(tmp_path / "a").as_posix() for p in mod.find(tmp_path / "a")]
        found_b = [p.relative_to(tmp_path / "b").as_posix() for p in mod.find(tmp_path / "b")]
        assert found_a == found_b == sorted(found_a), name
