"""Regression suites: fixed prompts with expected behaviours, checked on every fine-tune.

    suite YAML --load_regression_suite--> RegressionSuite (expanded cases, compiled assertions)
               --run_regression(model)--> RegressionResult --> table / JUnit / Markdown
               --.report()--> RegressReport (JSON tunegate.regress/v1, the store)

See ``docs/regression.md``. Assertion types live in :data:`ASSERTIONS`; add one with :func:`assertion`.
"""

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
from tunegate.regression._report import print_regression, render_markdown, write_junit
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
    "print_regression",
    "render_markdown",
    "run_regression",
    "watch",
    "write_junit",
]
