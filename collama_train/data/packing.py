"""Best-fit-decreasing packing of whole records into rows, and the efficiency figures
(docs/data-pipeline.md §5)."""
from __future__ import annotations

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


def pack_examples(examples: list[tuple[list[int], list[int]]], max_length: int) -> dict[str, list]:
    """Columns of the packed rows (input_ids, labels, position_ids, length)."""
    bins = pack_bfd([len(e[0]) for e in examples], max_length)
    cols: dict[str, list] = {"input_ids": [], "labels": [], "position_ids": [], "length": []}
    for b in bins:
        ids, labels, pos = [], [], []
        for i in b:
            e_ids, e_labels = examples[i][0], examples[i][1]
            ids += e_ids
            labels.append(IGNORE_INDEX)
            labels += e_labels[1:]
            pos += range(len(e_ids))
        cols["input_ids"].append(ids)
        cols["labels"].append(labels)
        cols["position_ids"].append(pos)
        cols["length"].append(len(ids))
    return cols
