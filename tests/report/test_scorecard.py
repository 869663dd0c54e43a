"""The scorecard: fixed dimension order, "not run" rather than zeros, mean of several tasks."""

from __future__ import annotations

import dataclasses

import pytest

from tests.report.conftest import make_result
from tunegate.report import DIMENSIONS, scorecard
from tunegate.runner import ComparisonResult


def test_one_row_per_dimension_in_order(result: ComparisonResult) -> None:
    rows = scorecard(result)
    assert [r.dimension for r in rows] == [d for d, _ in DIMENSIONS]
    assert [r.dimension for r in rows] == ["task", "retention", "safety", "preference", "regression"]


def test_dimensions_without_tasks_are_not_run_never_zero(result: ComparisonResult) -> None:
    by = {r.dimension: r for r in scorecard(result)}
    for dim in ("safety", "preference", "regression"):
        row = by[dim]
        assert row.status == "not run"
        assert (row.base, row.tuned, row.delta, row.ci_low, row.ci_high, row.n) == (None,) * 6
        assert row.tasks == () and row.gate is None


def test_single_task_row_is_its_primary_metric(result: ComparisonResult) -> None:
    by = {r.dimension: r for r in scorecard(result)}
    task, ret = by["task"], by["retention"]
    assert task.status == "ok" and task.metric == "triviaqa/exact_match"
    assert (task.base, task.tuned, task.ci_low, task.ci_high, task.n) == (0.30, 0.45, 0.05, 0.25, 20)
    assert task.delta == pytest.approx(0.15)
    assert task.gate == "pass"
    # the worst gate of the dimension's tasks: hellaswag has a fail and an inconclusive gate
    assert ret.metric == "hellaswag/acc_norm" and ret.gate == "fail"
    assert ret.delta == pytest.approx(-0.10)


def test_several_tasks_average_primary_deltas() -> None:
    r = make_result()
    hs = r.tasks[1]
    second = dataclasses.replace(
        hs,
        task="arc",
        metrics=tuple(
            dataclasses.replace(m, base=0.7, tuned=0.7, delta=0.0, ci_low=-0.04, ci_high=0.04)
            for m in hs.metrics
        ),
    )
    r = dataclasses.replace(r, tasks=(*r.tasks, second))
    row = next(x for x in scorecard(r) if x.dimension == "retention")
    assert row.tasks == ("hellaswag", "arc") and row.metric == "mean of 2 tasks"
    assert row.base == pytest.approx(0.6) and row.tuned == pytest.approx(0.55)
    assert row.delta == pytest.approx(-0.05)
    assert row.n == 40
    assert row.ci_low < row.delta < row.ci_high  # type: ignore[operator]


def test_empty_result_is_all_not_run() -> None:
    r = dataclasses.replace(make_result(), tasks=(), gates=())
    assert {x.status for x in scorecard(r)} == {"not run"}
