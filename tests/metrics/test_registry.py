"""The metric registry, the Metric record's contract, and coverage of the known-answer files."""

from __future__ import annotations

import dataclasses
import json
from math import comb
from pathlib import Path

import pytest

import tunegate.metrics as metrics_pkg
from tunegate.errors import UnknownNameError
from tunegate.metrics import METRICS, Metric, get_metric, pass_at_k

CASES_DIR = Path(__file__).parent / "cases"
BUILTINS = {"exact_match", "f1", "rouge1", "rouge2", "rougeL", "rougeLsum", "bleu", "chrf", "acc", "acc_norm"}


def test_builtins_registered() -> None:
    assert set(METRICS.names()) >= BUILTINS


@pytest.mark.parametrize(
    ("typo", "close"), [("exact_mach", "exact_match"), ("blue", "bleu"), ("rougel", "rougeL")]
)
def test_unknown_metric_suggests_close_match(typo: str, close: str) -> None:
    with pytest.raises(UnknownNameError, match=r"(?i)did you mean") as info:
        get_metric(typo)
    assert f'"{close}"' in str(info.value)


def test_every_builtin_has_known_answers() -> None:
    for name in BUILTINS:
        cases = json.loads((CASES_DIR / f"{name}.json").read_text(encoding="utf-8"))
        assert any("expected" in case for case in cases), name


def test_binary_metrics_score_zero_or_one() -> None:
    for name in BUILTINS:
        metric = get_metric(name)
        if not metric.binary:
            continue
        for case in json.loads((CASES_DIR / f"{name}.json").read_text(encoding="utf-8")):
            if "expected" in case:
                assert case["expected"] in (0.0, 1.0), (name, case)


def test_metric_contract() -> None:
    for name in BUILTINS:
        metric = get_metric(name)
        assert metric.name == name
        assert metric.higher_is_better
        assert (metric.item is None) == (metric.choice is not None), name
        assert metric.scale == (100.0 if name in {"bleu", "chrf"} else 1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_metric("f1").name = "x"  # type: ignore[misc]


def test_choice_metric_is_not_scored_from_text() -> None:
    with pytest.raises(TypeError, match="choice"):
        get_metric("acc").score("a", ["a"])


def test_aggregate_without_corpus_is_mean_of_items() -> None:
    metric = Metric(name="len", binary=False, item=lambda p, refs: float(len(p)))
    assert metric.aggregate(["a", "abc"], [["x"], ["y"]]) == 2.0
    with pytest.raises(ValueError):
        metric.aggregate([], [])


def test_pass_at_k_matches_comb_formula() -> None:
    for n in range(1, 16):
        for c in range(n + 1):
            for k in range(1, n + 1):
                expected = 1.0 - comb(n - c, k) / comb(n, k)
                assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12), (n, c, k)


def test_public_api() -> None:
    assert set(metrics_pkg.__all__) == {
        "METRICS",
        "Metric",
        "choice_accuracy",
        "choice_accuracy_norm",
        "choice_signals",
        "get_metric",
        "pass_at_k",
        "predicted_choice",
        "predicted_choice_norm",
    }


def test_predicted_choice_breaks_ties_to_the_first_index() -> None:
    from tunegate.metrics import predicted_choice, predicted_choice_norm

    assert predicted_choice([-2.0, -1.0, -1.0]) == 1
    # per character: -4/4 = -1.0 ties -2/2 = -1.0; the first wins, though the raw argmax is index 1
    assert predicted_choice_norm([-4.0, -2.0], ["abcd", "ab"]) == 0
