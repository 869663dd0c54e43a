"""Registers ``exact_match`` and ``f1`` exactly as the official SQuAD v1.1 evaluation script scores them."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Sequence

from tunegate.metrics import METRICS
from tunegate.metrics._base import Metric

__all__ = ["exact_match_score", "f1_score", "normalize_answer"]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lowercase, drop ASCII punctuation, drop the articles a/an/the, collapse whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _exact_match(prediction: str, reference: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(reference))


def _f1(prediction: str, reference: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    ref_tokens = normalize_answer(reference).split()
    num_same = sum((Counter(pred_tokens) & Counter(ref_tokens)).values())
    if num_same == 0:  # v1.1: also 0 when both sides normalise to nothing
        return 0.0
    precision = num_same / len(pred_tokens)
    recall = num_same / len(ref_tokens)
    return 2 * precision * recall / (precision + recall)


def _max_over(fn: Callable[[str, str], float], prediction: str, references: Sequence[str]) -> float:
    if isinstance(references, str) or not references:
        raise ValueError("SQuAD metrics need a non-empty sequence of reference strings")
    return max(fn(prediction, ref) for ref in references)


def exact_match_score(prediction: str, references: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals any normalised reference, else 0.0."""
    return _max_over(_exact_match, prediction, references)


def f1_score(prediction: str, references: Sequence[str]) -> float:
    """Best token-overlap F1 (bag of normalised tokens) over the references."""
    return _max_over(_f1, prediction, references)


METRICS.add("exact_match", Metric(name="exact_match", binary=True, item=exact_match_score))
METRICS.add("f1", Metric(name="f1", binary=False, item=f1_score))
