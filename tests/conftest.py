"""Tests are sealed from the network and the user's caches: every test gets its own HF cache
and runs with the Hub offline.

The suite runs in parallel (pytest-xdist, ``-n 2 --dist loadscope``): a module's tests stay on one
worker (so its module fixtures are made once), the modules that took longest last time start first,
each worker's numeric libraries get their share of the cores, and the builds several modules read
(the bundled sample, the real shared slices) are made once per run, by whichever worker asks first.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_RAW = REPO.parent / "shared" / "data" / "raw"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

_SEALED = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Each worker gets its share of the cores for torch, BLAS and tokenizers (set before any of them
    # is imported; subprocesses inherit it), so that two workers do not run four busy threads on two.
    _threads = str(max(1, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS"):
        os.environ.setdefault(_var, _threads)


def _seal(mp: pytest.MonkeyPatch, cache: Path) -> None:
    """An HF cache of its own in ``cache``, the Hub offline, no token."""
    mp.setenv("HF_HOME", str(cache))
    mp.setenv("HF_DATASETS_CACHE", str(cache / "datasets"))
    for k, v in _SEALED.items():
        mp.setenv(k, v)
    mp.delenv("HF_TOKEN", raising=False)


@pytest.fixture(scope="session", autouse=True)
def _sealed_session(tmp_path_factory):
    """Session fixtures (the shared builds) run sealed too: a session HF cache, the Hub offline."""
    with pytest.MonkeyPatch.context() as mp:
        _seal(mp, tmp_path_factory.mktemp("hf_home_session"))
        # drawn card charts are kept for the run (not in the user's ~/.cache), shared by the workers
        mp.setenv("MULCO_CACHE_DIR", str(run_root(tmp_path_factory) / "mulco_cache"))
        yield


@pytest.fixture(autouse=True)
def _sealed_hf(tmp_path_factory, monkeypatch):
    _seal(monkeypatch, tmp_path_factory.mktemp("hf_home"))
    yield


@pytest.fixture(scope="session")
def shared_raw() -> Path:
    if not SHARED_RAW.is_dir():
        pytest.skip("../shared/data/raw is not present")
    return SHARED_RAW


@pytest.fixture(scope="session")
def sample_raw() -> Path:
    from mulco.build import sample_raw_dir

    return sample_raw_dir()


# --------------------------------------------------------------------------------------------
# Builds made once per run and shared read-only


def run_root(tmp_path_factory) -> Path:
    """The temp folder of this whole run: every xdist worker's basetemp is a folder inside it."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def once_per_run(tmp_path_factory, name: str, make):
    """``make(folder)`` once per run, whichever worker asks first (the others wait for it and get a
    copy of what it returned, pickled); returns (folder, what ``make`` returned)."""
    from filelock import FileLock

    root = run_root(tmp_path_factory) / "once"
    root.mkdir(exist_ok=True)
    out, done = root / name, root / f"{name}.pickle"
    with FileLock(str(root / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(out, ignore_errors=True)
            out.parent.mkdir(parents=True, exist_ok=True)
            value = make(out)
            done.write_bytes(pickle.dumps(value))
    return out, pickle.loads(done.read_bytes())


def tree_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _shared_build(tmp_path_factory, name: str, **cfg):
    """A :class:`mulco.build.BuildResult` made once per run; after the session the folder must be as
    it was built (a test that writes into a shared build fails here)."""
    from mulco.build import BuildConfig, build

    _, result = once_per_run(tmp_path_factory, name,
                             lambda out: build(BuildConfig(out=out / "mulco", progress=False, **cfg), log=None))
    before = tree_digest(result.out)
    yield result
    assert tree_digest(result.out) == before, f"a test changed the shared build {result.out}"


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory):
    """``mulco build`` of the bundled sample (~190 records) with every ZH template twin
    (``--zh-twins all``: every config shape of the bilingual design, ZH labels and licences
    included, for the tests of loading, exporting and evaluating), the BuildResult; read-only. The
    default twins policy (``paper``) is tested in test_steps_filters.py and test_card.py."""
    yield from _shared_build(tmp_path_factory, "sample", zh_twins="all")


@pytest.fixture(scope="session")
def built_sample(sample_build) -> Path:
    """The folder of :func:`sample_build`; read-only."""
    return sample_build.out


@pytest.fixture(scope="session")
def shared_build(tmp_path_factory, shared_raw):
    """``mulco build`` of the real slices in ../shared/data/raw (~10 s), the BuildResult; read-only."""
    yield from _shared_build(tmp_path_factory, "shared_raw", raw_dir=shared_raw)


def load_rows(folder: Path, config: str, split: str | None = None, licenses=None):
    """``mulco.load(config, data_dir=folder, split=split, licenses=licenses).to_list()`` (without a
    split: {split: rows}), loaded once per process: the reference rows tests compare with, from a
    shared read-only build (a load prepares every split into a fresh cache: ~0.5 s each time)."""
    import copy

    key = None if licenses is None else tuple([licenses] if isinstance(licenses, str) else licenses)
    return copy.deepcopy(_load_rows(str(folder), config, split, key))


@functools.lru_cache(maxsize=None)
def _load_rows(folder: str, config: str, split: str | None, licenses: tuple | None):
    import mulco

    ds = mulco.load(config, data_dir=folder, split=split, licenses=None if licenses is None else list(licenses))
    return ds.to_list() if split else {s: d.to_list() for s, d in ds.items()}


# --------------------------------------------------------------------------------------------
# Longest modules first, so that the two workers finish together

_DURATIONS_KEY = "mulco/module_seconds"


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _shipped_seconds() -> dict[str, float]:
    try:
        return json.loads((Path(__file__).parent / "module_seconds.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def pytest_collection_modifyitems(session, config, items):
    """Order modules by the seconds they took last time (the pytest cache), longest first; on a fresh
    clone by the seconds in tests/module_seconds.json (`make test-times` refreshes it); a module in
    neither is guessed at 20 s a slow test and 0.2 s any other. Tests keep their order inside a module."""
    cache = getattr(config, "cache", None)
    seconds = {**_shipped_seconds(), **(cache.get(_DURATIONS_KEY, {}) if cache else {})}
    first: dict[str, int] = {}
    guess: dict[str, float] = {}
    for i, item in enumerate(items):
        mod = _module(item.nodeid)
        first.setdefault(mod, i)
        guess[mod] = guess.get(mod, 0.0) + (20.0 if item.get_closest_marker("slow") else 0.2)

    def weight(mod: str) -> float:
        return seconds.get(mod, guess[mod])

    order = {m: k for k, m in enumerate(sorted(first, key=lambda m: (-weight(m), first[m])))}
    items.sort(key=lambda item: order[_module(item.nodeid)])


_SECONDS: dict[str, float] = {}  # module -> seconds of its tests in this run


def pytest_runtest_logreport(report):
    mod = _module(report.nodeid)
    _SECONDS[mod] = _SECONDS.get(mod, 0.0) + report.duration
    if report.when == "call":
        for key, value in getattr(report, "user_properties", ()):
            if key == SUMMARY:
                title, line = value
                _SUMMARIES.setdefault(title, []).append(line)


def pytest_sessionfinish(session, exitstatus):
    """Remember each module's seconds (setup + call + teardown of its tests) for the next run's order;
    only the process that saw every report (no xdist, or xdist's controller) writes."""
    config = session.config
    if os.environ.get("PYTEST_XDIST_WORKER") or getattr(config, "cache", None) is None or not _SECONDS:
        return
    seconds = config.cache.get(_DURATIONS_KEY, {})
    seconds.update({m: round(s, 2) for m, s in _SECONDS.items()})
    config.cache.set(_DURATIONS_KEY, seconds)


# --------------------------------------------------------------------------------------------
# Tables a test module prints after the run (they reach xdist's controller with the reports)

SUMMARY = "mulco_summary"


def add_summary_line(node, title: str, line: str) -> None:
    """Print ``line`` under ``title`` in the terminal summary (``node``: the test's ``request.node``)."""
    node.user_properties.append((SUMMARY, (title, line)))


_SUMMARIES: dict[str, list[str]] = {}


def pytest_terminal_summary(terminalreporter):
    for title, lines in _SUMMARIES.items():
        terminalreporter.write_line("")
        terminalreporter.write_line(title)
        for line in sorted(lines):
            terminalreporter.write_line(f"  {line}")
