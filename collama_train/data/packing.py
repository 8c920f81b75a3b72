"""Best-fit-decreasing packing of whole records into rows, and the efficiency figures
(docs/data-pipeline.md §5)."""
from __future__ import annotations

from itertools import chain
from typing import Sequence

from .tokenizing import IGNORE_INDEX


def pack_bfd(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Best-fit-decreasing: indices of ``lengths`` grouped into bins of at most ``capacity`` tokens.
    Longest first; each goes to the fullest bin it still fits in (ties: the earliest such bin).
    O(n log C): bins are bucketed by the room they have left."""
    import bisect

    bins: list[list[int]] = []
    buckets: dict[int, list[int]] = {}
    keys: list[int] = []  # sorted distinct rooms that have a bin
    for i in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        n = lengths[i]
        if n > capacity:
            raise ValueError(f"record {i} has {n} tokens, more than the row capacity {capacity}")
        j = bisect.bisect_left(keys, n)
        if j < len(keys):
            room = keys[j]
            b = buckets[room].pop(0)
            if not buckets[room]:
                del buckets[room]
                keys.pop(j)
        else:
            room, b = capacity, len(bins)
            bins.append([])
        bins[b].append(i)
        room -= n
        if room > 0:
            if room not in buckets:
                buckets[room] = []
                bisect.insort(keys, room)
            buckets[room].append(b)
    return bins


def packing_efficiency(lengths: Sequence[int], capacity: int) -> float:
    """Real tokens / tokens computed when the packed rows are ``capacity`` long."""
    bins = pack_bfd(lengths, capacity)
    return sum(lengths) / (len(bins) * capacity) if bins else 1.0


def padding_efficiency(lengths: Sequence[int], batch_size: int = 8, seed: int = 0) -> float:
    """Real tokens / tokens computed when random batches of ``batch_size`` are padded to their longest."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(lengths))
    real = computed = 0
    for i in range(0, len(order), batch_size):
        batch = [lengths[j] for j in order[i:i + batch_size]]
        real += sum(batch)
        computed += max(batch) * len(batch)
    return real / computed if computed else 1.0


def pack_examples(examples, max_length: int) -> dict:
    """Columns of the packed rows of :class:`~collama_train.data.tokenizing.Examples`: whole records
    best-fit-decreasing into rows of ``max_length`` (:func:`pack_bfd`), ``position_ids`` restarting
    at 0 for each record and the label of each record's first token -100. List columns are
    ``(values, row_offsets)`` numpy pairs; ``length`` is the tokens of each row."""
    import numpy as np

    from .tokenizing import ranges

    lengths = examples.lengths
    bins = pack_bfd(lengths.tolist(), max_length)
    order = np.fromiter(chain.from_iterable(bins), dtype=np.int64, count=len(examples))
    packed = examples.take(order)
    labels = packed.labels.copy()
    labels[packed.offsets[:-1]] = IGNORE_INDEX
    starts = np.zeros(len(packed), dtype=np.int64)
    position_ids = ranges(starts, packed.lengths).astype(np.int32)
    sizes = np.fromiter(map(len, bins), dtype=np.int64, count=len(bins))
    row_len = np.add.reduceat(packed.lengths, np.cumsum(sizes) - sizes) if len(bins) else sizes
    rows = np.concatenate([[0], np.cumsum(row_len)]).astype(np.int64)
    return {"input_ids": (packed.ids, rows), "labels": (labels, rows), "position_ids": (position_ids, rows),
            "length": row_len}
