"""MinHash signatures, LSH banding and duplicate clusters, vectorised with numpy.

Signatures are one-permutation MinHash (Li, Owen & Zhang 2012): every shingle hash is mixed
once, its top bits pick one of ``num_perm`` slots and the slot keeps the smallest value. Equal
non-empty slots over the slots non-empty in either signature estimate the Jaccard similarity of
the two shingle sets with the error of ``num_perm`` independent permutations, for one hash per
shingle instead of ``num_perm`` (tests/test_steps_minhash.py; timings in docs/quality.md). For
LSH the empty slots of short texts are filled by rotation densification (:func:`dense`).

LSH splits a signature into ``bands`` bands of ``rows`` slots; records whose band agrees (and
whose group agrees: the bucket a step compares within) are candidates. Candidates are checked
against the estimated Jaccard similarity, and accepted pairs are joined into clusters. Nodes are
numbered in preference order, so the smallest node of a cluster is the one to keep.
"""
from __future__ import annotations

import functools

import numpy as np

from .hashing import U64, mix

EMPTY = np.uint32(0xFFFFFFFF)


def signatures(h: np.ndarray, text: np.ndarray, n_texts: int, num_perm: int = 128, seed: int = 1) -> np.ndarray:
    """(n_texts, num_perm) uint32 one-permutation signatures from shingle hashes ``h`` of texts
    ``text``; a slot no shingle reached is EMPTY (a text without shingles: all EMPTY).
    :func:`similarity` reads them as they are; :func:`dense` fills the empty slots for LSH."""
    sig = np.full(n_texts * num_perm, EMPTY, dtype=np.uint32)
    if len(h):
        x = mix(h ^ U64((seed * 0x9E3779B97F4A7C15) % 2**64))
        slot = ((x >> U64(32)) * U64(num_perm)) >> U64(32)
        val = (x & U64(0xFFFFFFFE)).astype(np.uint32)  # never EMPTY
        np.minimum.at(sig, text * num_perm + slot.astype(np.int64), val)
    return sig.reshape(n_texts, num_perm)


class SignatureFile:
    """(n, num_perm) uint32 signatures kept in a file instead of memory (512 bytes a record at 128
    slots): appended block by block, read back by row ranges (``sig[a:b]``) or rows
    (``sig[idx]``, :meth:`rows`). Reads are plain reads of the rows wanted, never a memory map:
    mapped pages would count as the build's memory."""

    #: rows read in one call when two wanted rows are at most this many rows apart (wasted reads
    #: stay below 1 KB a gap; a run of near rows is one call)
    GAP = 2

    def __init__(self, path, num_perm: int):
        self.path, self.num_perm, self.n = str(path), int(num_perm), 0
        open(self.path, "wb").close()

    def append(self, sig: np.ndarray) -> None:
        sig = np.ascontiguousarray(sig, dtype=np.uint32)
        assert sig.ndim == 2 and sig.shape[1] == self.num_perm, sig.shape
        with open(self.path, "ab") as f:
            f.write(memoryview(sig).cast("B"))
        self.n += len(sig)

    def __len__(self) -> int:
        return self.n

    @property
    def shape(self) -> tuple[int, int]:
        return self.n, self.num_perm

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, slice):
            a, b, step = key.indices(self.n)
            if step != 1:
                raise IndexError("signature rows: only contiguous slices")
            return self._read_runs(np.array([a]), np.array([max(a, b)]))
        return self.rows(np.asarray(key))

    def rows(self, idx: np.ndarray) -> np.ndarray:
        """The rows ``idx`` (any order, repeats allowed), read in file order."""
        idx = np.asarray(idx, dtype=np.int64)
        if not len(idx):
            return np.empty((0, self.num_perm), dtype=np.uint32)
        if idx.min() < 0 or idx.max() >= self.n:
            raise IndexError(f"signature row out of range 0..{self.n - 1}")
        uniq, inv = np.unique(idx, return_inverse=True)
        brk = np.flatnonzero(np.diff(uniq) > self.GAP + 1) + 1
        lo = uniq[np.concatenate(([0], brk))]
        hi = uniq[np.append(brk - 1, len(uniq) - 1)] + 1
        buf = self._read_runs(lo, hi)
        run = np.searchsorted(lo, uniq, side="right") - 1
        at = (np.cumsum(hi - lo) - (hi - lo))[run] + (uniq - lo[run])
        return buf[at[inv]]

    def _read_runs(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Rows [lo[k], hi[k]) of every run, one after another."""
        width = 4 * self.num_perm
        buf = np.empty((int((hi - lo).sum()), self.num_perm), dtype=np.uint32)
        if not buf.size:
            return buf
        view = memoryview(buf).cast("B")
        with open(self.path, "rb", buffering=0) as f:
            at = 0
            for a, b in zip(lo.tolist(), hi.tolist()):
                end = at + (b - a) * width
                f.seek(a * width)
                while at < end:  # a raw read may return less than asked
                    k = f.readinto(view[at:end])
                    if not k:
                        raise OSError(f"{self.path}: signature file shorter than its {self.n} rows")
                    at += k
        return buf


def dense(sig: np.ndarray) -> np.ndarray:
    """A copy of ``sig`` whose empty slots take the value of the next non-empty slot to the right
    (circularly) plus an offset per step (rotation densification, Shrivastava & Li 2014), so
    that LSH bands of sparse texts still agree when the texts do. (Rows with no shingle stay
    meaningless; they are never compared.)"""
    return np.ascontiguousarray(_dense_columns(np.ascontiguousarray(sig.T)).T)


def _dense_columns(t: np.ndarray) -> np.ndarray:
    """:func:`dense` of signatures given slot by slot (``t``: (num_perm, n), one row per slot),
    in the same layout (band hashing reads the slots as rows: no transposes)."""
    k, n = t.shape
    out = np.empty_like(t)
    step = np.uint32(0x9E3779B1)
    cur = np.full(n, EMPTY, dtype=np.uint32)
    for rnd in range(2):  # the first round around the circle only finds what wraps to the end
        for j in range(k - 1, -1, -1):
            col = t[j]
            cur = np.where(col != EMPTY, col, cur + step)
            if rnd:
                out[j] = cur
    return out


@functools.lru_cache(maxsize=64)
def optimal_bands(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) minimising the weighted false positive and false negative probability mass
    around ``threshold`` (the rule datasketch's MinHashLSH uses)."""
    xs = np.linspace(0.0, 1.0, 1001)

    def area(f, lo, hi):
        m = (xs >= lo) & (xs <= hi)
        x = xs[m]
        y = f(x)
        return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2) if len(x) > 1 else 0.0

    best, best_err = (1, num_perm), float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = area(lambda s, r=r, b=b: 1 - (1 - s ** r) ** b, 0.0, threshold)
            fn = area(lambda s, r=r, b=b: 1 - (1 - (1 - s ** r) ** b), threshold, 1.0)
            err = fp_weight * fp + fn_weight * fn
            if err < best_err - 1e-12:
                best, best_err = (b, r), err
    return best


def band_hashes(sig: np.ndarray, bands: int, rows: int, batch: int = 1 << 16) -> np.ndarray:
    """(n, bands) uint64: a hash of each LSH band of the densified signatures (:func:`dense`,
    computed ``batch`` rows at a time, so only the hashes stay: 8 bytes per band instead of
    ``4 * rows``). Two signatures share a band when these agree."""
    n = len(sig)
    out = np.empty((n, bands), dtype=np.uint64)
    for i in range(0, n, batch):
        d = _dense_columns(np.ascontiguousarray(sig[i:i + batch].T))  # slot by slot
        for b in range(bands):
            k = np.full(d.shape[1], mix(np.array([b], dtype=np.uint64))[0], dtype=np.uint64)
            for c in range(rows):
                k = mix(k ^ (d[b * rows + c].astype(np.uint64) * U64(0xC2B2AE3D27D4EB4F) + U64(c)))
            out[i:i + batch, b] = k
    return out


def band_keys(bh: np.ndarray, group: np.ndarray, band: int) -> np.ndarray:
    """LSH bucket key of ``band``: its band hash and the group (the bucket a step compares within)."""
    return _band_key(bh[:, band], group, band)


def _band_key(col: np.ndarray, group: np.ndarray, band: int) -> np.ndarray:
    return mix(col ^ mix(group.astype(np.uint64) * U64(0x9E3779B97F4A7C15) + U64(band)))


def candidate_edges(sig: np.ndarray, group: np.ndarray, bands: int, rows: int, usable: np.ndarray | None = None,
                    bh: np.ndarray | None = None, at: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (u < v) of nodes that share a band in the same group. Within one bucket each node is
    paired with the bucket's first node and with the node before it (linear in the bucket size).
    ``bh``: ``band_hashes(sig, bands, rows)`` when already computed (then ``sig`` is not read),
    of the same nodes, or with ``at`` of the rows ``at[node]`` (the corpus' band hashes indexed in
    place: one band of the nodes is copied at a time, not all of them)."""
    n = len(group)
    idx = np.arange(n) if usable is None else np.flatnonzero(usable)
    if len(idx) < 2:
        z = np.zeros(0, dtype=np.int64)
        return z, z
    if bh is None:
        sub, rows_of = band_hashes(sig[idx], bands, rows), slice(None)
    else:
        sub, rows_of = bh, (idx if at is None else at[idx])
    g = group[idx]
    pairs = np.zeros(0, dtype=np.int64)  # u * n + v of the pairs so far, sorted and unique
    for b in range(bands):
        key = _band_key(sub[rows_of, b], g, b)
        order = np.argsort(key, kind="stable")
        ks = key[order]
        same = ks[1:] == ks[:-1]
        del key
        if not same.any():
            continue
        pos = np.arange(len(ks))
        run_start = np.maximum.accumulate(np.where(np.concatenate(([True], ~same)), pos, 0))
        p = np.flatnonzero(np.concatenate(([False], same)))
        del pos, ks, same
        cur = idx[order[p]].astype(np.int64)
        first = idx[order[run_start[p]]].astype(np.int64) * n + cur
        prev = idx[order[p - 1]].astype(np.int64) * n + cur
        del cur, run_start, order, p
        # merged band by band: the pairs of all bands are never held at once before the unique
        pairs = np.unique(np.concatenate((pairs, first, prev)))
        del first, prev
    if not len(pairs):
        z = np.zeros(0, dtype=np.int64)
        return z, z
    return pairs // n, pairs % n


def similarity(sig: np.ndarray, u: np.ndarray, v: np.ndarray, batch: int = 1 << 14) -> np.ndarray:
    """Estimated Jaccard similarity of the pairs (rows ``u``, rows ``v``) of one-permutation
    signatures (not densified): equal non-empty slots over slots non-empty in either (Li, Owen &
    Zhang 2012). ``batch`` pairs at a time: their two signature rows and the comparisons, ~1.5 KB a
    pair, are the step's largest working set (16k pairs: ~25 MB). ``sig`` may be a
    :class:`SignatureFile`: each batch reads just its rows."""
    out = np.empty(len(u), dtype=np.float64)
    for i in range(0, len(u), batch):
        if isinstance(sig, np.ndarray):
            a, b = sig[u[i:i + batch]], sig[v[i:i + batch]]
        else:  # one read of the batch's rows, in file order
            both = sig.rows(np.concatenate((u[i:i + batch], v[i:i + batch])))
            a, b = both[:len(both) // 2], both[len(both) // 2:]
        eq = ((a == b) & (a != EMPTY)).sum(axis=1)
        used = ((a != EMPTY) | (b != EMPTY)).sum(axis=1)
        out[i:i + batch] = eq / np.maximum(used, 1)
    return out


def components(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """For each node the smallest node of its connected component (union of edges u-v)."""
    lab = np.arange(n)
    if not len(u):
        return lab
    while True:
        m = np.minimum(lab[u], lab[v])
        new = lab.copy()
        np.minimum.at(new, u, m)
        np.minimum.at(new, v, m)
        while True:  # pointer jumping
            nxt = new[new]
            if np.array_equal(nxt, new):
                break
            new = nxt
        if np.array_equal(new, lab):
            return lab
        lab = new
