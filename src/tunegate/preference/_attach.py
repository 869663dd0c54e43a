"""A study's result on the compare run it came from: the scorecard's preference row and its gates.

``attach_preference(ss, result)`` finds the latest study made from ``result.run_id``; when it has a
headline (human votes, or the judge when humans gave fewer than ``MIN_HUMAN_VOTES``), the preference
row of the scorecard is filled from it, the preference gates are added to the result's gates and the
verdict becomes the worse of the stored one and theirs. The stored run is not changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from tunegate.preference._results import MIN_HUMAN_VOTES, result_for_run
from tunegate.preference._study import StudyStore
from tunegate.runner import ComparisonResult
from tunegate.runner._result import Verdict
from tunegate.runner._scorecard import PREFERENCE_GATES, build_scorecard, preference_gates, with_preference

__all__ = ["attach_preference"]

_ORDER: dict[str, int] = {"PASS": 0, "INCONCLUSIVE": 1, "FAIL": 2}


def attach_preference(
    ss: StudyStore, result: ComparisonResult, gates: Sequence[str] = PREFERENCE_GATES
) -> tuple[ComparisonResult, dict[str, Any] | None]:
    """``result`` with its study's preference row and gates, and the study's ``["preference"]``
    summary (None, and ``result`` unchanged, when the run has no study or the study no vote yet)."""
    found = result_for_run(ss, result.run_id)
    if found is None:
        return result, None
    pref: dict[str, Any] = found["preference"]
    if pref["n"] == 0:
        return result, pref
    new = preference_gates(pref, gates, min_votes=MIN_HUMAN_VOTES)
    rows = result.scorecard or build_scorecard(result.tasks, result.gates, alpha=result.alpha)
    verdict: Verdict = result.verdict
    for g in new:
        worse: Verdict = (
            "FAIL" if g.outcome == "fail" else "INCONCLUSIVE" if g.outcome == "inconclusive" else "PASS"
        )
        if _ORDER[worse] > _ORDER[verdict]:
            verdict = worse
    kept = tuple(g for g in result.gates if g.task != new[0].task) if new else result.gates
    return (
        replace(
            result,
            gates=kept + new,
            verdict=verdict,
            scorecard=with_preference(rows, pref, new),
        ),
        pref,
    )
