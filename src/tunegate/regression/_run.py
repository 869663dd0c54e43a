"""Running a regression suite: answers through the Engine (cached), assertions, verdicts, the store.

Verdict of a case asked ``repeat`` times (pass fraction ``f`` = repeats whose every assertion passed):

* ``passed`` — every repeat passed (``f == 1``);
* ``flaky``  — some repeats failed but ``f ≥ threshold``: the case met its threshold, so it does not
  fail the gate, but it is flagged (``--strict-flaky`` makes it fail);
* ``failed`` — ``f < threshold``. With the default threshold 1.0 any failing repeat fails the case.

Under greedy decoding (temperature 0) repeats are identical, so the answer is computed once and a note
says so; set ``temperature > 0`` for repeats to mean anything.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tunegate.engine import Engine, NullProgress, Progress, Roles
from tunegate.engine._loop import run_sync
from tunegate.models import GenerateRequest, GenerateResult, Model, Result, RoleRequest
from tunegate.models._requests import request_key
from tunegate.regression._assertions import AssertionContext, AssertionResult
from tunegate.regression._load import Case, RegressionSuite
from tunegate.regression._record import AssertionOutcome, CaseReport, RegressReport, RegressSummary
from tunegate.runner._rows import input_text
from tunegate.store import ItemRow, RunRecord, Store

__all__ = [
    "CaseResult",
    "RegressionResult",
    "aevaluate_cases",
    "case_followups",
    "check_case",
    "evaluate_cases",
    "find_baseline_run",
    "run_regression",
]

log = logging.getLogger(__name__)

Status = Literal["passed", "flaky", "failed"]


@dataclass
class CaseResult:
    """Answers to one case (one per repeat) and each assertion's outcome on each answer."""

    case: Case
    outputs: list[str]
    checks: list[list[AssertionResult]]

    @property
    def id(self) -> str:
        return self.case.id

    @property
    def repeat_passed(self) -> list[bool]:
        return [all(r.passed for r in rs) for rs in self.checks]

    @property
    def n_passed(self) -> int:
        return sum(self.repeat_passed)

    @property
    def fraction(self) -> float:
        return self.n_passed / len(self.checks)

    @property
    def ok(self) -> bool:
        """The case met its threshold (passed or flaky)."""
        return self.fraction >= self.case.threshold - 1e-12

    @property
    def status(self) -> Status:
        if self.fraction == 1:
            return "passed"
        return "flaky" if self.ok else "failed"

    @property
    def reason(self) -> str:
        """Why it failed: the first failing assertion's reason (with the repeat count if > 1)."""
        for rs in self.checks:
            for a, r in zip(self.case.assertions, rs, strict=True):
                if not r.passed:
                    prefix = f"{a.label}: {r.reason}"
                    n = len(self.checks)
                    return prefix if n == 1 else f"{self.n_passed}/{n} repeats passed; {prefix}"
        return ""

    def report(
        self, baseline: str | None = None, reference_verdict: str | None = None, reference: str | None = None
    ) -> CaseReport:
        return CaseReport(
            id=self.id,
            status=self.status,
            ok=self.ok,
            pass_fraction=self.fraction,
            threshold=self.case.threshold,
            repeat=len(self.checks),
            tags=tuple(self.case.tags),
            reason=self.reason,
            outputs=tuple(self.outputs),
            assertions=tuple(
                tuple(
                    AssertionOutcome(type=a.spec.type, passed=r.passed, score=r.score, reason=r.reason)
                    for a, r in zip(self.case.assertions, rs, strict=True)
                )
                for rs in self.checks
            ),
            baseline=baseline,
            reference_verdict=reference_verdict,
            reference=reference,
        )


@dataclass
class RegressionResult:
    """A suite run on one model, with the optional reference run and baseline comparison."""

    suite: str
    model: str
    cases: list[CaseResult]
    run_id: str | None = None
    reference: str | None = None
    reference_cases: dict[str, CaseResult] | None = None
    baseline_run: str | None = None
    baseline: dict[str, bool] | None = None  # case id -> ok in the baseline run
    notes: list[str] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(c.status == status for c in self.cases)

    @property
    def pass_rate(self) -> float:
        """Fraction of cases that met their threshold."""
        return sum(c.ok for c in self.cases) / len(self.cases) if self.cases else 1.0

    def exit_code(self, strict_flaky: bool = False) -> int:
        """1 when a case failed (or, with ``strict_flaky``, was flaky), else 0."""
        bad = self.count("failed") + (self.count("flaky") if strict_flaky else 0)
        return 1 if bad else 0

    def baseline_category(self, c: CaseResult) -> str:
        """newly failing / fixed / still failing / passing / new (vs the baseline run)."""
        if self.baseline is None or c.id not in self.baseline:
            return "new"
        before = self.baseline[c.id]
        if before and not c.ok:
            return "newly failing"
        if not before and c.ok:
            return "fixed"
        return "passing" if c.ok else "still failing"

    def reference_verdict(self, c: CaseResult) -> str:
        """For a failing case: did the reference (base) model pass it?"""
        if self.reference_cases is None or c.ok or c.id not in self.reference_cases:
            return ""
        if self.reference_cases[c.id].ok:
            return "regression introduced by fine-tuning"
        return "gap that was always there"

    def report(self) -> RegressReport:
        """The stored and written form (``tunegate.regress/v1``)."""
        return RegressReport(
            suite=self.suite,
            model=self.model,
            reference=self.reference,
            run_id=self.run_id,
            baseline_run=self.baseline_run,
            summary=RegressSummary(
                cases=len(self.cases),
                passed=self.count("passed"),
                flaky=self.count("flaky"),
                failed=self.count("failed"),
                pass_rate=self.pass_rate,
            ),
            notes=tuple(self.notes),
            cases=tuple(
                c.report(
                    baseline=self.baseline_category(c) if self.baseline is not None else None,
                    reference_verdict=self.reference_verdict(c) or None,
                    reference=(
                        self.reference_cases[c.id].status
                        if self.reference_cases and c.id in self.reference_cases
                        else None
                    ),
                )
                for c in self.cases
            ),
        )

    def to_json(self) -> dict[str, Any]:
        return self.report().to_json()


def _context(suite: RegressionSuite, case: Case, answers: Mapping[RoleRequest, Result]) -> AssertionContext:
    return AssertionContext(
        case_id=case.id,
        prompt=case.prompt_text,
        vars=dict(case.vars),
        answers=answers,
        default_judge=suite.judge,
    )


def case_followups(suite: RegressionSuite, case: Case, texts: list[str]) -> list[RoleRequest]:
    """What the case's assertions need from other models (judges) to check ``texts``."""
    ctx = _context(suite, case, {})
    return [rr for t in texts for a in case.assertions for rr in a.followups(t, ctx)]


def check_case(
    suite: RegressionSuite, case: Case, texts: list[str], answers: Mapping[RoleRequest, Result]
) -> CaseResult:
    """Every assertion of ``case`` on every answer, with the follow-up ``answers`` at hand."""
    ctx = _context(suite, case, answers)
    return CaseResult(case, texts, [[a(t, ctx) for a in case.assertions] for t in texts])


async def aevaluate_cases(
    suite: RegressionSuite,
    engine: Engine,
    *,
    roles: Roles | None = None,
    notes: list[str] | None = None,
) -> list[CaseResult]:
    """Answer every case of ``suite`` with ``engine`` (one batched, cached call), ask the judges of
    every answer in one more batched round (``roles``), and check each case."""
    requests: list[GenerateRequest] = []
    spans: list[tuple[int, int]] = []
    for case in suite.cases:
        reqs = case.requests()
        spans.append((len(requests), len(requests) + len(reqs)))
        requests.extend(reqs)
        if case.identical_repeats and notes is not None:
            notes.append(
                f"case {case.id!r}: repeat {case.repeat} at temperature 0 gives {case.repeat} identical "
                "answers (asked once); set temperature > 0 to sample"
            )
    answers = await engine.arun(requests, f"regress {suite.name}")
    texts = [[a.text for a in answers[lo:hi] if isinstance(a, GenerateResult)] for lo, hi in spans]
    follow = [rr for case, t in zip(suite.cases, texts, strict=True) for rr in case_followups(suite, case, t)]
    replies: dict[RoleRequest, Result] = {}
    if follow:
        roles = roles or Roles(engine.store, progress=engine.progress, policy=engine.policy)
        replies = await roles.aanswer(follow, f"llm-rubric {suite.name}")
    return [check_case(suite, case, t, replies) for case, t in zip(suite.cases, texts, strict=True)]


def evaluate_cases(
    suite: RegressionSuite,
    engine: Engine,
    *,
    roles: Roles | None = None,
    notes: list[str] | None = None,
) -> list[CaseResult]:
    """:func:`aevaluate_cases`, blocking."""
    return run_sync(aevaluate_cases(suite, engine, roles=roles, notes=notes))


def find_baseline_run(store: Store, suite: str, which: str = "last") -> RunRecord | None:
    """The baseline run: ``last`` completed ``regress`` run of ``suite``, or the run with id ``which``."""
    if which != "last":
        return store.get_run(which)
    for run in store.list_runs(suite=suite, limit=1000, kind="regress"):
        if run.status == "completed" and run.result:
            return run
    return None


def run_regression(
    suite: RegressionSuite,
    model_spec: str | Model,
    store: Store,
    *,
    reference: str | Model | None = None,
    baseline: str | None = None,
    batch_size: int | None = None,
    progress: Progress | None = None,
    config: dict[str, Any] | None = None,
    step: int | None = None,
    training: str | None = None,
) -> RegressionResult:
    """Run ``suite`` on a model (and the reference), store a ``regress`` run, compare with a baseline.

    ``step``/``training``: the model is the checkpoint saved at that step of that training run."""
    progress = progress or NullProgress()
    model = model_spec if isinstance(model_spec, Model) else Model(model_spec)
    ref = reference if isinstance(reference, Model) or reference is None else Model(reference)
    base_run = find_baseline_run(store, suite.name, baseline) if baseline else None
    result = RegressionResult(
        suite=suite.name, model=str(model.spec), cases=[], reference=str(ref.spec) if ref else None
    )
    if baseline and base_run is None:
        result.notes.append(f"no earlier regress run of suite {suite.name!r} to compare with")
    if base_run is not None:
        result.baseline_run = base_run.id
        result.baseline = RegressReport.from_json(base_run.result).case_ok() if base_run.result else {}
    roles = Roles(store, progress=progress, batch_size=batch_size)
    roles.assign("target", model)
    if ref is not None:
        roles.assign("reference", ref)
    run_roles = {"tuned": result.model, **({"base": result.reference} if result.reference else {})}
    with store.run(
        "regress",
        suite=suite.name,
        suite_hash=suite.hash,
        roles=run_roles,
        config={"source": suite.source, "cases": len(suite.cases), **(config or {})},
        step=step,
        training=training,
    ) as run:
        run.counts = lambda: (  # judges' engines too
            sum(e.stats.computed for e in roles.engines.values()),
            sum(e.stats.cached for e in roles.engines.values()),
        )
        result.run_id = run.id
        with progress:
            result.cases, ref_cases = run_sync(_evaluate_both(suite, roles, ref is not None, result.notes))
            rows = _case_rows("tuned", suite, result.cases, roles.engine("target"))
            if ref_cases is not None:
                result.reference_cases = {c.id: c for c in ref_cases}
                rows += _case_rows("base", suite, ref_cases, roles.engine("reference"))
        run.put_items(rows)
        run.finish(result.to_json())
    for note in result.notes:
        log.info(note)
    return result


async def _evaluate_both(
    suite: RegressionSuite, roles: Roles, reference: bool, notes: list[str]
) -> tuple[list[CaseResult], list[CaseResult] | None]:
    """The target and (optionally) the reference at the same time."""
    target = aevaluate_cases(suite, roles.engine("target"), roles=roles, notes=notes)
    if not reference:
        return await target, None
    got, ref = await asyncio.gather(target, aevaluate_cases(suite, roles.engine("reference"), roles=roles))
    return got, ref


def _case_rows(role: str, suite: RegressionSuite, cases: list[CaseResult], engine: Engine) -> list[ItemRow]:
    """A case's stored row: pass fraction, prompt, first answer (all answers are in the result), and
    what it was checked against (its assertions) as the reference."""
    fp = engine.model.fingerprint
    return [
        ItemRow(
            role=role,
            task=suite.name,
            item=c.id,
            values={"pass": c.fraction},
            output=c.outputs[0] if c.outputs else None,
            input=input_text(c.case.prompt),
            reference="; ".join(a.label for a in c.case.assertions),
            response_keys=tuple(request_key(fp, r) for r in c.case.requests()),
        )
        for c in cases
    ]
