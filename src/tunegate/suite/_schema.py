"""The suite file: which tasks to run, with which options, and the gates that decide the verdict.

Validated by pydantic with unknown keys refused (``extra="forbid"``)::

    name: demo
    description: Did the TriviaQA fine-tune help, and did HellaSwag hold?
    tasks:
      - task: triviaqa          # a registered task
        limit: 100              # first N items (omit for all)
        gates:
          - metric: exact_match
            min_gain: 0.0       # tuned must be shown better than base
      - task: hellaswag
        shots: 0
        gates:
          - max_drop: 0.01      # retention may drop at most 1.0 point
    alpha: 0.05                 # suite defaults for every gate (a gate may override alpha)
    min_detectable: 0.05        # the effect beyond the tolerance every gate must be able to catch
    reference: {shots: 3}       # optional second baseline: base with a 3-shot prompt (or model: SPEC)

How each gate is decided (tests, power, Holm, ``min_n``) is in ``docs/statistics.md``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["GateSpec", "PreferenceEntry", "ReferenceSpec", "SuiteSpec", "TaskEntry"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GateSpec(_Strict):
    """A condition on the paired comparison of one task's metric."""

    metric: str | None = Field(default=None, description="metric to gate on (default: the task's primary)")
    max_drop: float | None = Field(
        default=None,
        ge=0,
        description="tuned may be worse by at most this much (in the metric's direction: a rise for a "
        "lower-is-better metric); PASS needs the power to catch a drop of max_drop + min_detectable",
    )
    max_rise: float | None = Field(
        default=None,
        ge=0,
        description="lower-is-better metrics (attack success rate): tuned may be higher by at most this",
    )
    min_gain: float | None = Field(
        default=None,
        description="tuned must be shown better than base by more than this (0.0: shown better at all); "
        "FAIL needs the power to show a gain of min_gain + min_detectable",
    )
    min_score: float | None = Field(
        default=None,
        description="tuned's own score must reach this value (no statistics: for fixed suites, e.g. 1.0 = "
        "every regression case passes)",
    )
    rule: Literal["ci", "significant"] = Field(
        default="ci",
        description="kept for old suites: both values now mean the one documented decision (tests of the "
        "gate's own hypothesis, Holm across the suite's gates, a power requirement)",
    )
    alpha: float | None = Field(
        default=None, gt=0, lt=1, description="the gate's level (default: the suite's alpha, 0.05)"
    )
    min_detectable: float | None = Field(
        default=None,
        gt=0,
        description="effect beyond the tolerance this gate must be able to catch (default: the suite's)",
    )
    min_n: int | None = Field(
        default=None, ge=2, description="paired items below which the gate is inconclusive (default 30)"
    )

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


class PreferenceEntry(_Strict):
    """The automatic preference estimate: an LLM judge compares base and tuned answers pairwise (both
    orders) on the first ``limit`` items of ``tasks``; shown as the judge's win rate, never gated, until
    human raters vote in the same study (``tunegate ab``)."""

    judge: str = Field(min_length=1, description="model spec of the pairwise judge")
    tasks: tuple[str, ...] = Field(
        default=(), description="task labels to judge (default: every generation task)"
    )
    limit: int = Field(default=20, gt=0, le=1000, description="items judged (each in both orders)")


class ReferenceSpec(_Strict):
    """A second baseline, shown beside base (report only: gates stay on base vs tuned).

    ``shots: 3``: the base model with a 3-shot prompt, the examples drawn by each task from its own
    few-shot pool (never from the evaluated items); ``model: SPEC``: another model, with the suite's
    prompts; both: that model with that many shots.
    """

    shots: int | None = Field(
        default=None, description="few-shot examples in the reference's prompts (a positive integer)"
    )
    model: str | None = Field(default=None, min_length=1, description="reference model spec (default: base)")

    @field_validator("shots", mode="before")
    @classmethod
    def _positive(cls, v: Any) -> Any:
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ValueError(f"shots must be a positive integer, got {v!r}")
        return v

    @model_validator(mode="after")
    def _something(self) -> ReferenceSpec:
        if self.shots is None and self.model is None:
            raise ValueError("a reference needs shots (a positive integer), model (a model spec), or both")
        return self

    @property
    def label(self) -> str:
        """How reports name it: ``base, 3-shot``, ``hf:other``, ``hf:other, 3-shot``."""
        who = self.model or "base"
        return f"{who}, {self.shots}-shot" if self.shots else who


class SuiteSpec(_Strict):
    """A whole suite."""

    name: str
    description: str = ""
    tasks: tuple[TaskEntry, ...] = Field(min_length=1)
    alpha: float = Field(default=0.05, gt=0, lt=1, description="level of every gate that sets none")
    power: float = Field(default=0.8, gt=0, lt=1, description="power every gate must have to PASS")
    min_detectable: float | None = Field(
        default=None,
        gt=0,
        description="effect beyond the tolerance every gate must catch (default: the tolerance itself, "
        "or 0.05 when the tolerance is 0)",
    )
    min_n: int = Field(default=30, ge=2, description="paired items below which every gate is inconclusive")
    preference: PreferenceEntry | None = Field(
        default=None, description="an automatic pairwise-judge estimate for the preference row"
    )
    reference: ReferenceSpec | None = Field(
        default=None, description="a second baseline column (prompting, or another model); report only"
    )

    @model_validator(mode="after")
    def _unique_labels(self) -> SuiteSpec:
        labels = [t.label for t in self.tasks]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise ValueError(f"task label(s) {', '.join(dupes)} appear twice; give each a distinct `name:`")
        if self.preference is not None:
            unknown = [t for t in self.preference.tasks if t not in labels]
            if unknown:
                known = ", ".join(labels)
                raise ValueError(
                    f"preference.tasks: {', '.join(unknown)} is not a task of this suite ({known})"
                )
        return self
