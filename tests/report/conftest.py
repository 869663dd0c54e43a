"""A constructed comparison with known gates and flipped items, some of them hostile HTML."""

from __future__ import annotations

import pytest

from tunegate.runner import ComparisonResult, GateResult, MetricComparison, TaskComparison
from tunegate.runner._result import FlippedItem

HOSTILE = '<script>window.__pwned = 1; console.error("pwned")</script><img src=x onerror="alert(1)">'


def _metric(name: str, base: float, tuned: float, lo: float, hi: float, n: int, binary: bool = True):  # type: ignore[no-untyped-def]
    return MetricComparison(
        metric=name,
        binary=binary,
        base=base,
        tuned=tuned,
        delta=tuned - base,
        ci_low=lo,
        ci_high=hi,
        p_value=0.04,
        n=n,
        method="paired percentile bootstrap, 2000 resamples, 95% CI; p: exact McNemar",
        discordant=(3, 1) if binary else None,
    )


def make_result(verdict: str = "FAIL", limit: int | None = 20) -> ComparisonResult:
    trivia = TaskComparison(
        task="triviaqa",
        dimension="task",
        n=20,
        primary="exact_match",
        config={"task": "triviaqa"},
        metrics=(
            _metric("exact_match", 0.30, 0.45, 0.05, 0.25, 20),
            _metric("f1", 0.4, 0.5, 0.0, 0.2, 20, False),
        ),
        flipped=(
            FlippedItem(
                "tqa-1",
                "exact_match",
                0.0,
                1.0,
                "Lyon",
                "Paris",
                input="Question: Which city is the capital of France?\nAnswer:",
                reference="Paris",
            ),
            FlippedItem(
                "tqa-2",
                "exact_match",
                0.0,
                1.0,
                "",
                "1066",
                input="Question: In which year was the Battle of Hastings?\nAnswer:",
                reference="1066",
            ),
            FlippedItem(
                "tqa-3", "exact_match", 1.0, 0.0, "Everest", HOSTILE, input=HOSTILE, reference="Mount Everest"
            ),
        ),
    )
    hella = TaskComparison(
        task="hellaswag",
        dimension="retention",
        n=20,
        primary="acc_norm",
        config={"task": "hellaswag"},
        metrics=(
            _metric("acc_norm", 0.50, 0.40, -0.2, -0.01, 20),
            _metric("acc", 0.5, 0.45, -0.15, 0.05, 20),
        ),
        flipped=(
            FlippedItem("hs-7", "acc_norm", 1.0, 0.0, "a man walks " + HOSTILE, "the dog & <b>cat</b>"),
            FlippedItem("hs-9", "acc_norm", 1.0, 0.0, "x", "y"),
        ),
    )
    gates = (
        GateResult(
            "triviaqa",
            "exact_match",
            "min_gain",
            0.0,
            "ci",
            "pass",
            "CI lower bound +0.05 > 0",
            detectable=0.06,
        ),
        GateResult(
            "hellaswag",
            "acc_norm",
            "max_drop",
            0.02,
            "ci",
            "fail",
            "delta -0.1 <script>alert('gate')</script> below -0.02",
            detectable=0.08,
        ),
        GateResult("hellaswag", "acc", "max_drop", 0.1, "ci", "inconclusive", "CI straddles -0.1", 0.12, 340),
    )
    return ComparisonResult(
        run_id="abc123def456",
        suite="demo",
        base={"spec": "hf:/models/base", "fingerprint": "f" * 16, "loaded": True},
        tuned={"spec": "hf:/models/base?adapter=/a", "fingerprint": "e" * 16, "loaded": True},
        tasks=(trivia, hella),
        gates=gates,
        verdict=verdict,  # type: ignore[arg-type]
        limit=limit,
        engine={"base": {"computed": 40, "cached": 0}, "tuned": {"computed": 40, "cached": 0}},
        warnings=(
            (f"--limit {limit}: only the first {limit} items of each task were evaluated",) if limit else ()
        ),
    )


def summaries_task() -> TaskComparison:
    """A task with a continuous primary metric (ROUGE-L) and a 0-100 metric (BLEU)."""
    changes = tuple(
        FlippedItem(
            f"sum-{i}",
            "rougeL",
            b,
            t,
            f"base summary {i}",
            f"tuned summary {i}" if i else "",
            input=f"Summarise article {i}.",
            reference=f"reference summary {i}",
        )
        for i, (b, t) in enumerate([(0.8, 0.1), (0.5, 0.45), (0.2, 0.9)])
    )
    return TaskComparison(
        task="summaries",
        dimension="task",
        n=30,
        primary="rougeL",
        config={"task": "custom"},
        metrics=(
            _metric("rougeL", 0.40, 0.42, -0.03, 0.07, 30, False),
            _metric("bleu", 20.0, 25.5, 1.0, 10.0, 30, False),
        ),
        flipped=changes,
    )


@pytest.fixture
def result() -> ComparisonResult:
    return make_result()
