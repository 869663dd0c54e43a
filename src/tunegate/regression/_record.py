"""The stored and written form of a regression run (JSON ``schema: tunegate.regress/v1``).

:class:`RegressReport` is what ``tunegate regress --json`` writes and the store keeps; it is built from
a live :class:`~tunegate.regression.RegressionResult` (``result.report()``) and read back with
:meth:`RegressReport.from_json` (a later run's baseline, a report). Documented in docs/json-schema.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from tunegate._decode import from_dict

__all__ = ["REGRESS_SCHEMA", "AssertionOutcome", "CaseReport", "RegressReport", "RegressSummary"]

REGRESS_SCHEMA = "tunegate.regress/v1"


@dataclass(frozen=True)
class AssertionOutcome:
    """One assertion on one answer."""

    type: str
    passed: bool
    score: float
    reason: str


@dataclass(frozen=True)
class CaseReport:
    """One case: its verdict, every answer, each assertion on each answer, and the comparisons."""

    id: str
    status: Literal["passed", "flaky", "failed"]
    ok: bool
    pass_fraction: float
    threshold: float
    repeat: int
    tags: tuple[str, ...]
    reason: str
    outputs: tuple[str, ...]
    assertions: tuple[tuple[AssertionOutcome, ...], ...]
    #: vs the baseline run: newly failing / fixed / still failing / passing / new (None: no baseline)
    baseline: str | None = None
    reference_verdict: str | None = None
    #: the reference model's status on this case (None: no reference)
    reference: str | None = None


@dataclass(frozen=True)
class RegressSummary:
    cases: int
    passed: int
    flaky: int
    failed: int
    pass_rate: float


@dataclass(frozen=True)
class RegressReport:
    """A regression suite run on one model, with its optional reference and baseline."""

    suite: str
    model: str
    reference: str | None
    run_id: str | None
    baseline_run: str | None
    summary: RegressSummary
    notes: tuple[str, ...]
    cases: tuple[CaseReport, ...]

    def case_ok(self) -> dict[str, bool]:
        """Case id -> whether it met its threshold (what a later run compares with)."""
        return {c.id: c.ok for c in self.cases}

    def to_json(self) -> dict[str, Any]:
        return {"schema": REGRESS_SCHEMA, **asdict(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RegressReport:
        """The report back from :meth:`to_json`; also reads the pre-v1 ``tunegate.regress/1`` files."""
        schema = data.get("schema", REGRESS_SCHEMA)
        if schema not in (REGRESS_SCHEMA, "tunegate.regress/1"):
            raise ValueError(f"unsupported result schema {schema!r} (expected {REGRESS_SCHEMA!r})")
        return from_dict(cls, data)
