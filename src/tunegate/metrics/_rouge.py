"""Registers ``rouge1``, ``rouge2``, ``rougeL`` and ``rougeLsum``: rouge-score F-measure, Porter-stemmed.

rouge-score's tokenizer lowercases and keeps only ``[a-z0-9]`` runs, so non-Latin text scores 0.
``rougeLsum`` is summary-level LCS over sentences split on newlines: put one sentence per line.
The run aggregate is the mean item F-measure. With several references an item takes the best one.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from tunegate.metrics import METRICS
from tunegate.metrics._base import ItemFn, Metric

__all__ = ["ROUGE_TYPES", "rouge_item"]

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")


@cache
def _scorer(rouge_type: str) -> Any:
    from rouge_score import rouge_scorer  # imported on first use: it pulls in nltk

    return rouge_scorer.RougeScorer([rouge_type], use_stemmer=True)


def rouge_item(rouge_type: str) -> ItemFn:
    """The item scorer for one ROUGE type: max F-measure over the references."""
    if rouge_type not in ROUGE_TYPES:
        raise ValueError(f"unknown ROUGE type {rouge_type!r}; expected one of {ROUGE_TYPES}")

    def item(prediction: str, references: Sequence[str]) -> float:
        if isinstance(references, str) or not references:
            raise ValueError("ROUGE needs a non-empty sequence of reference strings")
        scorer = _scorer(rouge_type)
        # rouge-score's argument order is (target, prediction).
        return max(float(scorer.score(ref, prediction)[rouge_type].fmeasure) for ref in references)

    item.__name__ = f"{rouge_type}_item"
    return item


for _type in ROUGE_TYPES:
    METRICS.add(_type, Metric(name=_type, binary=False, item=rouge_item(_type)))
