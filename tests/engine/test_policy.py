"""The engine's policy in isolation: backoff with jitter, Retry-After, the run-wide rate limit, the
validation of answers, progress per sub-batch (with tokens/s and a start-up line)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tunegate.engine import Engine, InvalidAnswer, NullProgress, Policy, RateLimiter
from tunegate.engine._loop import run_sync
from tunegate.engine._validate import validate
from tunegate.errors import BackendError
from tunegate.models import (
    GenerateRequest,
    GenerateResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Model,
    TransientBackendError,
    request_key,
)
from tunegate.models._hf import HFBackend
from tunegate.store import open_store


def test_backoff_doubles_with_jitter_and_honours_retry_after() -> None:
    p = Policy(backoff=1.0, max_backoff=30.0, max_retry_after=60.0)
    for failures in (1, 2, 3, 6):
        base = min(2 ** (failures - 1), 30.0)
        waits = [p.delay(failures) for _ in range(200)]
        assert all(0.5 * base <= w <= 1.5 * base for w in waits)
        assert len(set(waits)) > 1  # jittered: retries of many requests do not march in step
    assert p.delay(1, retry_after=7.0) >= 7.0
    assert p.delay(1, retry_after=3600.0) <= 60.0


def test_rate_limit_spaces_requests_over_a_run() -> None:
    limiter = RateLimiter(20.0)

    async def take(n: int) -> float:
        start = time.monotonic()
        for _ in range(n):
            await limiter.take()
        return time.monotonic() - start

    assert run_sync(take(11)) >= 0.45  # 10 gaps of 1/20 s


LL = [LoglikelihoodRequest("ctx", f" c{i}") for i in range(3)]


@pytest.mark.parametrize(
    ("answers", "why"),
    [
        ([LoglikelihoodResult(float("nan"), True)] * 3, "not a finite number"),
        ([LoglikelihoodResult(float("-inf"), True)] * 3, "not a finite number"),
        ([LoglikelihoodResult(0.5, True)] * 3, "cannot be positive"),
        ([LoglikelihoodResult("-1.0", True)] * 3, "not a number"),  # type: ignore[arg-type]
        ([LoglikelihoodResult(-1.0, "yes")] * 3, "is_greedy"),  # type: ignore[arg-type]
        ([LoglikelihoodResult(-1.0, True)] * 2, "expected 3 answers, got 2"),
        ([GenerateResult("x")] * 3, "not a LoglikelihoodResult"),
    ],
)
def test_invalid_answers_are_refused(answers: list[Any], why: str) -> None:
    with pytest.raises(InvalidAnswer, match=why):
        validate("loglikelihood", LL, answers)


def test_an_empty_generation_is_a_valid_answer() -> None:
    validate("generate", [GenerateRequest("x")], [GenerateResult("", finish="eos")])
    with pytest.raises(InvalidAnswer, match="finish"):
        validate("generate", [GenerateRequest("x")], [GenerateResult("", finish="bored")])  # type: ignore[arg-type]


def _mock(tmp_path: Path, **options: Any) -> Model:
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"options": {"unscripted": "hash", **options}}) + "\n", encoding="utf-8")
    return Model(f"mock:{path}")


def test_invalid_answers_are_retried_then_fail_and_nothing_is_stored(tmp_path: Path) -> None:
    model = _mock(tmp_path)
    backend = model.backend
    calls = []

    def bad(kind: str, requests: Any) -> Any:
        calls.append(len(requests))
        return [LoglikelihoodResult(float("nan"), True) for _ in requests]

    backend.call = bad  # type: ignore[method-assign]
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    eng = Engine(model, store, policy=Policy(attempts=3, backoff=0.001))
    with pytest.raises(BackendError, match=r"invalid answer.*not a finite number.*gave up after 3 attempts"):
        eng.run(LL)
    assert len(calls) == 3
    assert store.get_responses([request_key(model.fingerprint, r) for r in LL]) == {}
    eng2 = Engine(_mock(tmp_path), store)
    assert len(eng2.run(LL)) == 3 and eng2.stats.computed == 3  # nothing invalid was cached


def test_transient_errors_are_retried_and_final_errors_are_not(tmp_path: Path) -> None:
    model = _mock(tmp_path)
    real = model.backend.call
    seen: list[str] = []

    def flaky(kind: str, requests: Any) -> Any:
        seen.append(kind)
        if len(seen) < 3:
            raise TransientBackendError("server busy", retry_after=0.0)
        return real(kind, requests)

    model.backend.call = flaky  # type: ignore[method-assign]
    eng = Engine(model, open_store(f"sqlite:///{tmp_path / 's.db'}"), policy=Policy(backoff=0.001))
    assert len(eng.run(LL)) == 3 and len(seen) == 3 and eng.stats.backend_calls == 3

    def final(kind: str, requests: Any) -> Any:
        seen.append(kind)
        raise BackendError("bad request")

    model.backend.call = final  # type: ignore[method-assign]
    seen.clear()
    with pytest.raises(BackendError, match="bad request"):
        eng.run([LoglikelihoodRequest("other", " x")])
    assert len(seen) == 1


class _Recorder(NullProgress):
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def task(self, description: str, total: int) -> Any:
        self.events.append(("task", description, total))
        return 0

    def advance(self, handle: Any, n: int = 1, tokens: int = 0) -> None:
        self.events.append(("advance", n, tokens))

    def note(self, text: str) -> None:
        self.events.append(("note", text))


class _StoreRecorder(_Recorder):
    """Also notes how many responses the store holds at each advance."""

    def __init__(self, store: Any) -> None:
        super().__init__()
        self.store, self.stored = store, []

    def advance(self, handle: Any, n: int = 1, tokens: int = 0) -> None:
        super().advance(handle, n, tokens)
        self.stored.append(self.store.count_responses())


def test_hf_generation_reports_and_stores_every_sub_batch(tiny_model_dir: Path, tmp_path: Path) -> None:
    """One engine call per generation pool: each advances progress after its answers are stored."""
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    rec = _StoreRecorder(store)
    eng = Engine(Model(f"hf:{tiny_model_dir}"), store, progress=rec, label="tuned")
    size = HFBackend.generate_batch_size
    n = 2 * size + size // 2  # two full sub-batches and a partial one
    reqs = [GenerateRequest(f"Prompt {i}", max_new_tokens=3) for i in range(n)]
    eng.run(reqs, "triviaqa")
    assert rec.events[0] == ("note", f"tuned: loading hf:{tiny_model_dir}")  # the start-up line
    assert rec.events[1] == ("task", "tuned: triviaqa", n)
    advances = [e for e in rec.events if e[0] == "advance"]
    assert [k for _, k, _ in advances] == [size, size, size // 2]  # one per generation sub-batch
    assert all(tokens > 0 for _, _, tokens in advances)  # tokens/s can be shown
    assert rec.stored == [size, 2 * size, n]  # each sub-batch was in the store when it advanced
    assert eng.stats.backend_calls == 3 and eng.model.backend.batch_size("generate") == size


def test_plain_progress_shows_tokens_per_second(capsys: pytest.CaptureFixture[str]) -> None:
    from tunegate.engine import make_progress

    p = make_progress("plain")
    p.note("base: loading hf:x")
    h = p.task("base: gsm8k", total=2)
    p.advance(h, 1, tokens=30)
    err = capsys.readouterr().err
    assert "base: loading hf:x" in err and "tok/s" in err
