"""Multiple-choice accuracy from per-choice log-likelihoods, as lm-evaluation-harness computes it."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "choice_accuracy",
    "choice_accuracy_norm",
    "choice_signals",
    "predicted_choice",
    "predicted_choice_norm",
]


def _check(loglikelihoods: Sequence[float], gold: int) -> None:
    if not loglikelihoods:
        raise ValueError("multiple choice needs at least one choice log-likelihood")
    if not 0 <= gold < len(loglikelihoods):
        raise ValueError(f"gold index {gold} is out of range for {len(loglikelihoods)} choices")


def predicted_choice(loglikelihoods: Sequence[float]) -> int:
    """Index of the highest log-likelihood (ties: first index wins, as numpy's argmax)."""
    import numpy as np  # here, not at module level: listing the tasks (``tunegate --help``) stays light

    _check(loglikelihoods, 0)
    return int(np.argmax(np.asarray(loglikelihoods, dtype=float)))


def predicted_choice_norm(loglikelihoods: Sequence[float], choice_texts: Sequence[str]) -> int:
    """Index of the highest log-likelihood per character of the choice text (lm-eval ``acc_norm``).

    ``completion_len = len(choice)`` of the choice string without the leading target delimiter (the
    space before the answer); ties go to the first index.
    """
    import numpy as np

    _check(loglikelihoods, 0)
    if len(choice_texts) != len(loglikelihoods):
        raise ValueError(f"{len(loglikelihoods)} log-likelihoods but {len(choice_texts)} choice texts")
    lengths = np.array([float(len(text)) for text in choice_texts])
    if not lengths.all():
        raise ValueError("acc_norm cannot normalise by an empty choice text")
    return int(np.argmax(np.asarray(loglikelihoods, dtype=float) / lengths))


def choice_accuracy(loglikelihoods: Sequence[float], gold: int) -> float:
    """1.0 when the highest log-likelihood is the gold choice, else 0.0 (ties: first index wins)."""
    _check(loglikelihoods, gold)
    return 1.0 if predicted_choice(loglikelihoods) == gold else 0.0


def choice_accuracy_norm(loglikelihoods: Sequence[float], choice_texts: Sequence[str], gold: int) -> float:
    """Accuracy of :func:`predicted_choice_norm` (lm-evaluation-harness ``acc_norm``)."""
    _check(loglikelihoods, gold)
    return 1.0 if predicted_choice_norm(loglikelihoods, choice_texts) == gold else 0.0


def choice_signals(loglikelihoods: Sequence[float], gold: int) -> dict[str, float]:
    """Drift and calibration signals of one multiple-choice item, from its choices' log-likelihoods.

    ``gold_logprob``: the gold choice's summed log-likelihood (nats, *not* length-normalised);
    ``gold_prob``: the probability on the gold choice after a softmax over the choices' log-likelihoods;
    ``brier``: the multi-class Brier score ``sum_k (p_k - [k == gold])^2`` of that distribution (0 best,
    2 worst; Brier 1950); ``confidence`` (the largest ``p_k``) and ``correct`` (the argmax is gold) feed
    the corpus-level ECE.
    """
    import numpy as np

    _check(loglikelihoods, gold)
    ll = np.asarray(loglikelihoods, dtype=float)
    p = np.exp(ll - ll.max())
    p /= p.sum()
    onehot = np.zeros_like(p)
    onehot[gold] = 1.0
    pred = int(np.argmax(ll))
    return {
        "gold_logprob": float(ll[gold]),
        "gold_prob": float(p[gold]),
        "brier": float(np.sum((p - onehot) ** 2)),
        "confidence": float(p[pred]),
        "correct": float(pred == gold),
    }
