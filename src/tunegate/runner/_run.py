"""Evaluate one model alone on a suite: per-task scores with bootstrap CIs (no gates)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tunegate.engine import NullProgress, Progress, Roles
from tunegate.models import Model
from tunegate.runner._evaluate import evaluate_task
from tunegate.store import Store
from tunegate.suite import SuiteSpec, build_task, suite_hash

__all__ = ["run_model"]


def _mean_ci(values: list[float], n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    arr = np.asarray(values, dtype=float)
    idx = np.random.default_rng(seed).integers(0, len(arr), size=(n_boot, len(arr)))
    boots = arr[idx].mean(axis=1)
    return float(arr.mean()), float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975))


def run_model(
    suite: SuiteSpec,
    model_spec: str,
    store: Store,
    *,
    limit: int | None = None,
    batch_size: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run every task of ``suite`` on one model; store per-item scores; return a summary dict."""
    progress = progress or NullProgress()
    model = Model(model_spec)
    run_id = store.start_run(
        kind="run",
        suite=suite.name,
        suite_hash=suite_hash(suite),
        base=None,
        tuned=str(model.spec),
        config={"limit": limit, "suite": suite.model_dump(mode="json")},
    )
    roles = Roles(store, models={"target": model}, progress=progress, batch_size=batch_size)
    engine = roles.engine("target")
    rows: list[tuple[str, str, str, str, float, str | None]] = []
    summary: list[dict[str, Any]] = []
    status = "failed"
    try:
        with progress:
            for entry in suite.tasks:
                if limit is not None:
                    entry = entry.model_copy(update={"limit": min(limit, entry.limit or limit)})
                task = build_task(entry)
                scores = evaluate_task(engine, entry.label, task, task.docs(), roles)
                for item, sc in scores.items.items():
                    rows.extend(("model", entry.label, item, m, v, sc.output) for m, v in sc.values.items())
                for m in task.metrics:
                    vals = [sc.values[m.name] for sc in scores.items.values()]
                    mean, lo, hi = _mean_ci(vals)
                    summary.append(
                        {
                            "task": entry.label,
                            "metric": m.name,
                            "n": len(vals),
                            "mean": mean,
                            "ci_low": lo,
                            "ci_high": hi,
                        }
                    )
        store.put_scores(run_id, rows)
        status = "completed"
    finally:
        store.finish_run(
            run_id,
            status=status,
            result={"tasks": summary} if status == "completed" else None,
            n_computed=sum(e.stats.computed for e in roles.engines.values()),
            n_cached=sum(e.stats.cached for e in roles.engines.values()),
        )
    return {"run_id": run_id, "model": str(model.spec), "fingerprint": model.fingerprint, "tasks": summary}
