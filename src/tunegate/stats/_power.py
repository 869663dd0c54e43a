"""Power arithmetic for paired comparisons: minimum detectable effect, items needed, power.

All use the normal approximation to the mean per-item difference: its standard error is
``sd / sqrt(n)``, where ``sd`` is the standard deviation of the per-item differences (tuned - base).
"""

from __future__ import annotations

import math

from scipy.special import ndtr, ndtri  # scipy.stats costs ~1 s to import

__all__ = ["binary_sd", "detection_power", "items_needed", "minimum_detectable_effect"]

_MIN_ITEMS = 2


def _check_level(alpha: float, power: float | None = None) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if power is not None and not 0.0 < power < 1.0:
        raise ValueError(f"power must be in (0, 1), got {power}")


def _check_sd(sd: float) -> None:
    if not (math.isfinite(sd) and sd >= 0.0):
        raise ValueError(f"sd must be finite and >= 0, got {sd}")


def _z_alpha(alpha: float, one_sided: bool) -> float:
    return float(ndtri(1.0 - alpha if one_sided else 1.0 - alpha / 2.0))


def binary_sd(discordance: float, n: int) -> float:
    """SD of per-item differences of a 0/1 metric with discordance rate ``(b + c) / n``.

    Uses ``sqrt(p_d)`` (the conservative bound of ``sqrt(p_d - delta**2)``) with ``p_d`` floored at the
    rule-of-three bound ``3 / n``: seeing no (or very few) disagreements on ``n`` items is still
    consistent, at 95%, with a true disagreement rate of ``3 / n``.
    """
    if not 0.0 <= discordance <= 1.0:
        raise ValueError(f"discordance must be in [0, 1], got {discordance}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return math.sqrt(max(discordance, min(1.0, 3.0 / n)))


def minimum_detectable_effect(
    deltas_sd: float | None,
    n: int,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    one_sided: bool = True,
    binary_discordance: float | None = None,
) -> float:
    """Smallest true mean difference a test at level ``alpha`` detects with probability ``power``.

    ``MDE = (z_{1-alpha} + z_{power}) * sd / sqrt(n)`` (``z_{1-alpha/2}`` when two-sided). ``sd`` is
    ``deltas_sd``, or for a 0/1 metric ``binary_sd(binary_discordance, n)``, which takes precedence.
    ``deltas_sd == 0`` gives 0.0: a degenerate answer (no observed variation), not a guarantee.
    """
    _check_level(alpha, power)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if binary_discordance is not None:
        sd = binary_sd(binary_discordance, n)
    elif deltas_sd is None:
        raise ValueError("give deltas_sd or binary_discordance")
    else:
        _check_sd(deltas_sd)
        sd = deltas_sd
    return (_z_alpha(alpha, one_sided) + float(ndtri(power))) * sd / math.sqrt(n)


def items_needed(
    effect: float, sd: float, *, alpha: float = 0.05, power: float = 0.8, one_sided: bool = True
) -> int:
    """Items needed to detect a true mean difference of ``|effect|`` with ``power`` at level ``alpha``.

    ``n = ceil(((z_alpha + z_power) * sd / effect) ** 2)``, at least 2 (one item shows no variability).
    """
    _check_level(alpha, power)
    _check_sd(sd)
    if not (math.isfinite(effect) and effect != 0.0):
        raise ValueError(f"effect must be finite and non-zero, got {effect}")
    root = (_z_alpha(alpha, one_sided) + float(ndtri(power))) * sd / abs(effect)
    return max(_MIN_ITEMS, math.ceil(root * root - 1e-9))


def detection_power(
    effect: float, sd: float, n: int, *, alpha: float = 0.05, one_sided: bool = True
) -> float:
    """Probability that a level-``alpha`` test detects a true mean difference ``|effect|`` on ``n`` items."""
    _check_level(alpha)
    _check_sd(sd)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    size = abs(effect)
    if sd == 0.0:
        return 1.0 if size > 0.0 else alpha
    shift = size * math.sqrt(n) / sd
    z = _z_alpha(alpha, one_sided)
    p = float(ndtr(shift - z))
    if not one_sided:
        p += float(ndtr(-shift - z))
    return p
