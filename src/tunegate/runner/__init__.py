"""Controllers: run a suite on one model, or compare a tuned model with its base."""

from tunegate.runner._compare import CompareConfig, ScoredTask, compare_models, compare_scores
from tunegate.runner._evaluate import TaskScores, evaluate_task
from tunegate.runner._result import (
    EXIT_CODES,
    RUN_SCHEMA,
    SCHEMA,
    ComparisonResult,
    FlippedItem,
    GateResult,
    MetricComparison,
    MetricScore,
    ReferenceComparison,
    RunResult,
    ScorecardRow,
    TaskComparison,
)
from tunegate.runner._run import run_model

__all__ = [
    "EXIT_CODES",
    "RUN_SCHEMA",
    "SCHEMA",
    "CompareConfig",
    "ComparisonResult",
    "FlippedItem",
    "GateResult",
    "MetricComparison",
    "MetricScore",
    "ReferenceComparison",
    "RunResult",
    "ScorecardRow",
    "ScoredTask",
    "TaskComparison",
    "TaskScores",
    "compare_models",
    "compare_scores",
    "evaluate_task",
    "run_model",
]
