"""The runs a trend chart may show: earlier completed comparisons of the same suite and the same base.

Runs are comparable only when they ran the same suite definition (the stored ``suite_hash``, not just
the suite's name, which unrelated suites may share) against the same base model (its content
fingerprint when both runs recorded one, else its spec). Each point keeps its start time so the chart
can label it with the tuned model and the date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tunegate.runner import ComparisonResult
from tunegate.store import RunRecord, Store

__all__ = ["TrendPoint", "as_trend_point", "same_base", "trend_history"]


@dataclass(frozen=True)
class TrendPoint:
    """One run on the trend chart."""

    result: ComparisonResult
    started: datetime | None = None


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
        return TrendPoint(ComparisonResult.from_json(item.result), item.started_at)
    return TrendPoint(ComparisonResult.from_json(item))


def trend_history(store: Store, result: ComparisonResult, *, limit: int = 20) -> list[TrendPoint]:
    """Up to ``limit`` earlier comparable runs of ``result`` from ``store``, oldest first, then ``result``."""
    current = store.get_run(result.run_id)
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
