"""The scorecard: one headline row per dimension (task, retention, safety, preference, regression).

Each row is built from the *primary* metric of every task of that dimension. With one task the row is
that task's paired estimate, unchanged. With several tasks the row is the unweighted mean over tasks
of base, tuned and delta; its 95% CI is a normal approximation that treats the tasks as independent:
each task's standard error is recovered from its CI width (``(hi - lo) / (2 * 1.96)``) and
``se(mean) = sqrt(sum se_i²) / k``. A dimension no task evaluated has status ``"not run"`` and no
numbers (never zeros).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from tunegate.runner import ComparisonResult, TaskComparison

__all__ = ["DIMENSIONS", "ScorecardRow", "scorecard"]

#: (dimension key, label), in scorecard order
DIMENSIONS: tuple[tuple[str, str], ...] = (
    ("task", "task metrics"),
    ("retention", "capability retention"),
    ("safety", "safety"),
    ("preference", "human preference"),
    ("regression", "regression suite"),
)
_Z = 1.959963984540054  # two-sided 95% normal quantile
_SEVERITY = {"pass": 0, "inconclusive": 1, "fail": 2}


@dataclass(frozen=True)
class ScorecardRow:
    """The headline of one dimension; numbers are None when ``status == "not run"``."""

    dimension: str
    label: str
    status: Literal["ok", "not run"]
    tasks: tuple[str, ...] = ()
    metric: str | None = None  # "task/metric" for one task, "mean of k primary metrics" otherwise
    base: float | None = None
    tuned: float | None = None
    delta: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None  # paired items, summed over the tasks
    gate: str | None = None  # worst gate outcome of the dimension's tasks (None: no gates)


def _combine(tasks: list[TaskComparison]) -> tuple[float, float, float, float, float]:
    ms = [tc.metric(tc.primary) for tc in tasks]
    if len(ms) == 1:
        m = ms[0]
        return m.base, m.tuned, m.delta, m.ci_low, m.ci_high
    k = len(ms)
    delta = sum(m.delta for m in ms) / k
    se = math.sqrt(sum(((m.ci_high - m.ci_low) / (2 * _Z)) ** 2 for m in ms)) / k
    return sum(m.base for m in ms) / k, sum(m.tuned for m in ms) / k, delta, delta - _Z * se, delta + _Z * se


def scorecard(result: ComparisonResult) -> list[ScorecardRow]:
    """One row per dimension, in :data:`DIMENSIONS` order (unknown dimensions follow, alphabetically)."""
    known = [d for d, _ in DIMENSIONS]
    extra = sorted({tc.dimension for tc in result.tasks} - set(known))
    labels = dict(DIMENSIONS) | {d: d for d in extra}
    rows = []
    for dim in known + extra:
        tasks = [tc for tc in result.tasks if tc.dimension == dim]
        if not tasks:
            rows.append(ScorecardRow(dim, labels[dim], "not run"))
            continue
        names = tuple(tc.task for tc in tasks)
        outcomes: list[str] = [g.outcome for g in result.gates if g.task in names]
        gate = max(outcomes, key=lambda o: _SEVERITY[o]) if outcomes else None
        base, tuned, delta, lo, hi = _combine(tasks)
        metric = f"{tasks[0].task}/{tasks[0].primary}" if len(tasks) == 1 else f"mean of {len(tasks)} tasks"
        rows.append(
            ScorecardRow(
                dimension=dim,
                label=labels[dim],
                status="ok",
                tasks=names,
                metric=metric,
                base=base,
                tuned=tuned,
                delta=delta,
                ci_low=lo,
                ci_high=hi,
                n=sum(tc.metric(tc.primary).n for tc in tasks),
                gate=gate,
            )
        )
    return rows
