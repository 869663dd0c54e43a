"""Every known-answer case in ``cases/<metric>.json`` (``pass_at_k.json`` for the function)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tunegate.metrics import get_metric, pass_at_k

CASES_DIR = Path(__file__).parent / "cases"
ERRORS: dict[str, type[Exception]] = {"ValueError": ValueError, "TypeError": TypeError}


def _cases() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.json")):
        for i, case in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            params.append(pytest.param(path.stem, case, id=f"{path.stem}-{i}"))
    return params


def _evaluate(name: str, case: dict[str, Any]) -> float:
    if name == "pass_at_k":
        return pass_at_k(case["n"], case["c"], case["k"])
    metric = get_metric(name)
    if "loglikelihoods" in case:
        assert metric.choice is not None
        return metric.choice(case["loglikelihoods"], case["choices"], case["gold"])
    if "predictions" in case:
        return metric.aggregate(case["predictions"], case["references"])
    return metric.score(case["prediction"], case["references"])


@pytest.mark.parametrize(("name", "case"), _cases())
def test_known_answer(name: str, case: dict[str, Any]) -> None:
    if "raises" in case:
        with pytest.raises(ERRORS[case["raises"]]):
            _evaluate(name, case)
        return
    got = _evaluate(name, case)
    assert isinstance(got, float)
    assert got == pytest.approx(case["expected"], rel=0, abs=case.get("tol", 1e-12))
