"""Regression suites: fixed prompts with expected behaviours, checked on every fine-tune.

    suite YAML --load_regression_suite--> RegressionSuite (expanded cases, compiled assertions)
               --run_regression(model)--> RegressionResult
               --.report()--> RegressReport (JSON tunegate.regress/v1, the store)
                              --> table / JUnit / Markdown (``tunegate.report``)

See ``docs/regression.md``. Assertion types live in :data:`ASSERTIONS`; add one with :func:`assertion`.

Names are imported on first use: loading a suite (``tunegate validate``) does not import the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunegate._lazy import lazy_attributes

if TYPE_CHECKING:
    from tunegate.regression._assertions import (
        ASSERTIONS,
        Assertion,
        AssertionContext,
        AssertionResult,
        AssertionType,
        assertion,
        check_assertion,
        compile_assertion,
    )
    from tunegate.regression._load import Case, RegressionSuite, load_regression_suite, parse_regression_suite
    from tunegate.regression._record import (
        REGRESS_SCHEMA,
        AssertionOutcome,
        CaseReport,
        RegressReport,
        RegressSummary,
    )
    from tunegate.regression._run import (
        CaseResult,
        RegressionResult,
        aevaluate_cases,
        case_followups,
        check_case,
        evaluate_cases,
        find_baseline_run,
        run_regression,
    )
    from tunegate.regression._watch import BestVerdict, best_vs_base, checkpoint_spec, find_checkpoints, watch

__all__ = [
    "ASSERTIONS",
    "REGRESS_SCHEMA",
    "Assertion",
    "AssertionContext",
    "AssertionOutcome",
    "AssertionResult",
    "AssertionType",
    "BestVerdict",
    "Case",
    "CaseReport",
    "CaseResult",
    "RegressReport",
    "RegressSummary",
    "RegressionResult",
    "RegressionSuite",
    "aevaluate_cases",
    "assertion",
    "best_vs_base",
    "case_followups",
    "check_assertion",
    "check_case",
    "checkpoint_spec",
    "compile_assertion",
    "evaluate_cases",
    "find_baseline_run",
    "find_checkpoints",
    "load_regression_suite",
    "parse_regression_suite",
    "run_regression",
    "watch",
]

#: public name -> the module that defines it
_LAZY: dict[str, str] = {
    "ASSERTIONS": "tunegate.regression._assertions",
    "REGRESS_SCHEMA": "tunegate.regression._record",
    "Assertion": "tunegate.regression._assertions",
    "AssertionContext": "tunegate.regression._assertions",
    "AssertionOutcome": "tunegate.regression._record",
    "AssertionResult": "tunegate.regression._assertions",
    "AssertionType": "tunegate.regression._assertions",
    "BestVerdict": "tunegate.regression._watch",
    "Case": "tunegate.regression._load",
    "CaseReport": "tunegate.regression._record",
    "CaseResult": "tunegate.regression._run",
    "RegressReport": "tunegate.regression._record",
    "RegressSummary": "tunegate.regression._record",
    "RegressionResult": "tunegate.regression._run",
    "RegressionSuite": "tunegate.regression._load",
    "aevaluate_cases": "tunegate.regression._run",
    "assertion": "tunegate.regression._assertions",
    "best_vs_base": "tunegate.regression._watch",
    "case_followups": "tunegate.regression._run",
    "check_assertion": "tunegate.regression._assertions",
    "check_case": "tunegate.regression._run",
    "checkpoint_spec": "tunegate.regression._watch",
    "compile_assertion": "tunegate.regression._assertions",
    "evaluate_cases": "tunegate.regression._run",
    "find_baseline_run": "tunegate.regression._run",
    "find_checkpoints": "tunegate.regression._watch",
    "load_regression_suite": "tunegate.regression._load",
    "parse_regression_suite": "tunegate.regression._load",
    "run_regression": "tunegate.regression._run",
    "watch": "tunegate.regression._watch",
}


__getattr__, __dir__ = lazy_attributes(
    "tunegate.regression", {k: (m, k) for k, m in _LAZY.items()}, globals(), __all__
)
