"""Evaluate one model alone on a suite: per-task scores with their own CIs (no gates).

Each score's interval is ``stats.score_interval`` at the suite's ``alpha``: Wilson for 0/1 metrics,
a t interval on the (cluster-robust) standard error otherwise.
"""

from __future__ import annotations

from typing import Any

from tunegate.engine import Engine, NullProgress, Progress
from tunegate.models import Model
from tunegate.runner._evaluate import evaluate_task
from tunegate.stats import score_interval
from tunegate.store import Store
from tunegate.suite import SuiteSpec, build_task, suite_hash

__all__ = ["run_model"]


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
    engine = Engine(model, store, batch_size=batch_size, progress=progress, label="model")
    rows: list[tuple[str, str, str, str, float, str | None]] = []
    summary: list[dict[str, Any]] = []
    status = "failed"
    try:
        with progress:
            for entry in suite.tasks:
                if limit is not None:
                    entry = entry.model_copy(update={"limit": min(limit, entry.limit or limit)})
                task = build_task(entry)
                scores = evaluate_task(engine, entry.label, task, task.docs())
                for item, sc in scores.items.items():
                    rows.extend(("model", entry.label, item, m, v, sc.output) for m, v in sc.values.items())
                for m in task.metrics:
                    vals = [sc.values[m.name] for sc in scores.items.values()]
                    labels = [sc.cluster for sc in scores.items.values()]
                    mean, lo, hi = score_interval(
                        vals,
                        clusters=labels if any(c is not None for c in labels) else None,
                        alpha=suite.alpha,
                        binary=m.binary,
                    )
                    summary.append(
                        {
                            "task": entry.label,
                            "metric": m.name,
                            "n": len(vals),
                            "mean": mean,
                            "ci_low": lo,
                            "ci_high": hi,
                            "alpha": suite.alpha,
                        }
                    )
        store.put_scores(run_id, rows)
        status = "completed"
    finally:
        store.finish_run(
            run_id,
            status=status,
            result={"tasks": summary} if status == "completed" else None,
            n_computed=engine.stats.computed,
            n_cached=engine.stats.cached,
        )
    return {"run_id": run_id, "model": str(model.spec), "fingerprint": model.fingerprint, "tasks": summary}
