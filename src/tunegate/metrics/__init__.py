"""Task metrics, scored as the field scores them.

Text metrics: ``exact_match``, ``f1`` (SQuAD v1.1), ``rouge1``, ``rouge2``, ``rougeL``, ``rougeLsum``
(rouge-score, stemmed F-measure), ``bleu``, ``chrf`` (sacrebleu, 0-100 scale). Multiple choice:
``acc``, ``acc_norm`` (lm-evaluation-harness); drift and calibration
(:func:`choice_signals`). Code: :func:`pass_at_k` (Codex paper).
Look a metric up with :func:`get_metric`; plugins register through the ``tunegate.metrics`` group.
"""

from __future__ import annotations

from tunegate.metrics._base import Metric
from tunegate.metrics._choice import (
    choice_accuracy,
    choice_accuracy_norm,
    choice_signals,
    predicted_choice,
    predicted_choice_norm,
)
from tunegate.metrics._code import pass_at_k
from tunegate.registry import Registry

__all__ = [
    "METRICS",
    "Metric",
    "choice_accuracy",
    "choice_accuracy_norm",
    "choice_signals",
    "get_metric",
    "pass_at_k",
    "predicted_choice",
    "predicted_choice_norm",
]

METRICS: Registry[Metric] = Registry(
    "metric",
    builtin_modules=(
        "tunegate.metrics._squad",
        "tunegate.metrics._rouge",
        "tunegate.metrics._sacrebleu",
        "tunegate.metrics._accuracy",
    ),
)


def get_metric(name: str) -> Metric:
    """Return the metric registered as ``name``; raise UnknownNameError ("did you mean ...?")."""
    return METRICS.get(name)
