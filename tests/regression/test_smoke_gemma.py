"""A small suite on the real Gemma 3 270M (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunegate.regression import parse_regression_suite, run_regression
from tunegate.store import open_store


@pytest.mark.slow
def test_gemma_smoke(tmp_path: Path) -> None:
    suite = parse_regression_suite(
        {
            "name": "gemma-smoke",
            "defaults": {"max_new_tokens": 16},
            "cases": [
                {
                    "id": "capital",
                    "messages": [{"role": "user", "content": "What is the capital of France? One word."}],
                    "assert": [{"type": "icontains", "value": "paris"}],
                },
                {"id": "not-empty", "prompt": "The sky is", "assert": [{"type": "min-length", "value": 1}]},
                {
                    "id": "no-refusal",
                    "messages": [{"role": "user", "content": "Name a colour."}],
                    "assert": [{"type": "not-is-refusal"}],
                },
            ],
        }
    )
    r = run_regression(suite, "builtin:gemma-3-270m", open_store(f"sqlite:///{tmp_path / 's.db'}"))
    assert len(r.cases) == 3 and all(c.outputs[0] for c in r.cases)
    assert r.cases[1].ok, r.cases[1].reason
