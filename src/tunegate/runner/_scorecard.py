"""The scorecard, computed once by the runner and stored in the result: one row per dimension.

Each row is built from the *primary* metric of every task of that dimension. With one task the row is
that task's paired estimate, unchanged. With several tasks the row is the unweighted mean over tasks
of base, tuned and delta, with the standard error of ``stats.mean_of_deltas`` (from each task's exact
SE, never from a CI width). A dimension no task evaluated has status ``"not run"`` and no numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

from tunegate.runner._result import GateResult, ScorecardRow, TaskComparison
from tunegate.stats._combine import mean_of_deltas

__all__ = ["DIMENSIONS", "build_scorecard"]

#: (dimension key, label), in scorecard order
DIMENSIONS: tuple[tuple[str, str], ...] = (
    ("task", "task metrics"),
    ("retention", "capability retention"),
    ("safety", "safety"),
    ("preference", "human preference"),
    ("regression", "regression suite"),
)
_SEVERITY = {"pass": 0, "inconclusive": 1, "fail": 2}


def _se(tc: TaskComparison, alpha: float) -> float:
    m = tc.metric(tc.primary)
    if m.se is not None:
        return m.se
    # results written before exact SEs were kept: the only information left is the interval
    from scipy.special import ndtri

    return (m.ci_high - m.ci_low) / (2.0 * float(ndtri(1.0 - m.alpha / 2.0)))


def build_scorecard(
    tasks: Sequence[TaskComparison], gates: Sequence[GateResult], *, alpha: float = 0.05
) -> tuple[ScorecardRow, ...]:
    """One row per dimension, in :data:`DIMENSIONS` order (unknown dimensions follow, alphabetically)."""
    known = [d for d, _ in DIMENSIONS]
    extra = sorted({tc.dimension for tc in tasks} - set(known))
    labels = dict(DIMENSIONS) | {d: d for d in extra}
    rows = []
    for dim in known + extra:
        mine = [tc for tc in tasks if tc.dimension == dim]
        if not mine:
            rows.append(ScorecardRow(dim, labels[dim], "not run"))
            continue
        names = tuple(tc.task for tc in mine)
        outcomes: list[str] = [g.outcome for g in gates if g.task in names]
        gate = max(outcomes, key=lambda o: _SEVERITY[o]) if outcomes else None
        ms = [tc.metric(tc.primary) for tc in mine]
        if len(ms) == 1:
            m = ms[0]
            base, tuned, delta, lo, hi, se = m.base, m.tuned, m.delta, m.ci_low, m.ci_high, m.se
            metric = f"{mine[0].task}/{mine[0].primary}"
        else:
            k = len(ms)
            delta, se, lo, hi = mean_of_deltas(
                [m.delta for m in ms], [_se(tc, alpha) for tc in mine], alpha=alpha
            )
            base, tuned = sum(m.base for m in ms) / k, sum(m.tuned for m in ms) / k
            metric = f"mean of {k} tasks"
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
                n=sum(m.n for m in ms),
                gate=gate,
                se=se,
            )
        )
    return tuple(rows)
