"""Number formatting shared by every report: one unit system, *points* (0-100).

A metric on the 0-1 scale (accuracy, exact match, F1, ROUGE) is shown ×100; a metric whose
:class:`~tunegate.metrics.Metric` record says ``scale=100`` (BLEU, chrF) is already in points and is
shown as it is. Every function takes the metric's name so the scale follows the metric; an unknown
name (a plugin metric that is not registered, ``pass@1``) is taken to be on the 0-1 scale.
"""

from __future__ import annotations

import math
from functools import lru_cache

from tunegate._units import NATIVE_UNITS

__all__ = [
    "ci_label",
    "fmt_ci",
    "fmt_delta",
    "fmt_empty",
    "fmt_p",
    "fmt_points",
    "fmt_score",
    "metric_scale",
    "points",
]


@lru_cache(maxsize=256)
def metric_scale(metric: str | None) -> float:
    """The best possible score of ``metric``: 1.0, or 100.0 for the sacrebleu metrics."""
    if not metric:
        return 1.0
    if metric in NATIVE_UNITS:
        return 100.0  # shown as it is
    from tunegate.metrics import METRICS

    return float(METRICS.get(metric).scale) if metric in METRICS else 1.0


def points(x: float, metric: str | None = None) -> float:
    """``x`` (in the metric's own units) in points, 0-100."""
    return x * 100.0 / metric_scale(metric)


def fmt_score(x: float, metric: str | None = None) -> str:
    return f"{points(x, metric):.1f}"


def fmt_delta(x: float, metric: str | None = None) -> str:
    return f"{points(x, metric):+.1f}"


def fmt_ci(lo: float, hi: float, metric: str | None = None) -> str:
    return f"[{points(lo, metric):+.1f}, {points(hi, metric):+.1f}]"


def fmt_points(x: float, metric: str | None = None) -> str:
    """A tolerance or effect size in points, without a sign and without trailing zeros (2, 1.5)."""
    v = points(x, metric)
    return f"{v:.2f}".rstrip("0").rstrip(".") if math.isfinite(v) else str(v)


def fmt_p(p: float | None) -> str:
    if p is None:
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def fmt_empty(text: str | None) -> str:
    """A model output or reference for display: ``(empty)`` when blank, ``–`` when not recorded."""
    if text is None:
        return "–"
    return text if text.strip() else "(empty)"


def ci_label(alpha: float) -> str:
    """The interval's name at level ``1 - alpha``: "95% CI" for the default alpha 0.05."""
    return f"{100 * (1 - alpha):g}% CI"
