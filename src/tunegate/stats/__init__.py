"""Statistics of paired base-vs-tuned comparisons: estimates, exact tests, power and the gate.

Every function compares the same items scored under both models; see ``docs/statistics.md``.
Map: ``_moments`` (exact, cluster-robust mean/SE, vectorised) -> ``_estimators`` (registry; default
``paired_mean``: t interval, bootstrap cross-check, per-model Wilson) -> ``_gate`` (the vectorised
decision rules, Holm) -> ``_decision`` (records with reasons) ; ``_combine`` (scorecard rows),
``_looks`` (many checkpoints, one verdict), ``_corpus`` (corpus statistics:
ECE, paired bootstrap). Classical building blocks: ``_bootstrap``, ``_mcnemar``,
``_signflip``, ``_holm``, ``_power``.
"""

from __future__ import annotations

from tunegate.stats._bootstrap import PairedEstimate, paired_bootstrap
from tunegate.stats._corpus import (
    CorpusStatistic,
    corpus_statistic,
    expected_calibration_error,
    paired_corpus_bootstrap,
    register_corpus_statistic,
)
from tunegate.stats._decision import GateDecision, Outcome, decide_gates, gate_decision, moments_of
from tunegate.stats._estimators import (
    DEFAULT_ESTIMATOR,
    Estimator,
    estimate,
    estimator_names,
    register_estimator,
    score_interval,
    wilson_interval,
)
from tunegate.stats._gate import (
    DEFAULT_MATERIAL,
    DEFAULT_MIN_N,
    DEFAULT_POWER,
    FAIL,
    INCONCLUSIVE,
    PASS,
    GateArrays,
    GateKind,
    GateRule,
    decide,
    decide_family,
    fail_p_values,
    holm_adjust,
)
from tunegate.stats._holm import holm
from tunegate.stats._looks import alpha_per_look, best_look
from tunegate.stats._mcnemar import McNemarResult, mcnemar_exact
from tunegate.stats._moments import Moments, cluster_codes, floor_scale, mean_se, metric_range
from tunegate.stats._power import binary_sd, detection_power, items_needed, minimum_detectable_effect
from tunegate.stats._signflip import paired_p_value, sign_flip_p_value

__all__ = [
    "DEFAULT_ESTIMATOR",
    "DEFAULT_MATERIAL",
    "DEFAULT_MIN_N",
    "DEFAULT_POWER",
    "FAIL",
    "INCONCLUSIVE",
    "PASS",
    "CorpusStatistic",
    "Estimator",
    "GateArrays",
    "GateDecision",
    "GateKind",
    "GateRule",
    "McNemarResult",
    "Moments",
    "Outcome",
    "PairedEstimate",
    "alpha_per_look",
    "best_look",
    "binary_sd",
    "cluster_codes",
    "corpus_statistic",
    "decide",
    "decide_family",
    "decide_gates",
    "detection_power",
    "estimate",
    "estimator_names",
    "expected_calibration_error",
    "fail_p_values",
    "floor_scale",
    "gate_decision",
    "holm",
    "holm_adjust",
    "items_needed",
    "mcnemar_exact",
    "mean_se",
    "metric_range",
    "minimum_detectable_effect",
    "moments_of",
    "paired_bootstrap",
    "paired_corpus_bootstrap",
    "paired_p_value",
    "register_corpus_statistic",
    "register_estimator",
    "score_interval",
    "sign_flip_p_value",
    "wilson_interval",
]
