"""Recorded per-item scores replayed through ``compare_scores`` (no model, no store)."""

from __future__ import annotations

from collections.abc import Sequence

from tunegate.runner import CompareConfig, ComparisonResult, ScoredTask, TaskScores, compare_scores
from tunegate.suite import SuiteSpec
from tunegate.tasks import ItemScore, MetricInfo


def pairs(b: int, c: int, same_right: int, same_wrong: int = 0) -> tuple[list[float], list[float]]:
    """0/1 outcomes: b items base-only right, c tuned-only right, then the concordant ones."""
    base = [1.0] * b + [0.0] * c + [1.0] * same_right + [0.0] * same_wrong
    tuned = [0.0] * b + [1.0] * c + [1.0] * same_right + [0.0] * same_wrong
    return base, tuned


def scored(
    label: str,
    base: Sequence[float],
    tuned: Sequence[float],
    *,
    metric: str = "acc",
    binary: bool = True,
    higher_is_better: bool = True,
    clusters: Sequence[str | None] | None = None,
) -> ScoredTask:
    labels = list(clusters) if clusters is not None else [None] * len(base)

    def ts(values: Sequence[float]) -> TaskScores:
        return TaskScores(
            label,
            {f"i{k}": ItemScore({metric: float(v)}, cluster=labels[k]) for k, v in enumerate(values)},
        )

    info = MetricInfo(metric, binary=binary, higher_is_better=higher_is_better)
    return ScoredTask(label=label, metrics=(info,), primary=metric, base=ts(base), tuned=ts(tuned))


def suite(gates: dict[str, list[dict[str, object]]], **settings: object) -> SuiteSpec:
    return SuiteSpec.model_validate(
        {
            "name": "replay",
            "tasks": [{"task": "custom", "name": k, "gates": v} for k, v in gates.items()],
            **settings,
        }
    )


def replay(
    spec: SuiteSpec,
    tasks: list[ScoredTask],
    *,
    same_model: bool = False,
    limit: int | None = None,
    allow_vacuous: bool = False,
    seed: int = 0,
    alpha: float | None = None,
) -> ComparisonResult:
    config = CompareConfig(
        suite=spec,
        base="hf:base",
        tuned="hf:tuned",
        limit=limit,
        allow_vacuous=allow_vacuous,
        seed=seed,
        alpha=alpha,
    )
    models = {
        "base": {"spec": "hf:base", "fingerprint": "aaaa", "loaded": True},
        "tuned": {"spec": "hf:tuned", "fingerprint": "aaaa" if same_model else "bbbb", "loaded": True},
    }
    return compare_scores(config, tasks, models=models)
