"""tunegate: did this fine-tune do what we wanted, without breaking anything?

The curated public API (pinned by ``tests/test_public_api.py``)::

    suite  = tunegate.load_suite("my-suite.yaml")                       # or a built-in name: "demo"
    store  = tunegate.open_store()                                      # SQLite under .tunegate/, or a URL
    result = tunegate.compare(tunegate.CompareConfig(suite=suite, base=BASE, tuned=TUNED), store)
    result.verdict, result.exit_code, result.to_json()                  # ComparisonResult
    tunegate.run(suite, MODEL, store)                                   # RunResult (one model, no gates)
    tunegate.regress(tunegate.load_regression_suite("cases.yaml"), MODEL, store)  # RegressionResult

Names are imported on first use, so ``import tunegate`` (and the CLI) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunegate._lazy import lazy_attributes

if TYPE_CHECKING:
    from tunegate.errors import TunegateError
    from tunegate.regression import RegressionResult, RegressionSuite, RegressReport, load_regression_suite
    from tunegate.regression import run_regression as regress
    from tunegate.runner import (
        CompareConfig,
        ComparisonResult,
        GateResult,
        MetricComparison,
        MetricScore,
        RunResult,
        TaskComparison,
    )
    from tunegate.runner import compare_models as compare
    from tunegate.runner import run_model as run
    from tunegate.store import ItemRecord, RunRecord, Store, open_store
    from tunegate.suite import SuiteSpec, load_suite

__all__ = [
    "CompareConfig",
    "ComparisonResult",
    "GateResult",
    "ItemRecord",
    "MetricComparison",
    "MetricScore",
    "RegressReport",
    "RegressionResult",
    "RegressionSuite",
    "RunRecord",
    "RunResult",
    "Store",
    "SuiteSpec",
    "TaskComparison",
    "TunegateError",
    "compare",
    "load_regression_suite",
    "load_suite",
    "open_store",
    "regress",
    "run",
]

#: public name -> (module, attribute)
_LAZY: dict[str, tuple[str, str]] = {
    "CompareConfig": ("tunegate.runner", "CompareConfig"),
    "ComparisonResult": ("tunegate.runner", "ComparisonResult"),
    "GateResult": ("tunegate.runner", "GateResult"),
    "ItemRecord": ("tunegate.store", "ItemRecord"),
    "MetricComparison": ("tunegate.runner", "MetricComparison"),
    "MetricScore": ("tunegate.runner", "MetricScore"),
    "RegressReport": ("tunegate.regression", "RegressReport"),
    "RegressionResult": ("tunegate.regression", "RegressionResult"),
    "RegressionSuite": ("tunegate.regression", "RegressionSuite"),
    "RunRecord": ("tunegate.store", "RunRecord"),
    "RunResult": ("tunegate.runner", "RunResult"),
    "Store": ("tunegate.store", "Store"),
    "SuiteSpec": ("tunegate.suite", "SuiteSpec"),
    "TaskComparison": ("tunegate.runner", "TaskComparison"),
    "TunegateError": ("tunegate.errors", "TunegateError"),
    "compare": ("tunegate.runner", "compare_models"),
    "load_regression_suite": ("tunegate.regression", "load_regression_suite"),
    "load_suite": ("tunegate.suite", "load_suite"),
    "open_store": ("tunegate.store", "open_store"),
    "regress": ("tunegate.regression", "run_regression"),
    "run": ("tunegate.runner", "run_model"),
}


__getattr__, __dir__ = lazy_attributes("tunegate", _LAZY, globals(), __all__)
