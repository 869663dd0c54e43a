"""Many looks, one verdict: evaluating every training checkpoint must not give every one a chance to pass.

A verdict per checkpoint is a statement about *that* checkpoint; picking whichever checkpoint passed
afterwards is a selection among ``K`` looks, and its error rate is up to ``K`` times the per-look one.
Two remedies, both valid under any dependence between checkpoints:

* **alpha spending** — each of ``planned_looks`` is tested at ``alpha / planned_looks`` (Bonferroni
  spending: simpler and more conservative than O'Brien–Fleming, but it needs no assumption about how
  the checkpoints' results are correlated); the family-wise error over all looks stays <= alpha.
* **best checkpoint vs base** — only the checkpoint with the best score so far is compared with the
  base, at that same spent level, so choosing it is already paid for.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["alpha_per_look", "best_look"]


def alpha_per_look(alpha: float, planned_looks: int) -> float:
    """The level each look is tested at so that ``planned_looks`` looks together keep ``alpha``."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if planned_looks < 1:
        raise ValueError(f"planned_looks must be >= 1, got {planned_looks}")
    return alpha / planned_looks


def best_look(scores: Sequence[float]) -> int:
    """Index of the best score (the earliest of ties: prefer the checkpoint trained least)."""
    if not scores:
        raise ValueError("no looks yet")
    best = max(scores)
    return next(i for i, s in enumerate(scores) if s == best)
