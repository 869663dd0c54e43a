"""Statistics of paired base-vs-tuned comparisons: bootstrap CIs, exact tests, power and the gate.

Every function compares the same items scored under both models; see ``docs/statistics.md``.
"""

from __future__ import annotations

from tunegate.stats._bootstrap import PairedEstimate, paired_bootstrap
from tunegate.stats._gate import GateDecision, Outcome, Rule, gate_decision
from tunegate.stats._holm import holm
from tunegate.stats._mcnemar import McNemarResult, mcnemar_exact
from tunegate.stats._power import binary_sd, detection_power, items_needed, minimum_detectable_effect
from tunegate.stats._signflip import paired_p_value, sign_flip_p_value

__all__ = [
    "GateDecision",
    "McNemarResult",
    "Outcome",
    "PairedEstimate",
    "Rule",
    "binary_sd",
    "detection_power",
    "gate_decision",
    "holm",
    "items_needed",
    "mcnemar_exact",
    "minimum_detectable_effect",
    "paired_bootstrap",
    "paired_p_value",
    "sign_flip_p_value",
]
