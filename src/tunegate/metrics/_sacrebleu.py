"""Registers ``bleu`` and ``chrf``, computed by sacrebleu with its default settings, on its 0-100 scale.

The run aggregate is the corpus score (``corpus_bleu`` / ``corpus_chrf``), never a mean of sentences.
The item score is the sentence-level version (``sentence_bleu``: exp smoothing, effective order;
``sentence_chrf``), used only to pair items. Several references per item are scored the sacrebleu way
(BLEU: clipped counts over all references, closest reference length; chrF: the best reference), not as
a max of single-reference scores. Items may have different numbers of references.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tunegate.metrics import METRICS
from tunegate.metrics._base import Metric

__all__ = ["corpus_bleu", "corpus_chrf", "sentence_bleu", "sentence_chrf"]


def _check_refs(references: Sequence[str]) -> list[str]:
    if isinstance(references, str) or not references:
        raise ValueError("BLEU/chrF need a non-empty sequence of reference strings")
    return list(references)


def _streams(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> list[list[Any]]:
    """Turn per-item reference lists into sacrebleu's reference streams, padding with None."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} reference lists")
    if not predictions:
        raise ValueError("BLEU/chrF cannot score an empty corpus")
    per_item = [_check_refs(refs) for refs in references]
    width = max(len(refs) for refs in per_item)
    return [[refs[j] if j < len(refs) else None for refs in per_item] for j in range(width)]


def sentence_bleu(prediction: str, references: Sequence[str]) -> float:
    """Sentence BLEU, 0-100 (sacrebleu defaults: 13a tokenizer, exp smoothing, effective order)."""
    import sacrebleu

    return float(sacrebleu.sentence_bleu(prediction, _check_refs(references)).score)


def corpus_bleu(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Corpus BLEU, 0-100, with sacrebleu's defaults."""
    import sacrebleu

    return float(sacrebleu.corpus_bleu(list(predictions), _streams(predictions, references)).score)


def sentence_chrf(prediction: str, references: Sequence[str]) -> float:
    """Sentence chrF (character 6-grams, beta 2), 0-100."""
    import sacrebleu

    return float(sacrebleu.sentence_chrf(prediction, _check_refs(references)).score)


def corpus_chrf(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Corpus chrF (statistics summed over the corpus), 0-100."""
    import sacrebleu

    return float(sacrebleu.corpus_chrf(list(predictions), _streams(predictions, references)).score)


METRICS.add("bleu", Metric(name="bleu", binary=False, item=sentence_bleu, corpus=corpus_bleu, scale=100.0))
METRICS.add("chrf", Metric(name="chrf", binary=False, item=sentence_chrf, corpus=corpus_chrf, scale=100.0))
