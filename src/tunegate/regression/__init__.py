"""Regression suites: fixed prompts with expected behaviours, checked on every fine-tune.

    suite YAML --load_regression_suite--> RegressionSuite (expanded cases, compiled assertions)
               --run_regression(model)--> RegressionResult --> table / JUnit / Markdown / store

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
from tunegate.regression._report import print_regression, render_markdown, write_junit
from tunegate.regression._run import (
    CaseResult,
    RegressionResult,
    evaluate_cases,
    find_baseline_run,
    run_regression,
)
from tunegate.regression._watch import BestVerdict, best_vs_base, checkpoint_spec, find_checkpoints, watch

__all__ = [
    "ASSERTIONS",
    "Assertion",
    "AssertionContext",
    "AssertionResult",
    "AssertionType",
    "BestVerdict",
    "Case",
    "CaseResult",
    "RegressionResult",
    "RegressionSuite",
    "assertion",
    "best_vs_base",
    "check_assertion",
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
