"""Human preference: blinded A/B rating studies, the rating app, their statistics and the judge.

ab create --> StudyStore.create_study + invite --> ab serve (create_app) --> votes
votes --> study_results (tunegate.stats: win rate, confidence sequence, BT, agreement, bias) --> ab report
"""

from tunegate.preference._app import create_app
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
    "create_app",
    "result_for_run",
    "study_results",
]
