"""Single flight: a request already being computed is awaited, never sent to a backend a second time.

Real ``mock:`` backends (slow on purpose, so the requests overlap) that log every backend call to a
file; the tests count those calls.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tunegate.engine import Engine, Roles
from tunegate.engine._engine import _IN_FLIGHT
from tunegate.engine._loop import run_sync
from tunegate.errors import BackendError
from tunegate.models import GenerateRequest, LoglikelihoodRequest, Model, Result, RoleRequest
from tunegate.store import Store, open_store

GEN = [GenerateRequest(f"Question {i}?", max_new_tokens=4) for i in range(6)]
LL = [LoglikelihoodRequest(f"Context {i}", f" answer{i % 2}") for i in range(6)]


def _script(tmp_path: Path, name: str = "model", delay: float = 0.05) -> tuple[str, Path]:
    calls = tmp_path / f"{name}-calls.jsonl"
    script = tmp_path / f"{name}.jsonl"
    options = {"unscripted": "hash", "delay": delay, "calls_log": str(calls), "batch_size": 2}
    script.write_text(json.dumps({"options": options}) + "\n", encoding="utf-8")
    return f"mock:{script}", calls


def _computed(calls: Path) -> int:
    """Requests the backend computed, summed over every logged call."""
    if not calls.exists():
        return 0
    return sum(json.loads(line)["n"] for line in calls.read_text(encoding="utf-8").splitlines())


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    return open_store(f"sqlite:///{tmp_path / 'flight.db'}")


def _gather(*coros: Any) -> list[Any]:
    async def go() -> list[Any]:
        return list(await asyncio.gather(*coros))

    return run_sync(go())


def test_two_roles_on_one_model_compute_each_request_once(tmp_path: Path, store: Store) -> None:
    spec, calls = _script(tmp_path)
    roles = Roles(store, models={"target": spec, "judge": spec})
    asked = [RoleRequest(role, r) for role in ("target", "judge") for r in GEN]
    got = run_sync(roles.aanswer(asked, "both"))
    assert _computed(calls) == len(GEN)  # not 2 x: the judge waited for the target's answers
    for r in GEN:
        assert got[RoleRequest("target", r)] == got[RoleRequest("judge", r)]
    target, judge = (roles.engine(role) for role in ("target", "judge"))
    assert sorted([target.stats.computed, judge.stats.computed]) == [0, len(GEN)]
    assert target.stats.cached + judge.stats.cached == len(GEN)  # a shared answer counts as cached
    assert not _IN_FLIGHT


def test_two_tasks_of_one_run_on_one_engine_share_what_overlaps(tmp_path: Path, store: Store) -> None:
    spec, calls = _script(tmp_path)
    engine = Engine(Model(spec), store)
    first, second = LL[:4], LL[2:]  # two requests in common
    a, b = _gather(engine.arun(first, "task a"), engine.arun(second, "task b"))
    assert _computed(calls) == len(LL)  # 6 distinct requests, not 8
    assert a[2:] == b[:2]
    assert (engine.stats.computed, engine.stats.cached) == (len(LL), 2)
    # the same answers a cold sequential run computes (a fresh store, a fresh backend)
    cold_spec, cold_calls = _script(tmp_path, "cold")
    cold = Engine(Model(cold_spec), open_store(f"sqlite:///{tmp_path / 'cold.db'}"))
    assert cold.run(first) == a and cold.run(second) == b and _computed(cold_calls) == len(LL)


def test_different_stores_do_not_share(tmp_path: Path, store: Store) -> None:
    spec, calls = _script(tmp_path)
    other = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    _gather(Engine(Model(spec), store).arun(GEN), Engine(Model(spec), other).arun(GEN))
    assert _computed(calls) == 2 * len(GEN)  # each store gets its own rows


def test_a_waiter_computes_itself_when_the_first_engine_fails(tmp_path: Path, store: Store) -> None:
    spec, calls = _script(tmp_path)
    failing, healthy = Model(spec), Model(spec)
    assert failing.fingerprint == healthy.fingerprint

    def broken(kind: str, requests: Any) -> list[Result]:
        raise BackendError("the first engine's server went away")

    failing.backend.call = broken  # type: ignore[method-assign]
    owner, waiter = Engine(failing, store), Engine(healthy, store)

    async def both() -> tuple[BaseException | list[Result], list[Result]]:
        first = asyncio.ensure_future(owner.arun(GEN))
        await asyncio.sleep(0)  # the owner registers its requests as in flight first
        second = await waiter.arun(GEN)
        try:
            return await first, second
        except BackendError as e:
            return e, second

    err, answers = run_sync(both())
    assert isinstance(err, BackendError)
    assert len(answers) == len(GEN) and all(a.text for a in answers)  # type: ignore[union-attr]
    assert _computed(calls) == len(GEN)  # the healthy engine computed them once itself
    assert (waiter.stats.computed, owner.stats.computed) == (len(GEN), 0)
    assert not _IN_FLIGHT
