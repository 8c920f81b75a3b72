"""MinHash signatures, LSH banding and duplicate clusters, vectorised with numpy.

Signatures are one-permutation MinHash (Li, Owen & Zhang 2012) with optimal densification
(Shrivastava 2017): every shingle hash is mixed once, its top bits pick one of ``num_perm``
slots and the slot keeps the smallest value; a slot that no shingle reached borrows the value of
a slot chosen by a fixed probe sequence. The fraction of equal slots of two signatures estimates
the Jaccard similarity of the two shingle sets, as with ``num_perm`` independent permutations,
for one hash per shingle instead of ``num_perm`` (measured against datasketch in
``bench/bench_build.py`` and ``docs/quality.md``).

LSH splits a signature into ``bands`` bands of ``rows`` slots; records whose band agrees (and
whose group agrees: the bucket a step compares within) are candidates. Candidates are checked
against the estimated Jaccard similarity, and accepted pairs are joined into clusters. Nodes are
numbered in preference order, so the smallest node of a cluster is the one to keep.
"""
from __future__ import annotations

import functools

import numpy as np

from .text import U64, mix

EMPTY = np.uint32(0xFFFFFFFF)


def signatures(h: np.ndarray, text: np.ndarray, n_texts: int, num_perm: int = 128, seed: int = 1) -> np.ndarray:
    """(n_texts, num_perm) uint32 signatures from shingle hashes ``h`` of texts ``text``. A text
    without any shingle has an all-EMPTY row."""
    sig = np.full(n_texts * num_perm, EMPTY, dtype=np.uint32)
    if len(h):
        x = mix(h ^ U64((seed * 0x9E3779B97F4A7C15) % 2**64))
        slot = ((x >> U64(32)) * U64(num_perm)) >> U64(32)
        val = (x & U64(0xFFFFFFFE)).astype(np.uint32)  # never EMPTY
        np.minimum.at(sig, text * num_perm + slot.astype(np.int64), val)
    sig = sig.reshape(n_texts, num_perm)
    _densify(sig, seed)
    return sig


@functools.lru_cache(maxsize=8)
def _probes(k: int, seed: int, attempts: int) -> np.ndarray:
    """probe[a, j]: the slot an empty slot ``j`` looks at on attempt ``a`` (same for every record)."""
    a = np.arange(1, attempts + 1, dtype=np.uint64)[:, None]
    j = np.arange(k, dtype=np.uint64)[None, :]
    return (mix(j * U64(0xD6E8FEB86659FD93) + a * U64(0x9E3779B97F4A7C15) + U64(seed)) % U64(k)).astype(np.int64)


@functools.lru_cache(maxsize=8)
def _first_attempt(k: int, seed: int) -> np.ndarray:
    """first[j, t]: the first attempt on which slot j probes slot t (ranks after every probed
    attempt, in a fixed order, for slots the probe sequence never reaches)."""
    attempts = 16 * k
    probe = _probes(k, seed, attempts)
    first = np.full((k, k), attempts + 1, dtype=np.int64) + (np.arange(k)[None, :] - np.arange(k)[:, None]) % k
    a_idx = np.broadcast_to(np.arange(1, attempts + 1)[:, None], probe.shape)
    j_idx = np.broadcast_to(np.arange(k)[None, :], probe.shape)
    np.minimum.at(first, (j_idx.ravel(), probe.ravel()), a_idx.ravel())
    return first


def _densify(sig: np.ndarray, seed: int, rounds: int = 12, chunk: int = 1 << 22) -> None:
    """Fill empty slots in place by optimal densification: an empty slot takes the value of the
    first non-empty slot of its probe sequence. The first ``rounds`` probes are tried for all
    slots; what is still empty is resolved from the table of first attempts."""
    empty = sig == EMPTY
    some = ~empty.all(axis=1)
    rows, cols = np.nonzero(empty & some[:, None])
    if not len(rows):
        return
    n, k = sig.shape
    orig = sig.copy()
    flat = orig.ravel()
    probe = _probes(k, seed, rounds)
    for attempt in range(rounds):
        v = flat[rows * k + probe[attempt][cols]]
        ok = v != EMPTY
        sig[rows[ok], cols[ok]] = v[ok]
        rows, cols = rows[~ok], cols[~ok]
        if not len(rows):
            return
    first = _first_attempt(k, seed)
    nz_r, nz_t = np.nonzero(orig != EMPTY)  # non-empty slots, grouped by row
    cnt = np.bincount(nz_r, minlength=n)
    start = np.cumsum(cnt) - cnt
    per = cnt[rows]
    i = 0
    while i < len(rows):  # chunks of entries, so the (entry x non-empty slot) table stays bounded
        csum = np.cumsum(per[i:])
        j = i + max(1, int(np.searchsorted(csum, chunk, side="right")))
        r, c, m = rows[i:j], cols[i:j], per[i:j]
        seg = np.repeat(np.arange(len(r)), m)
        off = np.arange(int(m.sum())) - np.repeat(np.cumsum(m) - m, m)
        t = nz_t[np.repeat(start[r], m) + off]
        key = first[np.repeat(c, m), t] * k + t
        best = np.minimum.reduceat(key, np.cumsum(m) - m) % k
        sig[r, c] = orig[r, best]
        i = j


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
            fp = area(lambda s: 1 - (1 - s ** r) ** b, 0.0, threshold)
            fn = area(lambda s: 1 - (1 - (1 - s ** r) ** b), threshold, 1.0)
            err = fp_weight * fp + fn_weight * fn
            if err < best_err - 1e-12:
                best, best_err = (b, r), err
    return best


def band_keys(sig: np.ndarray, group: np.ndarray, band: int, rows: int) -> np.ndarray:
    cols = sig[:, band * rows:(band + 1) * rows].astype(np.uint64)
    k = mix(group.astype(np.uint64) * U64(0x9E3779B97F4A7C15) + U64(band))
    for c in range(rows):
        k = mix(k ^ (cols[:, c] * U64(0xC2B2AE3D27D4EB4F) + U64(c)))
    return k


def candidate_edges(sig: np.ndarray, group: np.ndarray, bands: int, rows: int, usable: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (u < v) of nodes that share a band in the same group. Within one bucket each node is
    paired with the bucket's first node and with the node before it (linear in the bucket size)."""
    n = len(sig)
    idx = np.arange(n) if usable is None else np.flatnonzero(usable)
    us, vs = [], []
    if len(idx) < 2:
        z = np.zeros(0, dtype=np.int64)
        return z, z
    sub, g = sig[idx], group[idx]
    for b in range(bands):
        key = band_keys(sub, g, b, rows)
        order = np.argsort(key, kind="stable")
        ks = key[order]
        same = ks[1:] == ks[:-1]
        if not same.any():
            continue
        pos = np.arange(len(ks))
        run_start = np.maximum.accumulate(np.where(np.concatenate(([True], ~same)), pos, 0))
        p = np.flatnonzero(np.concatenate(([False], same)))
        first = idx[order[run_start[p]]]
        prev = idx[order[p - 1]]
        cur = idx[order[p]]
        us.extend((first, prev))
        vs.extend((cur, cur))
    if not us:
        z = np.zeros(0, dtype=np.int64)
        return z, z
    u, v = np.concatenate(us), np.concatenate(vs)
    pair = np.unique(u.astype(np.int64) * n + v)
    return pair // n, pair % n


def similarity(sig: np.ndarray, u: np.ndarray, v: np.ndarray, batch: int = 1 << 17) -> np.ndarray:
    """Estimated Jaccard similarity of node pairs (fraction of equal signature slots)."""
    out = np.empty(len(u), dtype=np.float64)
    for i in range(0, len(u), batch):
        out[i:i + batch] = (sig[u[i:i + batch]] == sig[v[i:i + batch]]).mean(axis=1)
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
