"""Registers ``acc`` and ``acc_norm``: multiple choice scored from log-likelihoods (binary)."""

from __future__ import annotations

from collections.abc import Sequence

from tunegate.metrics import METRICS
from tunegate.metrics._base import Metric
from tunegate.metrics._choice import choice_accuracy, choice_accuracy_norm

__all__: list[str] = []


def _acc(loglikelihoods: Sequence[float], choice_texts: Sequence[str], gold: int) -> float:
    return choice_accuracy(loglikelihoods, gold)


METRICS.add("acc", Metric(name="acc", binary=True, choice=_acc))
METRICS.add("acc_norm", Metric(name="acc_norm", binary=True, choice=choice_accuracy_norm))
