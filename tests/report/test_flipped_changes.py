"""Which items a report shows: every flip of a right/wrong metric; for a continuous metric the largest
per-item drops and gains; each with its input and reference, through the JSON round trip."""

from __future__ import annotations

import json

from tests.report.conftest import make_result
from tunegate.report import result_from_json
from tunegate.runner._compare import TOP_CHANGES, _flipped
from tunegate.runner._evaluate import TaskScores
from tunegate.tasks import ItemScore


def _scores(values: dict[str, float], metric: str) -> TaskScores:
    return TaskScores(
        task="t",
        items={
            i: ItemScore({metric: v}, output=f"out {i}", input=f"question {i}", reference=f"answer {i}")
            for i, v in values.items()
        },
    )


def test_binary_metric_lists_every_flip_with_input_and_reference() -> None:
    base = _scores({"a": 1.0, "b": 0.0, "c": 1.0}, "em")
    tuned = _scores({"a": 0.0, "b": 1.0, "c": 1.0}, "em")
    flips = {f.item: f for f in _flipped("em", True, base, tuned)}
    assert sorted(flips) == ["a", "b"]
    assert (flips["a"].input, flips["a"].reference) == ("question a", "answer a")


def test_continuous_metric_lists_the_largest_drops_and_gains() -> None:
    base = {str(i): 0.5 for i in range(20)}
    tuned = {str(i): 0.5 + (i - 10) / 25 for i in range(20)}  # 0..9 drop, 10 equal, 11..19 gain
    out = _flipped("rougeL", False, _scores(base, "rougeL"), _scores(tuned, "rougeL"))
    drops = [f.item for f in out if f.tuned_score < f.base_score]
    gains = [f.item for f in out if f.tuned_score > f.base_score]
    assert drops == ["0", "1", "2", "3", "4"][:TOP_CHANGES]  # largest drop first
    assert gains == ["19", "18", "17", "16", "15"][:TOP_CHANGES]


def test_input_and_reference_survive_the_json() -> None:
    r = make_result()
    back = result_from_json(json.loads(json.dumps(r.to_json())))
    f = back.tasks[0].flipped[0]
    assert f.input is not None and "capital of France" in f.input and f.reference == "Paris"
