"""The :class:`Metric` record: how one task metric scores an item and aggregates a run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["ChoiceFn", "CorpusFn", "ItemFn", "Metric"]

ItemFn = Callable[[str, Sequence[str]], float]
"""``item(prediction, references) -> score`` — the best score over the references."""

CorpusFn = Callable[[Sequence[str], Sequence[Sequence[str]]], float]
"""``corpus(predictions, references_per_item) -> score`` for corpus-level metrics (BLEU, chrF)."""

ChoiceFn = Callable[[Sequence[float], Sequence[str], int], float]
"""``choice(loglikelihoods, choice_texts, gold) -> 0.0 | 1.0`` for multiple-choice metrics."""


@dataclass(frozen=True, kw_only=True)
class Metric:
    """One task metric.

    ``binary`` is True when every item score is 0 or 1 (right/wrong), so paired comparisons may use
    an exact McNemar test. ``item`` scores one prediction against its references (the max over them,
    as SQuAD does, unless the metric documents its own multi-reference rule). When ``corpus`` is set
    the run's aggregate is that corpus score, not the mean of the item scores; the item score is then
    the sentence-level version, kept so items can be paired. Multiple-choice metrics (``acc``,
    ``acc_norm``) are scored from log-likelihoods by ``choice`` and have no ``item``. ``scale`` is the
    best possible score: 1.0, or 100.0 for the sacrebleu metrics.
    """

    name: str
    higher_is_better: bool = True
    binary: bool
    item: ItemFn | None = None
    corpus: CorpusFn | None = None
    choice: ChoiceFn | None = None
    scale: float = 1.0

    def score(self, prediction: str, references: Sequence[str]) -> float:
        """Score one prediction against one or more references."""
        if self.item is None:
            raise TypeError(f"metric {self.name!r} is not scored from text; use its 'choice' function")
        if isinstance(references, str) or not references:
            raise ValueError(f"metric {self.name!r} needs a non-empty sequence of reference strings")
        return float(self.item(prediction, references))

    def aggregate(self, predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
        """The run-level score: the corpus score when there is one, else the mean item score."""
        if len(predictions) != len(references):
            raise ValueError(f"{len(predictions)} predictions but {len(references)} reference lists")
        if not predictions:
            raise ValueError(f"metric {self.name!r} cannot aggregate an empty run")
        if self.corpus is not None:
            return float(self.corpus(predictions, references))
        scores = [self.score(p, r) for p, r in zip(predictions, references, strict=True)]
        return sum(scores) / len(scores)
