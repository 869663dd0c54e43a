"""The results of the runners, each with its serializer and deserializer side by side.

    ComparisonResult  ``tunegate compare``: per-task paired metrics, gate decisions, the verdict
                      -- JSON ``schema: tunegate.result/v1``
    RunResult         ``tunegate run``: one model's per-task scores with 95% CIs -- ``tunegate.run/v1``

(``tunegate regress`` writes ``tunegate.regress/v1``: ``tunegate.regression.RegressReport``.) Each
``to_json()`` is what ``--json`` writes and the store keeps; ``from_json()`` gives back an equal
record. Documented in ``docs/json-schema.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from tunegate._decode import from_dict

__all__ = [
    "EXIT_CODES",
    "RUN_SCHEMA",
    "SCHEMA",
    "ComparisonResult",
    "FlippedItem",
    "GateResult",
    "MetricComparison",
    "MetricScore",
    "ReferenceComparison",
    "RunResult",
    "ScorecardRow",
    "TaskComparison",
    "Verdict",
]

SCHEMA = "tunegate.result/v1"
RUN_SCHEMA = "tunegate.run/v1"
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
    # tuned vs the suite's reference (None without one, or when a task of the dimension has none)
    reference: float | None = None
    vs_reference: float | None = None  # tuned - reference
    vs_reference_ci_low: float | None = None
    vs_reference_ci_high: float | None = None
    vs_reference_se: float | None = None


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
class ReferenceComparison:
    """One task's tuned model against the suite's reference, paired item by item like base vs tuned.

    In each metric ``base`` (and ``base_ci_*``) is the *reference's* score and ``delta`` is
    tuned - reference. ``skipped`` says why a task has no reference numbers (a shot count the task
    cannot do, a few-shot pool that would use evaluated items); ``metrics`` is then empty.
    """

    metrics: tuple[MetricComparison, ...] = ()
    config: dict[str, Any] = field(default_factory=dict)  # the reference task's options (its shots)
    skipped: str | None = None

    def metric(self, name: str) -> MetricComparison:
        return next(m for m in self.metrics if m.metric == name)


@dataclass(frozen=True)
class TaskComparison:
    """All metrics of one task (and, with a suite ``reference``, tuned vs that reference)."""

    task: str
    dimension: str
    n: int
    primary: str
    config: dict[str, Any]
    metrics: tuple[MetricComparison, ...]
    flipped: tuple[FlippedItem, ...] = ()
    reference: ReferenceComparison | None = None

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
    #: the second baseline (suite ``reference:``), report only: ``{"label", "spec", "fingerprint",
    #: "loaded", "shots"}``; None without one
    reference: dict[str, Any] | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["schema"] = SCHEMA
        data["exit_code"] = self.exit_code
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ComparisonResult:
        """The result back from :meth:`to_json` (also after a JSON round trip)."""
        _check_schema(data, SCHEMA)
        return from_dict(cls, data)


@dataclass(frozen=True)
class MetricScore:
    """One metric of one task for a single model: the mean and its 95% bootstrap CI."""

    task: str
    metric: str
    n: int
    mean: float
    ci_low: float
    ci_high: float
    alpha: float = 0.05


@dataclass(frozen=True)
class RunResult:
    """``tunegate run``: one model alone on a suite (no gates, no verdict)."""

    run_id: str
    suite: str
    model: dict[str, Any]
    tasks: tuple[MetricScore, ...]
    limit: int | None = None
    engine: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "schema": RUN_SCHEMA}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunResult:
        """The result back from :meth:`to_json`."""
        _check_schema(data, RUN_SCHEMA)
        return from_dict(cls, data)


def _check_schema(data: Mapping[str, Any], expected: str) -> None:
    schema = data.get("schema", expected)
    if schema != expected:
        raise ValueError(f"unsupported result schema {schema!r} (expected {expected!r})")
