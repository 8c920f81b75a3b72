"""The record store (mulco/store.py): records written as Arrow batches read back as the same dicts,
by index, by column, in bulk and from another process."""
from __future__ import annotations

import multiprocessing as mp
import pickle

import numpy as np
import pytest

from mulco import record
from mulco.store import PartWriter, RecordStore


def _records(n: int, tag: str = "") -> list[tuple[str, dict]]:
    out = []
    for i in range(n):
        r = {f: None for f in record.fields()}
        r.update(id=f"{tag}{i:06d}", instruction=f"do {i} 中文", input="" if i % 3 else None, output=f"out {i}\n" * (i % 4),
                 task="code_generation", lang="en" if i % 2 else "zh", source="s", source_id=f"f:{i}")
        out.append((("train", "test", "validation")[i % 3], r))
    return out


@pytest.fixture(params=["file", "memory"])
def store(request, tmp_path):
    a, b = _records(10_000, "a"), _records(3, "b")
    if request.param == "memory":
        return RecordStore.from_pairs(a + b), a + b
    parts = []
    for name, pairs in (("a", a), ("b", b)):
        w = PartWriter(tmp_path / f"{name}.arrow", batch=1000)
        w.extend(pairs)
        w.close()
        parts.append((tmp_path / f"{name}.arrow", w.lengths))
    return RecordStore([p for p, _ in parts], [ls for _, ls in parts]), a + b


def test_records_come_back_as_they_went_in(store):
    s, pairs = store
    assert len(s) == len(pairs)
    assert list(s) == [r for _, r in pairs]
    assert s[0] == pairs[0][1] and s[-1] == pairs[-1][1] and s[5_555] == pairs[5_555][1]
    assert s.column("split") == [sp for sp, _ in pairs]
    idx = np.array([0, 999, 1000, 4_321, 10_001, 10_002])
    assert [i for i, _ in s.iter_records(idx)] == idx.tolist()
    assert [r for _, r in s.iter_records(idx)] == [pairs[i][1] for i in idx]
    assert s.column("id", idx) == [pairs[i][1]["id"] for i in idx]
    assert [r for _, r in s.iter_records(idx, ["id", "lang"])] == [{"id": pairs[i][1]["id"], "lang": pairs[i][1]["lang"]}
                                                                  for i in idx]
    t = s.take(idx)
    assert t.column("output").to_pylist() == [pairs[i][1]["output"] for i in idx]
    assert s.arrow_column("id").to_pylist() == [r["id"] for _, r in pairs]


def _first_of(s):
    return s[7]["id"], s.column("id", np.array([10_002]))


def test_a_store_is_read_in_another_process(store):
    s, pairs = store
    list(s.iter_batches())  # opened here first: the child reopens its files
    with mp.get_context("fork").Pool(1) as pool:
        assert pool.apply(_first_of, (s,)) == (pairs[7][1]["id"], [pairs[10_002][1]["id"]])
    assert _first_of(pickle.loads(pickle.dumps(s))) == (pairs[7][1]["id"], [pairs[10_002][1]["id"]])


def test_the_writer_batches_and_counts(tmp_path):
    w = PartWriter(tmp_path / "x.arrow", batch=4)
    w.extend(_records(10))
    assert w.close() == 10 and w.lengths == [4, 4, 2]
    s = RecordStore([tmp_path / "x.arrow"])  # lengths read from the file when not given
    assert s.n_batches == 3 and len(s) == 10


def test_a_column_kept_does_not_keep_its_batches(tmp_path):
    """A column of a batch read from a file is a slice of the whole batch's buffer: arrow_column
    copies it, so keeping the ids does not keep every record in memory."""
    import gc

    import pyarrow as pa

    w = PartWriter(tmp_path / "x.arrow", batch=1000)
    w.extend(_records(5000))
    w.close()
    s = RecordStore([tmp_path / "x.arrow"], [w.lengths])
    gc.collect()
    before = pa.total_allocated_bytes()
    ids = s.arrow_column("id")
    gc.collect()
    held = pa.total_allocated_bytes() - before
    assert ids.to_pylist() == [r["id"] for _, r in _records(5000)]
    assert held < 3 * ids.nbytes, (held, ids.nbytes)
