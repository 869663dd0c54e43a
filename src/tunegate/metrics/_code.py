"""pass@k for code generation: the unbiased estimator of Chen et al. (2021), "Evaluating LLMs on Code"."""

from __future__ import annotations

__all__ = ["pass_at_k"]


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of ``k`` samples passes, given ``c`` of ``n`` samples passed.

    Computes ``1 - comb(n - c, k) / comb(n, k)`` in the paper's numerically stable product form;
    returns 1.0 when ``n - c < k`` (every k-subset holds a passing sample).
    """
    if n < 1 or k < 1:
        raise ValueError(f"pass@k needs n >= 1 and k >= 1, got n={n}, k={k}")
    if not 0 <= c <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n, got c={c}, n={n}")
    if k > n:
        raise ValueError(f"pass@k needs k <= n, got k={k} > n={n}")
    if n - c < k:
        return 1.0
    import numpy as np  # here, not at module level: listing the tasks (``tunegate --help``) stays light

    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))
