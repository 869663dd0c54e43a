"""The result of a comparison: per-task paired metrics, gate decisions and the verdict.

Serialised as versioned JSON (``schema: tunegate.result/v1``, documented in ``docs/json-schema.md``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "EXIT_CODES",
    "SCHEMA",
    "ComparisonResult",
    "GateResult",
    "MetricComparison",
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


@dataclass(frozen=True)
class FlippedItem:
    """An item whose right/wrong outcome differs between the models (or, for a continuous metric, one
    of the largest per-item drops and gains), with what it asked and the expected answer."""

    item: str
    metric: str
    base_score: float
    tuned_score: float
    base_output: str | None
    tuned_output: str | None
    input: str | None = None
    reference: str | None = None


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

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["schema"] = SCHEMA
        data["exit_code"] = self.exit_code
        return data
