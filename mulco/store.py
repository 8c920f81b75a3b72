"""The build's records on disk: Arrow record batches instead of Python dicts.

A build of the complete raw sources makes millions of records; held as dicts they cost ~1.2 KB
each. Here every source's converter output is appended, :data:`BATCH` records at a time, to an
Arrow IPC file in the build's staging folder (``.NAME.tmp-PID/.records/``, so the atomic swap and
the clean-up of a killed build are those of the output). The quality steps read the columns they
need batch by batch, and the writer streams each config leaf from the batches.

Files are read with plain reads, never memory-mapped: a mapped file's pages would count as the
build's memory. :class:`RecordStore` keeps at most two decoded batches.
"""
from __future__ import annotations

import functools
import os
import threading
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

#: records per Arrow batch of a store file
BATCH = 4096
#: the store's columns: the record's fields, then the split
SPLIT = "split"


@functools.lru_cache(maxsize=1)
def schema():
    """Record fields (all strings, schema order) and the split."""
    import pyarrow as pa

    from . import record

    return pa.schema([pa.field(n, pa.string()) for n in record.fields()] + [pa.field(SPLIT, pa.string())])


@functools.lru_cache(maxsize=1)
def fields() -> tuple[str, ...]:
    from . import record

    return tuple(record.fields())


def _batch_of(rows: list[tuple[str, dict]]):
    import pyarrow as pa

    names = fields()
    cols = [pa.array([r.get(n) for _, r in rows], pa.string()) for n in names]
    cols.append(pa.array([s for s, _ in rows], pa.string()))
    return pa.RecordBatch.from_arrays(cols, schema=schema())


class PartWriter:
    """Appends (split, record) pairs to one store file, :data:`BATCH` at a time."""

    def __init__(self, path: Path | None, batch: int = BATCH):
        import pyarrow as pa

        self.path = Path(path) if path is not None else None
        self._sink = pa.OSFile(str(path), "wb") if path is not None else pa.BufferOutputStream()
        self._writer = pa.ipc.new_file(self._sink, schema())
        self._buf: list[tuple[str, dict]] = []
        self.batch = batch
        self.rows = 0
        self.lengths: list[int] = []  # rows per batch written
        self.buffer = None  # the bytes of an in-memory part, once closed

    def add(self, split: str, rec: dict) -> None:
        self._buf.append((split, rec))
        if len(self._buf) >= self.batch:
            self.flush()

    def extend(self, pairs: Iterable[tuple[str, dict]]) -> None:
        for s, r in pairs:
            self.add(s, r)

    def flush(self) -> None:
        if self._buf:
            self._writer.write_batch(_batch_of(self._buf))
            self.rows += len(self._buf)
            self.lengths.append(len(self._buf))
            self._buf = []

    def close(self) -> int:
        self.flush()
        self._writer.close()
        if self.path is None:
            self.buffer = self._sink.getvalue()
        else:
            self._sink.close()
        return self.rows


class _Part:
    """One store file, opened for reading (reopened after a fork or unpickling)."""

    def __init__(self, source):
        self.source = source  # a path, or an in-memory buffer
        self._reader = None
        self._pid = None

    def reader(self):
        import pyarrow as pa

        if self._reader is None or self._pid != os.getpid():
            f = pa.OSFile(str(self.source), "rb") if isinstance(self.source, (str, Path)) else pa.BufferReader(self.source)
            self._reader = pa.ipc.open_file(f)
            self._pid = os.getpid()
        return self._reader

    def lengths(self) -> list[int]:
        r = self.reader()
        return [r.get_batch(k).num_rows for k in range(r.num_record_batches)] if r.num_record_batches else []

    def __getstate__(self):
        return {"source": self.source}

    def __setstate__(self, st):
        self.source, self._reader, self._pid = st["source"], None, None


class RecordStore(Sequence):
    """The records of a build, in order, from one or more store files (one per source).

    ``store[i]`` is record ``i`` as a dict (its split left out); sequential access decodes each
    batch once. Bulk access: :meth:`iter_batches`, :meth:`column`, :meth:`iter_records`, :meth:`take`."""

    def __init__(self, parts: Sequence, lengths: Sequence[Sequence[int]] | None = None):
        self._parts = [p if isinstance(p, _Part) else _Part(p) for p in parts]
        lens = [list(x) for x in lengths] if lengths is not None else [p.lengths() for p in self._parts]
        self._where = [(k, b) for k, ls in enumerate(lens) for b in range(len(ls))]  # batch -> (part, batch in part)
        sizes = [n for ls in lens for n in ls]
        self._starts = np.concatenate(([0], np.cumsum(sizes, dtype=np.int64))) if sizes else np.zeros(1, dtype=np.int64)
        self.part_rows = [int(sum(ls)) for ls in lens]
        self._lock = threading.Lock()
        self._local = threading.local()

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, dict]], path: Path | None = None) -> "RecordStore":
        """A one-part store of (split, record) pairs (in memory unless ``path``)."""
        w = PartWriter(path)
        w.extend(pairs)
        w.close()
        return cls([w.buffer if path is None else path])

    @classmethod
    def from_records(cls, records: Sequence[dict], splits: Sequence[str], path: Path | None = None) -> "RecordStore":
        return cls.from_pairs(zip(splits, records), path)

    # -- size and layout
    def __len__(self) -> int:
        return int(self._starts[-1])

    @property
    def n_batches(self) -> int:
        return len(self._where)

    def batch_starts(self) -> np.ndarray:
        return self._starts

    def part_of_batches(self) -> list[int]:
        return [k for k, _ in self._where]

    # -- reading
    def batch(self, b: int, columns: Sequence[str] | None = None):
        """Batch ``b`` (all columns, or only ``columns``), read from its file. Its columns share one
        buffer (the batch as read): keep a copy of a column, not the column, beyond the batch."""
        k, j = self._where[b]
        with self._lock:
            rb = self._parts[k].reader().get_batch(j)
        return rb if columns is None else rb.select(list(columns))

    def _locate(self, idx: np.ndarray) -> np.ndarray:
        return np.searchsorted(self._starts, idx, side="right") - 1

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        b = int(self._locate(np.array([i]))[0])
        rows = self._decoded(b)
        return dict(rows[i - int(self._starts[b])])

    def _decoded(self, b: int) -> list[dict]:
        """The records of batch ``b`` as dicts; the last two batches decoded are kept (per thread)."""
        cache = self._local.__dict__.setdefault("rows", {})
        if b not in cache:
            if len(cache) >= 2:
                cache.pop(next(iter(cache)))
            cache[b] = self.batch(b).drop_columns([SPLIT]).to_pylist()
        return cache[b]

    def __iter__(self) -> Iterator[dict]:
        for _, rows in self.iter_rows():
            yield from rows

    def iter_batches(self, columns: Sequence[str] | None = None, indices: np.ndarray | None = None):
        """(start, batch) of every batch in order; with ``indices`` (sorted), only the batches holding one
        and (start, batch, local positions) instead."""
        if indices is None:
            for b in range(self.n_batches):
                yield int(self._starts[b]), self.batch(b, columns)
            return
        idx = np.asarray(indices, dtype=np.int64)
        if not len(idx):
            return
        bs = self._locate(idx)
        cut = np.flatnonzero(np.diff(bs)) + 1
        for part in np.split(np.arange(len(idx)), cut):
            b = int(bs[part[0]])
            start = int(self._starts[b])
            yield start, self.batch(b, columns), idx[part] - start

    def iter_rows(self, columns: Sequence[str] | None = None) -> Iterator[tuple[int, list[dict]]]:
        """(start, records as dicts) of every batch (only ``columns`` when given; the split left out)."""
        for start, rb in self.iter_batches(columns):
            if SPLIT in rb.schema.names and (columns is None or SPLIT not in columns):
                rb = rb.drop_columns([SPLIT])
            yield start, rb.to_pylist()

    def iter_records(self, indices: np.ndarray, columns: Sequence[str] | None = None) -> Iterator[tuple[int, dict]]:
        """(i, record) for the sorted ``indices`` (only ``columns`` when given)."""
        for start, rb, local in self.iter_batches(columns, indices):
            if SPLIT in rb.schema.names and (columns is None or SPLIT not in columns):
                rb = rb.drop_columns([SPLIT])
            rows = rb.take(local).to_pylist()
            for j, r in zip(local.tolist(), rows):
                yield start + j, r

    def column(self, name: str, indices: np.ndarray | None = None) -> list:
        """The values of one column, of every record or of the sorted ``indices``."""
        out: list = []
        if indices is None:
            for _, rb in self.iter_batches([name]):
                out += rb.column(0).to_pylist()
        else:
            for _, rb, local in self.iter_batches([name], np.asarray(indices, dtype=np.int64)):
                out += rb.column(0).take(local).to_pylist()
        return out

    def arrow_column(self, name: str):
        """One column of every record as a pyarrow ChunkedArray (compact: no Python objects). Each
        chunk is a copy: a column of a batch read from a file shares the memory of the whole batch."""
        import pyarrow as pa

        chunks = [pa.concat_arrays([rb.column(0)]) for _, rb in self.iter_batches([name])]
        return pa.chunked_array(chunks, type=pa.string())

    def take(self, indices: np.ndarray, columns: Sequence[str] | None = None):
        """The rows at the sorted ``indices`` as a pyarrow Table."""
        import pyarrow as pa

        parts = [rb.take(local) for _, rb, local in self.iter_batches(columns, np.asarray(indices, dtype=np.int64))]
        sch = schema() if columns is None else pa.schema([schema().field(c) for c in columns])
        return pa.Table.from_batches(parts, schema=sch)

    def __getstate__(self):
        st = dict(self.__dict__)
        del st["_lock"], st["_local"]
        return st

    def __setstate__(self, st):
        self.__dict__.update(st)
        self._lock = threading.Lock()
        self._local = threading.local()


def open_parts(paths: Sequence[Path]) -> RecordStore:
    return RecordStore(list(paths))
