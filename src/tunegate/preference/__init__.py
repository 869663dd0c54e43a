"""Human preference: blinded A/B rating studies, the rating app, their statistics and the judge.

ab create --> StudyStore.create_study + invite --> ab serve (create_app) --> votes
votes --> study_results (tunegate.stats: win rate, confidence sequence, BT, agreement, bias) --> ab report
study of a compare run --> attach_preference --> the scorecard's preference row and gates (tunegate report)
"""

from typing import Any

from tunegate.preference._limits import Limits
from tunegate.preference._results import MIN_HUMAN_VOTES, result_for_run, study_results
from tunegate.preference._study import CHOICES, ItemSpec, Rater, StudyError, StudySettings, StudyStore

__all__ = [
    "CHOICES",
    "MIN_HUMAN_VOTES",
    "ItemSpec",
    "Limits",
    "Rater",
    "StudyError",
    "StudySettings",
    "StudyStore",
    "attach_preference",
    "create_app",
    "result_for_run",
    "study_results",
]


def __getattr__(name: str) -> Any:
    if name == "attach_preference":  # imports the runner: only when a report needs it
        from tunegate.preference._attach import attach_preference

        return attach_preference
    if name == "create_app":  # the web stack is optional: import it only when serving
        try:
            from tunegate.preference._app import create_app
        except ImportError as e:
            from tunegate.errors import DependencyError

            raise DependencyError(f"the rating app needs {e.name}: pip install 'tunegate[web]'") from None
        return create_app
    raise AttributeError(name)
