"""The scorecard a report shows: the one the runner computed and stored in the result.

The computation lives in ``tunegate.runner._scorecard`` (statistics in ``tunegate.stats``); a result
built by hand or read from an old JSON file without a stored scorecard gets it computed the same way.
"""

from __future__ import annotations

from tunegate.runner import ComparisonResult
from tunegate.runner._result import ScorecardRow
from tunegate.runner._scorecard import DIMENSIONS, build_scorecard

__all__ = ["DIMENSIONS", "ScorecardRow", "scorecard"]


def scorecard(result: ComparisonResult) -> list[ScorecardRow]:
    """One row per dimension, in :data:`DIMENSIONS` order (unknown dimensions follow, alphabetically)."""
    if result.scorecard:
        return list(result.scorecard)
    return list(build_scorecard(result.tasks, result.gates, alpha=result.alpha))
