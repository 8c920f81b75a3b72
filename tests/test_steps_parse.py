"""The parse check in its forked worker (issue 21): the worker reads the records it checks from the
corpus's store itself (an Arrow file on disk, reopened after the fork) and sends back only its
faults; the result is the one the check gives in the main process."""
from __future__ import annotations

import numpy as np

from mulco.record import make_record
from mulco.steps.parse import ParseCheck, ParseConfig, checked
from mulco.steps.pipeline import Corpus, run_steps
from mulco.store import RecordStore


def records() -> list[dict]:
    """Records each check faults or passes: a summary whose input does not parse (dropped), a
    generation whose fenced answer does not (flagged), a clone pair (not checked), one without a plang."""
    out = []
    for k in range(30):
        base = dict(source="codealpaca", source_id=f"p:{k}", license="x", lang="en", plang="python",
                    instruction="Write a function.")
        kind = k % 5
        if kind == 0:
            r = make_record(**base, task="code_summarization", input=f"def f{k}(:\n  pass", output="Does f.")
        elif kind == 1:
            r = make_record(**base, task="code_generation", input="", output="Use:\n```python\nfor x in:\n```")
        elif kind == 2:
            r = make_record(**base, task="code_search", subtask="clone_detection", input="def (", output="0")
        elif kind == 3:
            r = make_record(**dict(base, plang=None), task="code_generation", input="", output="for x in:")
        else:
            r = make_record(**base, task="code_generation", input="", output=f"def g{k}():\n    return {k}\n")
        out.append(r)
    return out


def run(corpus: Corpus, step: ParseCheck):
    results, dropped = run_steps(corpus, [step])
    return results[0].flagged, results[0].flagged_by_reason, [(i, d.reason) for i, d in dropped.items()]


def test_the_forked_worker_reads_the_store_on_disk_and_finds_what_the_main_process_finds(tmp_path):
    recs = records()
    splits = ["train"] * len(recs)
    sources = [r["source"] for r in recs]
    store = RecordStore.from_records(recs, splits, path=tmp_path / "part.arrow")
    store.batch(0)  # the parent's file is open before the fork: the worker opens its own
    forked = ParseCheck(ParseConfig(), fork_min=1)
    forked.prepare(Corpus(store, sources=sources, threads=1))
    try:
        hits, codes, kinds = forked._future.result(timeout=120)  # what the worker sent back
    finally:
        forked._pool.shutdown()
    flagged, by_reason, drops = run(Corpus(recs, splits, sources, threads=1), ParseCheck(ParseConfig()))
    assert flagged == 6 and by_reason == {"python output does not parse (code_generation)": 6}
    assert [i for i, _ in drops] == list(range(0, 30, 5))
    assert {r for _, r in drops} == {"python input does not parse (code_summarization)"}
    assert hits.tolist() == sorted([i for i, _ in drops] + list(range(1, 30, 5)))
    assert [kinds[c] for c in codes.tolist()] == [
        ("python input does not parse (code_summarization)", False) if i % 5 == 0
        else ("python output does not parse (code_generation)", True) for i in hits.tolist()]
    forked = ParseCheck(ParseConfig(), fork_min=1)  # the step through run_steps, with its worker
    assert run(Corpus(store, sources=sources, threads=1), forked) == (flagged, by_reason, drops)


def test_only_records_a_check_may_fault_are_read():
    """Clone pairs and records without a plang are never read (their leaf says so)."""
    recs = records()
    corpus = Corpus(recs, ["train"] * len(recs), [r["source"] for r in recs], threads=1)
    alive = np.ones(len(recs), dtype=bool)
    alive[0] = False
    assert checked(corpus, alive).tolist() == [k for k in range(1, 30) if k % 5 in (0, 1, 4)]
