"""Integrations: the ``transformers.Trainer`` callback and experiment trackers (MLflow, W&B).

Imported lazily: ``tunegate.integrations`` itself pulls in neither transformers nor a tracker.
"""

from typing import TYPE_CHECKING

from tunegate._lazy import lazy_attributes

if TYPE_CHECKING:
    from tunegate.integrations._compare import CompareCallback
    from tunegate.integrations._flatten import Flat, flatten_comparison, flatten_regression
    from tunegate.integrations._tracking import TRACKERS, trackers
    from tunegate.integrations._trainer import TunegateCallback

__all__ = [
    "TRACKERS",
    "CompareCallback",
    "Flat",
    "TunegateCallback",
    "flatten_comparison",
    "flatten_regression",
    "trackers",
]

_LAZY = {
    "CompareCallback": "tunegate.integrations._compare",
    "Flat": "tunegate.integrations._flatten",
    "TRACKERS": "tunegate.integrations._tracking",
    "TunegateCallback": "tunegate.integrations._trainer",
    "flatten_comparison": "tunegate.integrations._flatten",
    "flatten_regression": "tunegate.integrations._flatten",
    "trackers": "tunegate.integrations._tracking",
}

__getattr__, __dir__ = lazy_attributes(
    "tunegate.integrations", {k: (m, k) for k, m in _LAZY.items()}, globals(), __all__
)
