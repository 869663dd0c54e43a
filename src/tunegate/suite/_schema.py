"""The suite file: which tasks to run, with which options, and the gates that decide the verdict.

Validated by pydantic with unknown keys refused (``extra="forbid"``)::

    name: demo
    description: Did the TriviaQA fine-tune help, and did HellaSwag hold?
    tasks:
      - task: triviaqa          # a registered task
        limit: 100              # first N items (omit for all)
        gates:
          - metric: exact_match
            min_gain: 0.0       # tuned must not be worse; fail only on a significant drop
      - task: hellaswag
        shots: 0
        gates:
          - max_drop: 0.01      # retention may drop at most 1.0 point
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["GateSpec", "SuiteSpec", "TaskEntry"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GateSpec(_Strict):
    """A condition on the paired comparison of one task's metric."""

    metric: str | None = Field(default=None, description="metric to gate on (default: the task's primary)")
    max_drop: float | None = Field(default=None, ge=0, description="tuned may be worse by at most this much")
    max_rise: float | None = Field(
        default=None,
        ge=0,
        description="lower-is-better metrics (attack success rate): tuned may be higher by at most this",
    )
    min_gain: float | None = Field(default=None, description="tuned must be better by at least this much")
    min_score: float | None = Field(
        default=None,
        description="tuned's own score must reach this value (no statistics: for fixed suites, e.g. 1.0 = "
        "every regression case passes)",
    )
    rule: Literal["ci", "significant"] = Field(
        default="ci",
        description="ci: decide by where the 95% CI of the delta lies; significant: fail only on a "
        "significant difference (Holm-corrected across the suite's gates)",
    )
    alpha: float = Field(default=0.05, gt=0, lt=1)

    @model_validator(mode="after")
    def _one_bound(self) -> GateSpec:
        bounds = (self.max_drop, self.max_rise, self.min_gain, self.min_score)
        if sum(x is not None for x in bounds) != 1:
            raise ValueError("a gate needs exactly one of max_drop, max_rise, min_gain or min_score")
        return self


class TaskEntry(_Strict):
    """One task of a suite, with its options and gates."""

    task: str
    name: str | None = Field(default=None, description="label when one task appears twice")
    limit: int | None = Field(default=None, gt=0)
    shots: int = Field(default=0, ge=0)
    seed: int = 1234
    data: str | None = Field(default=None, description="local data file overriding the shipped one")
    options: dict[str, Any] = Field(default_factory=dict)
    gates: tuple[GateSpec, ...] = ()

    @property
    def label(self) -> str:
        return self.name or (self.task if not self.shots else f"{self.task}_{self.shots}shot")


class SuiteSpec(_Strict):
    """A whole suite."""

    name: str
    description: str = ""
    tasks: tuple[TaskEntry, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_labels(self) -> SuiteSpec:
        labels = [t.label for t in self.tasks]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise ValueError(f"task label(s) {', '.join(dupes)} appear twice; give each a distinct `name:`")
        return self
