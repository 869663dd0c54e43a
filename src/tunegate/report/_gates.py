"""What every report says about a gate, in points: the estimate, the outcome, the next step.

The gate's own ``reason`` (written by the statistics, in the metric's units) is kept as a detail; the
sentences here use the tables' unit (points, 0-100, see :mod:`tunegate.report._format`), so one
sentence never mixes the two. Names (task, metric) are left to each renderer to escape.
"""

from __future__ import annotations

from dataclasses import dataclass

from tunegate._units import NATIVE_UNITS
from tunegate.report._format import fmt_ci, fmt_delta, fmt_points, fmt_score
from tunegate.runner import ComparisonResult, GateResult, MetricComparison

__all__ = ["GateView", "gate_views"]


@dataclass(frozen=True)
class GateView:
    """One gate, ready to print. Every text field holds numbers and fixed words only."""

    gate: GateResult
    metric: MetricComparison | None
    bound: str  # the suite's own words: "max_drop: 0.02"
    estimate: str  # "Δ -1.0 [-3.0, +1.0], n=200" (points)
    outcome_text: str  # "within the allowed drop of 2 points"
    detectable: str | None  # "a drop of 9.5 or more would be caught" (passing gates)
    items_needed: int | None  # inconclusive gates: paired items a rerun needs
    limit: int | None  # the run's --limit, if any

    @property
    def next_step(self) -> str | None:
        """The next step of an inconclusive gate, without the task name (``run 320 items (...)``)."""
        if self.gate.outcome != "inconclusive":
            return None
        need = self.items_needed
        if need is None:
            return "add items to the task or widen the tolerance"
        step = f"run {need} items (`limit: {need}`)"
        if self.limit is not None and need > self.limit:
            step += f" without `--limit {self.limit}`"
        return step


def _bound(g: GateResult) -> str:
    return f"{g.kind}: {g.threshold:g}"


def _estimate(g: GateResult, m: MetricComparison | None) -> str:
    if m is None:
        return "no paired estimate"
    if g.kind == "min_score":
        return f"tuned {fmt_score(m.tuned, m.metric)} (base {fmt_score(m.base, m.metric)}), n={m.n}"
    return f"Δ {fmt_delta(m.delta, m.metric)} {fmt_ci(m.ci_low, m.ci_high, m.metric)}, n={m.n}"


def _outcome(g: GateResult) -> str:
    t = fmt_points(g.threshold, g.metric)
    word = "rise" if g.kind == "max_rise" else "drop"
    unit = "nats" if g.metric in NATIVE_UNITS else "points"
    if g.kind in ("max_drop", "max_rise"):
        return {
            "pass": f"no {word} beyond the allowed {t} {unit}",
            "fail": f"a {word} beyond the allowed {t} {unit}",
            "inconclusive": f"too few items to tell whether it {word}s by more than {t} {unit}",
        }[g.outcome]
    if g.kind == "min_gain":
        gain = fmt_delta(g.threshold, g.metric)
        return {
            "pass": f"a gain above the required {gain} {unit}",
            "fail": f"no gain above the required {gain} {unit} shown",
            "inconclusive": f"too few items to tell whether it gains more than {gain} {unit}",
        }[g.outcome]
    need = fmt_score(g.threshold, g.metric)
    return {
        "pass": f"reaches the required score of {need}",
        "fail": f"below the required score of {need}",
        "inconclusive": f"cannot tell whether it reaches {need}",
    }[g.outcome]


def _detectable(g: GateResult) -> str | None:
    if g.detectable is None or g.kind == "min_score":
        return None
    if g.kind == "min_gain":
        return f"a gain of {fmt_delta(g.threshold + g.detectable, g.metric)} or more would be shown"
    word = "rise" if g.kind == "max_rise" else "drop"
    return f"a {word} of {fmt_points(g.threshold + g.detectable, g.metric)} or more would be caught"


def gate_views(result: ComparisonResult) -> list[GateView]:
    """Every gate of ``result``, in order, with its metric's paired estimate."""
    metrics = {(tc.task, m.metric): m for tc in result.tasks for m in tc.metrics}
    return [
        GateView(
            gate=g,
            metric=metrics.get((g.task, g.metric)),
            bound=_bound(g),
            estimate=_estimate(g, metrics.get((g.task, g.metric))),
            outcome_text=_outcome(g),
            detectable=_detectable(g),
            items_needed=g.items_needed,
            limit=result.limit,
        )
        for g in result.gates
    ]
