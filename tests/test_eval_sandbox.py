"""Generated code runs only in the sandbox, and what it may do there is contained: an infinite loop,
a memory bomb, an rmtree of the home folder, a fork bomb, a socket, os.system all end as failures
without touching the machine; HumanEval/MBPP canonical solutions pass, empty completions do not."""
from __future__ import annotations

import json
import sys
import time
from http.server import BaseHTTPRequestHandler

import pytest

from collama_train.evaluate import execution, report, sandbox
from helpers import server_url, start_server

FIXTURE_MBPP = __import__("pathlib").Path(__file__).parent / "fixtures" / "eval" / "mbpp"
LIMITS = sandbox.Limits(timeout=3, memory_mb=512)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox's limits are tested on Linux")


def test_a_passing_and_a_failing_program():
    assert sandbox.run_program("assert sum([1, 2]) == 3\nprint('ok')", LIMITS).passed
    out = sandbox.run_program("assert 1 == 2", LIMITS)
    assert (out.passed, out.status) == (False, "failed") and "AssertionError" in out.detail


def test_exiting_early_is_not_passing():
    for prog in ("import sys\nsys.exit(0)\nassert False", "exit()", "import os\nos._exit(0)"):
        assert not sandbox.run_program(prog, LIMITS).passed, prog


def test_infinite_loop_times_out():
    limits = sandbox.Limits(timeout=1, memory_mb=512)  # the loop burns a core until the timeout: keep it short
    start = time.perf_counter()
    out = sandbox.run_program("while True:\n    pass", limits)
    assert out.status == "timeout" and not out.passed
    assert time.perf_counter() - start < limits.timeout + 5


def test_memory_bomb_hits_the_limit():
    for prog in ("x = bytearray(8 * 1024 ** 3)", "a = []\nwhile True:\n    a.append(' ' * 10 ** 7)"):
        out = sandbox.run_program(prog, LIMITS)
        assert not out.passed and "MemoryError" in out.detail, out


def test_rmtree_of_home_and_os_system_are_blocked(tmp_path, monkeypatch):
    home = tmp_path / "fake_home"
    (home / "docs").mkdir(parents=True)
    precious = home / "docs" / "precious.txt"
    precious.write_text("keep me")
    monkeypatch.setenv("HOME", str(home))  # the sandboxed program sees this HOME
    programs = [
        "import os, shutil\nshutil.rmtree(os.path.expanduser('~'))",
        "import os\nos.remove(os.path.expanduser('~/docs/precious.txt'))",
        "import os\nos.unlink(os.path.expanduser('~/docs/precious.txt'))",
        "import os\nos.system('rm -rf ~')",
        "import subprocess\nsubprocess.run(['rm', '-rf', __import__('os').path.expanduser('~')])",
        "import os\nos.rename(os.path.expanduser('~/docs'), 'stolen')",
    ]
    for prog in programs:
        out = sandbox.run_program(prog, LIMITS)
        assert not out.passed and "PermissionError" in out.detail, (prog, out)
    assert precious.read_text() == "keep me"
    # inside its own working directory a program may create and remove files
    assert sandbox.run_program("import os, shutil\nos.mkdir('d')\nopen('d/f', 'w').write('x')\nshutil.rmtree('d')\n"
                               "open('g', 'w').close()\nos.remove('g')", LIMITS).passed


def test_fork_bomb_is_contained():
    # limits (RLIMIT_NPROC, CPU, timeout) are set before the program runs; fork itself is disabled
    for prog in ("import os\nwhile True:\n    os.fork()",
                 "import multiprocessing\nwhile True:\n    multiprocessing.Process(target=print).start()",
                 "import ctypes\nctypes.CDLL(None).fork()"):
        out = sandbox.run_program(prog, LIMITS)
        assert not out.passed and out.status == "failed", (prog, out)


class _Counting(BaseHTTPRequestHandler):
    hits = 0

    def log_message(self, *a):
        pass

    def do_GET(self):
        type(self).hits += 1
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")


def test_no_network(tmp_path):
    server = start_server(_Counting)
    try:
        url = server_url(server)
        for prog in (f"import urllib.request\nurllib.request.urlopen({url!r}, timeout=2).read()",
                     f"import socket\nsocket.create_connection(('127.0.0.1', {server.server_address[1]}), timeout=2)",
                     "import _socket\n_socket.socket()"):
            out = sandbox.run_program(prog, LIMITS)
            assert not out.passed, (prog, out)
        assert _Counting.hits == 0
    finally:
        server.shutdown()
    assert sandbox.check_platform() in ("netns", "guard")


def test_platform_without_limits_is_one_clear_line(monkeypatch):
    sandbox.check_platform.cache_clear()
    monkeypatch.setitem(sys.modules, "resource", None)
    try:
        with pytest.raises(sandbox.SandboxError, match="limits cannot be set") as e:
            sandbox.check_platform()
        assert "\n" not in str(e.value)
    finally:
        sandbox.check_platform.cache_clear()


def _rows(records, predictions):
    return [{"id": r["id"], "task": r["task"], "subtask": None, "lang": "en", "plang": "python", "prompt": r["input"],
             "prediction": p, "reference": r["output"], "execution": r["execution"]} for r, p in zip(records, predictions)]


def test_humaneval_canonical_passes_and_empty_fails():
    recs = [r for r in execution.humaneval_records() if r["id"] in ("HumanEval/0", "HumanEval/1", "HumanEval/2", "HumanEval/32")]
    assert len(recs) == 4  # HumanEval/32's tests import random (os.register_at_fork at import must work)
    res = report.score(_rows(recs, [r["output"] for r in recs]) + _rows(recs, ["" for _ in recs]),
                       allow_code_execution=True, limits=LIMITS)
    (cell,) = res["cells"]
    # two samples per problem (canonical + empty): pass@1 = 1/2 per problem
    assert cell["n"] == 4 and cell["samples"] == 2 and cell["metrics"]["pass@1"] == pytest.approx(50.0)
    canon = report.score(_rows(recs, [r["output"] for r in recs]), allow_code_execution=True, limits=LIMITS)
    empty = report.score(_rows(recs, ["" for _ in recs]), allow_code_execution=True, limits=LIMITS)
    assert canon["cells"][0]["metrics"] == {"pass@1": 100.0}
    assert empty["cells"][0]["metrics"] == {"pass@1": 0.0}


def test_humaneval_whole_function_in_a_fence_is_accepted():
    rec = execution.humaneval_records()[0]
    whole = "Sure:\n```python\n" + rec["input"] + rec["output"] + "\n```\n"
    prog = execution.program("humaneval", whole, rec["execution"])
    assert sandbox.run_program(prog, LIMITS).passed


def test_mbpp_fixture_splits_canonical_and_empty():
    recs = execution.mbpp_records(FIXTURE_MBPP, "test")
    assert [r["id"] for r in recs] == ["mbpp/11", "mbpp/12", "mbpp/13"]  # 601 is train
    assert [r["id"] for r in execution.mbpp_records(FIXTURE_MBPP.parent, "train")] == ["mbpp/601"]
    canon = report.score(_rows(recs, [r["output"] for r in recs]), allow_code_execution=True, limits=LIMITS)
    assert canon["cells"][0]["metrics"] == {"pass@1": 100.0}
    empty = report.score(_rows(recs, ["" for _ in recs]), allow_code_execution=True, limits=LIMITS)
    assert empty["cells"][0]["metrics"] == {"pass@1": 0.0}
    with pytest.raises(execution.BenchmarkError, match="no split"):
        execution.mbpp_records(FIXTURE_MBPP, "dev")


def test_without_the_flag_nothing_runs(tmp_path):
    recs = execution.mbpp_records(FIXTURE_MBPP, "test")
    marker = tmp_path / "ran"
    evil = f"open({str(marker)!r}, 'w').write('x')\n"
    res = report.score(_rows(recs, [evil for _ in recs]), allow_code_execution=False)
    assert res["cells"][0]["metrics"] == {} and "allow-code-execution" in res["notes"][0]
    assert not marker.exists()


def test_score_cli_runs_code_only_with_the_flag(tmp_path, capsys):
    from collama_train.evaluate.cli import main

    recs = execution.mbpp_records(FIXTURE_MBPP, "test")
    gen = tmp_path / "generations.jsonl"
    gen.write_text("".join(json.dumps(r) + "\n" for r in _rows(recs, [r["output"] for r in recs])))
    assert main(["score", str(gen)]) == 0
    assert json.loads((tmp_path / "results.json").read_text())["cells"][0]["metrics"] == {}
    assert main(["score", str(gen), "--allow-code-execution", "--timeout", "5", "--out", str(tmp_path / "x")]) == 0
    assert json.loads((tmp_path / "x" / "results.json").read_text())["cells"][0]["metrics"]["pass@1"] == 100.0
    assert "| en | python | 3 | 100.00 |" in capsys.readouterr().out


def test_shared_mbpp_slice_canonical_solutions_pass(shared_raw):
    recs = execution.mbpp_records(shared_raw, "test")[:16]  # the raw folder's mbpp/ (all 477 pass; 35 s)
    assert recs[0]["id"] == "mbpp/11"
    res = report.score(_rows(recs, [r["output"] for r in recs]), allow_code_execution=True,
                       limits=sandbox.Limits(timeout=10))
    assert res["cells"][0]["metrics"] == {"pass@1": 100.0} and res["cells"][0]["n"] == 16
