"""The result of a comparison: per-task paired metrics, gate decisions and the verdict.

Serialised as versioned JSON (``schema: tunegate.result/v1``, documented in ``docs/json-schema.md``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

__all__ = [
    "EXIT_CODES",
    "SCHEMA",
    "ComparisonResult",
    "GateResult",
    "MetricComparison",
    "ScorecardRow",
    "TaskComparison",
    "Verdict",
]

SCHEMA = "tunegate.result/v1"
Verdict = Literal["PASS", "FAIL", "INCONCLUSIVE"]
#: process exit code of each verdict (2 is reserved for usage and configuration errors)
EXIT_CODES: dict[str, int] = {"PASS": 0, "FAIL": 1, "INCONCLUSIVE": 3}


@dataclass(frozen=True)
class MetricComparison:
    """One metric of one task, paired item by item."""

    metric: str
    binary: bool
    base: float
    tuned: float
    delta: float
    ci_low: float
    ci_high: float
    p_value: float | None
    n: int
    method: str
    discordant: tuple[int, int] | None = None  # (base right & tuned wrong, base wrong & tuned right)
    higher_is_better: bool = True
    estimator: str = "paired_mean"
    alpha: float = 0.05  # the level of ci_low/ci_high and of the per-model intervals
    se: float | None = None  # exact (cluster-robust) standard error of delta
    sd: float | None = None  # SD of the per-item differences
    df: float | None = None
    n_clusters: int | None = None  # independent units (== n when the task declares no clusters)
    se_raw: float | None = None  # se before the rule-of-three floor
    scale: float | None = None  # the range the floor uses (1 for scores in [0, 1])
    boot_ci_low: float | None = None  # paired (cluster) percentile bootstrap, the cross-check
    boot_ci_high: float | None = None
    base_ci_low: float | None = None  # each model's own interval (Wilson for 0/1 scores)
    base_ci_high: float | None = None
    tuned_ci_low: float | None = None
    tuned_ci_high: float | None = None


@dataclass(frozen=True)
class GateResult:
    """One gate's decision."""

    task: str
    metric: str
    kind: Literal["max_drop", "max_rise", "min_gain", "min_score"]
    threshold: float
    rule: str
    outcome: Literal["pass", "fail", "inconclusive"]
    reason: str
    detectable: float | None = None
    items_needed: int | None = None
    alpha: float | None = None  # None for min_score gates (no statistics)
    power: float | None = None
    material: float | None = None  # effect beyond the threshold the gate must catch
    p_value: float | None = None  # the FAIL test's one-sided p, Holm-adjusted over n_gates
    n_gates: int | None = None
    ci_low: float | None = None  # delta's 1 - alpha interval at this gate's alpha
    ci_high: float | None = None


@dataclass(frozen=True)
class ScorecardRow:
    """The headline of one dimension; numbers are None when ``status == "not run"``."""

    dimension: str
    label: str
    status: Literal["ok", "not run"]
    tasks: tuple[str, ...] = ()
    metric: str | None = None  # "task/metric" for one task, "mean of k tasks" otherwise
    base: float | None = None
    tuned: float | None = None
    delta: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None  # paired items, summed over the tasks
    gate: str | None = None  # worst gate outcome of the dimension's tasks (None: no gates)
    se: float | None = None


@dataclass(frozen=True)
class FlippedItem:
    """An item whose right/wrong outcome differs between the models."""

    item: str
    metric: str
    base_score: float
    tuned_score: float
    base_output: str | None
    tuned_output: str | None


@dataclass(frozen=True)
class TaskComparison:
    """All metrics of one task."""

    task: str
    dimension: str
    n: int
    primary: str
    config: dict[str, Any]
    metrics: tuple[MetricComparison, ...]
    flipped: tuple[FlippedItem, ...] = ()

    def metric(self, name: str) -> MetricComparison:
        return next(m for m in self.metrics if m.metric == name)


@dataclass(frozen=True)
class ComparisonResult:
    """Everything a report needs."""

    run_id: str
    suite: str
    base: dict[str, Any]
    tuned: dict[str, Any]
    tasks: tuple[TaskComparison, ...]
    gates: tuple[GateResult, ...]
    verdict: Verdict
    limit: int | None = None
    engine: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    alpha: float = 0.05
    #: why this run proves nothing on its own (--limit, no gates, the same model twice); see verdict
    vacuous: tuple[str, ...] = ()
    allow_vacuous: bool = False
    scorecard: tuple[ScorecardRow, ...] = ()

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["schema"] = SCHEMA
        data["exit_code"] = self.exit_code
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ComparisonResult:
        """Rebuild a result from :meth:`to_json` output (unknown keys of newer writers are ignored)."""
        if data.get("schema", SCHEMA) != SCHEMA:
            raise ValueError(f"unsupported result schema {data.get('schema')!r} (expected {SCHEMA!r})")

        def pick(kind: type, row: dict[str, Any]) -> dict[str, Any]:
            names = {f.name for f in fields(kind)}
            return {k: (tuple(v) if isinstance(v, list) else v) for k, v in row.items() if k in names}

        tasks = tuple(
            TaskComparison(
                **{
                    **pick(TaskComparison, t),
                    "config": dict(t.get("config") or {}),
                    "metrics": tuple(MetricComparison(**pick(MetricComparison, m)) for m in t["metrics"]),
                    "flipped": tuple(FlippedItem(**pick(FlippedItem, f)) for f in t.get("flipped") or ()),
                }
            )
            for t in data["tasks"]
        )
        top = pick(cls, data)
        return cls(
            **{
                **top,
                "base": dict(data["base"]),
                "tuned": dict(data["tuned"]),
                "engine": dict(data.get("engine") or {}),
                "tasks": tasks,
                "gates": tuple(GateResult(**pick(GateResult, g)) for g in data.get("gates") or ()),
                "scorecard": tuple(
                    ScorecardRow(**pick(ScorecardRow, r)) for r in data.get("scorecard") or ()
                ),
            }
        )
