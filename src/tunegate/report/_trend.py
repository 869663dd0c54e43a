"""The runs a trend chart may show: earlier completed comparisons of the same suite and the same base.

Runs are comparable only when they ran the same suite definition (the stored ``suite_hash``, not just
the suite's name, which unrelated suites may share) against the same base model (its content
fingerprint when both runs recorded one, else its spec). Each point keeps its start time so the chart
can label it with the tuned model and the date.

A run that is a checkpoint of a training (``runs.step`` and ``runs.training``) is charted with the
other checkpoints of that training instead, in step order, against the training step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tunegate.runner import ComparisonResult
from tunegate.store import RunRecord, Store

__all__ = ["TrendPoint", "as_trend_point", "by_step", "same_base", "trend_history"]


@dataclass(frozen=True)
class TrendPoint:
    """One run on the trend chart."""

    result: ComparisonResult
    started: datetime | None = None
    step: int | None = None  # training step, for a checkpoint run
    training: str | None = None


def by_step(points: list[TrendPoint]) -> bool:
    """Whether the points are checkpoints of one training, each with its step (chart them by step)."""
    return (
        len(points) > 1
        and all(p.step is not None for p in points)
        and len({p.training for p in points}) == 1
        and points[0].training is not None
    )


def same_base(a: ComparisonResult, b: ComparisonResult) -> bool:
    """Whether two comparisons used the same base model."""
    fa, fb = a.base.get("fingerprint"), b.base.get("fingerprint")
    if fa and fb:
        return bool(fa == fb)
    return bool(a.base.get("spec") == b.base.get("spec"))


def as_trend_point(item: TrendPoint | ComparisonResult | RunRecord | Mapping[str, Any]) -> TrendPoint:
    """Accept a point, a result, its JSON (``to_json()``) or a stored run (``Store.list_runs``)."""
    if isinstance(item, TrendPoint):
        return item
    if isinstance(item, ComparisonResult):
        return TrendPoint(item)
    if isinstance(item, RunRecord):
        assert item.result is not None
        return TrendPoint(
            ComparisonResult.from_json(item.result), item.started_at, step=item.step, training=item.training
        )
    return TrendPoint(ComparisonResult.from_json(item))


def trend_history(store: Store, result: ComparisonResult, *, limit: int = 20) -> list[TrendPoint]:
    """Up to ``limit`` earlier comparable runs of ``result`` from ``store``, oldest first, then ``result``.

    For a checkpoint run: the other checkpoints of its training (up to ``limit``, in step order)."""
    current = store.get_run(result.run_id)
    if current.training is not None and current.step is not None:
        return _checkpoint_history(store, result, current, limit)
    rows = store.list_runs(suite=result.suite, limit=max(100, 5 * limit), kind="compare")
    points = []
    for row in rows:  # newest first
        if (
            row.id == result.run_id
            or row.status != "completed"
            or not isinstance(row.result, Mapping)
            or current is None
            or row.suite_hash != current.suite_hash
        ):
            continue
        point = as_trend_point(row)
        if same_base(point.result, result):
            points.append(point)
        if len(points) == limit:
            break
    now = TrendPoint(result, current.started_at if current is not None else None)
    return [*reversed(points), now]


def _checkpoint_history(
    store: Store, result: ComparisonResult, current: RunRecord, limit: int
) -> list[TrendPoint]:
    rows = store.list_runs(suite=result.suite, limit=100_000, kind="compare", training=current.training)
    points = [
        as_trend_point(r)
        for r in rows
        if r.id != result.run_id
        and r.status == "completed"
        and r.step is not None
        and isinstance(r.result, Mapping)
        and r.suite_hash == current.suite_hash
    ]
    points = [p for p in points if same_base(p.result, result)]
    now = TrendPoint(result, current.started_at, step=current.step, training=current.training)
    ordered = sorted([*points, now], key=lambda p: (p.step or 0, p.started or current.started_at))
    if len(ordered) > limit + 1:  # keep the current one and its nearest steps
        at = ordered.index(now)
        lo = max(0, min(at - limit // 2, len(ordered) - limit - 1))
        ordered = ordered[lo : lo + limit + 1]
    return ordered
