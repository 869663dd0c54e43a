"""Checkpoints over training steps: ``tunegate history --checkpoints``.

A checkpoint run is a stored run that records a training ``step`` (``runs.step``) and, usually, the
``training`` it belongs to (``runs.training``): a ``compare`` run of a checkpoint against its base
(``CompareConfig(step=..., training=...)``, the ``CompareCallback``), or a ``regress`` run of the
``TunegateCallback`` and ``tunegate watch``. :func:`checkpoint_runs` finds one training's runs;
:func:`checkpoint_table` turns them into rows, in step order: per task the primary metric's paired
delta against base with its interval, the drift (the ``gold_logprob`` delta where the task reports
it), and the verdict; for ``regress`` runs the pass rate. :func:`turning_points` says when the
target task peaked and when retention first failed: when the run started to overfit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tunegate.errors import StoreError
from tunegate.report._format import fmt_ci, fmt_delta
from tunegate.runner import ComparisonResult
from tunegate.store import RunRecord, Store

__all__ = [
    "CheckpointRow",
    "CheckpointTable",
    "checkpoint_name",
    "checkpoint_runs",
    "checkpoint_table",
    "turning_points",
]

DRIFT_METRIC = "gold_logprob"
_SEVERITY = {"pass": 0, "inconclusive": 1, "fail": 2}


def checkpoint_name(spec: str) -> str:
    """The part of a model spec that names a checkpoint: the adapter folder, else the last path part."""
    head, _, query = spec.partition("?")
    adapter = next((q.split("=", 1)[1] for q in query.split("&") if q.startswith("adapter=")), None)
    return (adapter or head).rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1] or spec


def checkpoint_runs(store: Store, run: str | None = None, *, suite: str | None = None) -> list[RunRecord]:
    """The checkpoint runs of one training, in step order.

    ``run``: a training id (``runs.training``), or a run id (or unique prefix): a checkpoint run stands
    for its whole training, any other run for the runs attached to it (``parent_id``). Without it: the
    training of the newest checkpoint run (of ``suite``, when given). Raises StoreError when nothing
    matches.
    """
    limit = 100_000
    if run is None:
        newest = store.list_runs(suite=suite, limit=1, checkpoints=True)
        if not newest:
            raise StoreError(
                f"no checkpoint runs in {store.url}"
                + (f" for suite {suite!r}" if suite else "")
                + " (runs record a training step when the Trainer callbacks or `tunegate watch` make them)"
            )
        return checkpoint_runs(store, newest[0].training or newest[0].id, suite=suite)
    runs = store.list_runs(suite=suite, limit=limit, training=run, checkpoints=True)
    if not runs:
        try:
            rec = store.get_run(run)
        except StoreError:
            raise StoreError(
                f"no training or run {run!r} in {store.url}; "
                "`tunegate history --checkpoints` shows the newest training"
            ) from None
        if rec.training is not None:
            runs = store.list_runs(suite=suite, limit=limit, training=rec.training, checkpoints=True)
        else:
            runs = [r for r in store.list_runs(suite=suite, limit=limit, parent=rec.id) if r.step is not None]
            runs += [rec] if rec.step is not None else []
        if not runs:
            raise StoreError(f"run {rec.id} has no checkpoint runs (none records a training step)")
    return sorted(runs, key=lambda r: (r.step if r.step is not None else -1, r.started_at))


@dataclass(frozen=True)
class Cell:
    """One delta with its interval, in metric units (shown in points)."""

    metric: str
    delta: float
    ci_low: float
    ci_high: float
    outcome: str | None = None  # worst gate outcome on this task's primary metric

    def text(self) -> str:
        return f"{fmt_delta(self.delta, self.metric)} {fmt_ci(self.ci_low, self.ci_high, self.metric)}"


@dataclass(frozen=True)
class CheckpointRow:
    """One checkpoint: its step, name, run, verdict and, per task, its deltas against base."""

    step: int | None
    checkpoint: str
    run_id: str
    status: str
    verdict: str | None
    kind: str
    deltas: dict[str, Cell] = field(default_factory=dict)  # task -> primary metric's delta
    drift: dict[str, Cell] = field(default_factory=dict)  # task -> gold_logprob delta
    dimensions: dict[str, str] = field(default_factory=dict)  # task -> dimension
    pass_rate: float | None = None  # regress runs
    reference_pass_rate: float | None = None  # regress runs with a reference (base)
    failed: int | None = None


@dataclass(frozen=True)
class CheckpointTable:
    """One training's checkpoints of one suite and kind."""

    training: str | None
    suite: str
    kind: str
    tasks: tuple[str, ...]  # in suite order; the delta columns
    drift_tasks: tuple[str, ...]  # tasks that report gold_logprob
    rows: tuple[CheckpointRow, ...]


def _compare_row(run: RunRecord, base_row: CheckpointRow) -> CheckpointRow:
    assert run.result is not None
    result = ComparisonResult.from_json(run.result)
    deltas: dict[str, Cell] = {}
    drift: dict[str, Cell] = {}
    dims: dict[str, str] = {}
    for tc in result.tasks:
        m = tc.metric(tc.primary)
        outs: list[str] = [g.outcome for g in result.gates if g.task == tc.task]
        worst = max(outs, key=lambda o: _SEVERITY[o]) if outs else None
        deltas[tc.task] = Cell(m.metric, m.delta, m.ci_low, m.ci_high, worst)
        dims[tc.task] = tc.dimension
        d = next((x for x in tc.metrics if x.metric == DRIFT_METRIC), None)
        if d is not None:
            drift[tc.task] = Cell(d.metric, d.delta, d.ci_low, d.ci_high)
    return CheckpointRow(
        **{
            **base_row.__dict__,
            "deltas": deltas,
            "drift": drift,
            "dimensions": dims,
            "verdict": result.verdict,
        }
    )


def _regress_row(run: RunRecord, base_row: CheckpointRow) -> CheckpointRow:
    from tunegate.regression._record import RegressReport

    assert run.result is not None
    rep = RegressReport.from_json(run.result)
    ref = [c.reference for c in rep.cases if c.reference is not None]
    ref_rate = sum(r in ("passed", "flaky") for r in ref) / len(ref) if ref else None
    verdict = "FAIL" if rep.summary.failed else "PASS"
    return CheckpointRow(
        **{
            **base_row.__dict__,
            "pass_rate": rep.summary.pass_rate,
            "reference_pass_rate": ref_rate,
            "failed": rep.summary.failed,
            "verdict": verdict,
        }
    )


def checkpoint_table(runs: Sequence[RunRecord]) -> list[CheckpointTable]:
    """``runs`` (one training's, as :func:`checkpoint_runs` returns them) as one table per suite and kind."""
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for r in runs:
        groups.setdefault((r.kind, r.suite), []).append(r)
    tables = []
    for (kind, suite), mine in groups.items():
        rows = []
        for r in mine:
            spec = r.roles.get("tuned") or r.roles.get("model") or next(iter(r.roles.values()), "")
            row = CheckpointRow(
                step=r.step,
                checkpoint=checkpoint_name(str(r.config.get("checkpoint") or spec)),
                run_id=r.id,
                status=r.status,
                verdict=None,
                kind=kind,
            )
            if r.status == "completed" and r.result is not None:
                row = (
                    _compare_row(r, row)
                    if kind == "compare"
                    else _regress_row(r, row)
                    if kind == "regress"
                    else row
                )
            rows.append(row)
        tasks = tuple(dict.fromkeys(t for row in rows for t in row.deltas))
        drift = tuple(dict.fromkeys(t for row in rows for t in row.drift))
        training = next((r.training for r in mine if r.training), None)
        tables.append(CheckpointTable(training, suite, kind, tasks, drift, tuple(rows)))
    return tables


def turning_points(table: CheckpointTable) -> list[str]:
    """When the target task peaked and when retention first failed (or drifted most), in words."""
    out: list[str] = []
    rows = [r for r in table.rows if r.deltas and r.step is not None]
    target = [t for t in table.tasks if any(r.dimensions.get(t) == "task" for r in rows)]
    for t in target:
        have = [r for r in rows if t in r.deltas]
        if len(have) > 1:
            best = max(have, key=lambda r: r.deltas[t].delta)
            last = have[-1]
            line = f"{t}: best at step {best.step} ({best.deltas[t].text()})"
            if best is not last:
                since = last.deltas[t].delta - best.deltas[t].delta
                line += f"; then {fmt_delta(since, last.deltas[t].metric)} points by step {last.step}"
            out.append(line)
    for t in table.tasks:
        if t in target:
            continue
        failed = next((r for r in rows if r.deltas.get(t) and r.deltas[t].outcome == "fail"), None)
        if failed is not None:
            out.append(f"{t}: retention gate first failed at step {failed.step} ({failed.deltas[t].text()})")
    regress = [r for r in table.rows if r.pass_rate is not None and r.step is not None]
    first_fail = next((r for r in regress if r.failed), None)
    if first_fail is not None:
        out.append(
            f"first failing case at step {first_fail.step} "
            f"(pass rate {100 * (first_fail.pass_rate or 0):.0f}%)"
        )
    return out
