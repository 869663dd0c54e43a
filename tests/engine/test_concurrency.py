"""Base and tuned run at the same time and give bit-identical results to a sequential run; two roles on
one shared copy of weights take turns (no adapter switch while the other role's batch runs).

Real tiny transformers models; spies wrap methods of one backend instance and record when each call
ran (they still call the real method).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._tiny import build_tiny_model
from tunegate.engine import Engine
from tunegate.engine._loop import run_sync
from tunegate.models import GenerateRequest, LoglikelihoodRequest, Model, Result
from tunegate.models._hf import HFBackend
from tunegate.store import open_store

LL = [LoglikelihoodRequest(f"Context number {i} says", f" word{i % 3}") for i in range(16)]
GEN = [GenerateRequest(f"Prompt {i}:", max_new_tokens=6) for i in range(8)]


@pytest.fixture(scope="module")
def other_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny2") / "model", seed=1)


def _spy_calls(backend: Any, spans: list[tuple[str, float, float]], name: str) -> None:
    real = backend.call

    def call(kind: str, requests: Any) -> Any:
        start = time.monotonic()
        try:
            return real(kind, requests)
        finally:
            spans.append((name, start, time.monotonic()))

    backend.call = call


def _both(engines: list[Engine], reqs: list[Any]) -> list[list[Result]]:
    async def go() -> list[list[Result]]:
        return list(await asyncio.gather(*(e.arun(reqs) for e in engines)))

    return run_sync(go())


def _overlap(spans: list[tuple[str, float, float]]) -> bool:
    a = [s for s in spans if s[0] == "base"]
    b = [s for s in spans if s[0] == "tuned"]
    return any(x[1] < y[2] and y[1] < x[2] for x in a for y in b)


@pytest.mark.parametrize("reqs", [LL, GEN], ids=["loglikelihood", "generate"])
def test_base_and_tuned_at_once_equal_the_sequential_run(
    tiny_model_dir: Path, other_model_dir: Path, tmp_path: Path, reqs: list[Any]
) -> None:
    specs = {"base": f"hf:{tiny_model_dir}", "tuned": f"hf:{other_model_dir}"}
    seq_store = open_store(f"sqlite:///{tmp_path / 'seq.db'}")
    sequential = [Engine(Model(s), seq_store, batch_size=2).run(reqs) for s in specs.values()]

    spans: list[tuple[str, float, float]] = []
    store = open_store(f"sqlite:///{tmp_path / 'par.db'}")
    engines = []
    for role, spec in specs.items():
        model = Model(spec)
        _spy_calls(model.backend, spans, role)
        engines.append(Engine(model, store, batch_size=2))
    at_once = _both(engines, reqs)
    assert at_once == sequential  # bit-identical: == on floats and texts
    if reqs is LL:  # (the random tiny models both generate the same degenerate text)
        assert sequential[0] != sequential[1]  # two different models
    assert _overlap(spans), "base and tuned did not run at the same time"


def test_shared_weights_take_turns_and_keep_their_adapters(
    tiny_model_dir: Path, tiny_adapter_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = {"base": f"hf:{tiny_model_dir}", "tuned": f"hf:{tiny_model_dir}?adapter={tiny_adapter_dir}"}
    seq_store = open_store(f"sqlite:///{tmp_path / 'seq.db'}")
    sequential = [Engine(Model(s), seq_store, batch_size=2).run(LL) for s in specs.values()]

    models = {role: Model(spec) for role, spec in specs.items()}
    backends = {role: m.backend for role, m in models.items()}
    assert isinstance(backends["base"], HFBackend) and isinstance(backends["tuned"], HFBackend)
    weights = backends["base"].weights
    assert weights is backends["tuned"].weights  # one copy of the base weights
    inside: list[tuple[str, float, float]] = []
    active: list[str | None] = []
    real_use = weights.use

    @contextlib.contextmanager
    def use(adapter: str | None) -> Iterator[Any]:
        with real_use(adapter) as m:
            role = "tuned" if adapter else "base"
            start = time.monotonic()
            active.append(role)
            time.sleep(0.005)  # widen the window a concurrent switch would hit
            assert active[-1] == role
            yield m
            inside.append((role, start, time.monotonic()))

    monkeypatch.setattr(weights, "use", use)  # the weights are shared process-wide: undo after
    store = open_store(f"sqlite:///{tmp_path / 'par.db'}")
    at_once = _both([Engine(models[r], store, batch_size=2) for r in ("base", "tuned")], LL)
    assert at_once == sequential and sequential[0] != sequential[1]
    assert {r for r, _, _ in inside} == {"base", "tuned"}
    assert not _overlap(inside), "an adapter switch happened while the other role's batch ran"
