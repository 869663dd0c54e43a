"""Evaluate one model alone on a suite: per-task scores with their own CIs (no gates).

Each score's interval is ``stats.score_interval`` at the suite's ``alpha``: Wilson for 0/1 metrics,
a t interval on the (cluster-robust) standard error otherwise.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tunegate.engine import NullProgress, Progress, Roles
from tunegate.models import Model
from tunegate.runner._evaluate import evaluate_task
from tunegate.runner._result import MetricScore, RunResult
from tunegate.runner._rows import item_rows
from tunegate.stats import corpus_statistic, paired_corpus_bootstrap, score_interval
from tunegate.store import ItemRow, Store
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
) -> RunResult:
    """Run every task of ``suite`` on one model; store per-item scores; return the scores with CIs."""
    progress = progress or NullProgress()
    model = Model(model_spec)
    summary: list[MetricScore] = []
    with store.run(
        "run",
        suite=suite.name,
        suite_hash=suite_hash(suite),
        roles={"model": str(model.spec)},
        config={"limit": limit, "suite": suite.model_dump(mode="json")},
    ) as run:
        roles = Roles(store, models={"target": model}, progress=progress, batch_size=batch_size)
        engine = roles.engine("target")
        run.counts = lambda: (
            sum(e.stats.computed for e in roles.engines.values()),
            sum(e.stats.cached for e in roles.engines.values()),
        )
        rows: list[ItemRow] = []
        with progress:
            for entry in suite.tasks:
                if limit is not None:
                    entry = entry.model_copy(update={"limit": min(limit, entry.limit or limit)})
                task = build_task(entry)
                docs = task.docs()
                scores = evaluate_task(engine, entry.label, task, docs, roles)
                rows += item_rows("model", entry.label, task, docs, scores.items, model.fingerprint)
                for m in task.metrics:
                    labels = [sc.cluster for sc in scores.items.values()]
                    if m.corpus is not None:
                        summary.append(_corpus_score(entry.label, m.corpus, scores, labels, suite.alpha))
                        continue
                    vals = [sc.values[m.name] for sc in scores.items.values()]
                    mean, lo, hi = score_interval(
                        vals,
                        clusters=labels if any(c is not None for c in labels) else None,
                        alpha=suite.alpha,
                        binary=m.binary,
                    )
                    summary.append(MetricScore(entry.label, m.name, len(vals), mean, lo, hi, suite.alpha))
        result = RunResult(
            run_id=run.id,
            suite=suite.name,
            model={"spec": str(model.spec), "fingerprint": model.fingerprint, "loaded": model.loaded},
            tasks=tuple(summary),
            limit=limit,
            engine={"model": asdict(engine.stats)},
            warnings=(
                (f"--limit {limit}: only the first {limit} items of each task were evaluated",)
                if limit is not None
                else ()
            ),
        )
        run.put_items(rows)
        run.finish(result.to_json())
    return result


def _corpus_score(label: str, name: str, scores: Any, labels: list[str | None], alpha: float) -> MetricScore:
    """A corpus statistic of one model with its percentile bootstrap CI (the model paired with itself)."""
    stat = corpus_statistic(name)
    cols = {k: [sc.values[k] for sc in scores.items.values()] for k in stat.inputs}
    est = paired_corpus_bootstrap(
        name, cols, cols, clusters=labels if any(c is not None for c in labels) else None, alpha=alpha
    )
    assert est.tuned_ci is not None
    return MetricScore(label, name, est.n, est.tuned, est.tuned_ci[0], est.tuned_ci[1], alpha)
