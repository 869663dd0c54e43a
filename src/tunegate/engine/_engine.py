"""The engine: the one door to every model.

For each list of requests it looks every request up in the cache (the store's ``responses`` table,
keyed by model fingerprint + canonical request) and sends only the misses to the backend, in the
sub-batches and order the backend prefers (:meth:`Backend.plan`; the HF scorer wants families of
shared prefixes together). It keeps up to :attr:`Backend.max_in_flight` requests in flight,
applies the shared :class:`~tunegate.engine.Policy` (retries with backoff and jitter, an overall
deadline per remote request, the run's rate limit, validation of every answer), writes each
sub-batch to the store the moment it completes and reports progress for it. A run killed at any
point resumes by running again: what finished is read back, nothing is recomputed, and at most the
sub-batches in flight are lost. The model is loaded only if something misses (a start-up line says
what is being loaded).

A request already in flight is not sent again: while one engine computes a cache key, every other
engine on the same store (another role on the same model, another task of the run) that asks for it
waits for that answer instead of calling the backend (single flight; the waiter counts it as cached).

All of this runs on one event loop (:mod:`tunegate.engine._loop`): ``await engine.arun(...)`` from
async code (several engines at once: base and tuned side by side), or the synchronous
``engine.run(...)``, which Ctrl-C interrupts at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from tunegate.engine._loop import engine_loop, in_worker, on_engine_loop, run_sync
from tunegate.engine._policy import Policy, RateLimiter
from tunegate.engine._progress import NullProgress, Progress
from tunegate.engine._validate import InvalidAnswer, validate
from tunegate.errors import BackendError
from tunegate.models import Backend, Model
from tunegate.models._backend import TransientBackendError
from tunegate.models._requests import (
    GenerateResult,
    Request,
    Result,
    request_key,
    request_to_json,
    result_from_json,
    result_to_json,
)
from tunegate.store import Store

__all__ = ["Engine", "EngineStats"]

log = logging.getLogger(__name__)

#: (store id, cache key) -> the answer being computed; only touched on the engine loop
_IN_FLIGHT: dict[tuple[int, str], asyncio.Future[Result]] = {}


@dataclass
class EngineStats:
    """What an engine did: requests answered from the cache, and computed by the backend."""

    cached: int = 0
    computed: int = 0
    backend_calls: int = 0


class Engine:
    """Answers requests for one model, through the cache."""

    def __init__(
        self,
        model: Model,
        store: Store,
        *,
        batch_size: int | None = None,
        progress: Progress | None = None,
        label: str = "",
        policy: Policy | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.model = model
        self.store = store
        self.batch_size = batch_size
        self.progress = progress or NullProgress()
        self.label = label or str(model.spec)
        self.policy = policy or Policy.from_env()
        self.limiter = limiter or RateLimiter(self.policy.rate_limit)
        self.stats = EngineStats()
        self._remembered = False
        self._slots: asyncio.Semaphore | None = None

    def run(self, requests: Sequence[Request], description: str = "") -> list[Result]:
        """Answer ``requests`` (all of one kind), in order; blocks until done."""
        return run_sync(self._arun(list(requests), description))

    async def arun(self, requests: Sequence[Request], description: str = "") -> list[Result]:
        """Answer ``requests`` (all of one kind), in order."""
        if on_engine_loop():
            return await self._arun(list(requests), description)
        fut = asyncio.run_coroutine_threadsafe(self._arun(list(requests), description), engine_loop())
        return await asyncio.wrap_future(fut)

    async def _arun(self, requests: list[Request], description: str) -> list[Result]:
        if not requests:
            return []
        kind = requests[0].kind
        if any(r.kind != kind for r in requests):
            raise ValueError("Engine.run takes requests of one kind at a time")
        fp = self.model.fingerprint
        if not self._remembered:
            self.store.remember_model(fp, str(self.model.spec))
            self._remembered = True
        keys = [request_key(fp, r) for r in requests]
        found = self.store.get_responses(keys)
        results: list[Result | None] = [
            result_from_json(kind, found[k]) if k in found else None for k in keys
        ]
        self.stats.cached += sum(r is not None for r in results)
        # Each distinct missing request is computed once, even if a task asks it twice, and not at all
        # when another engine is already computing it: then its answer is awaited.
        todo: dict[str, int] = {}
        for i, k in enumerate(keys):
            if results[i] is None and k not in todo:
                todo[k] = i
        first = dict(todo)
        while first:
            mine = [i for k, i in first.items() if (id(self.store), k) not in _IN_FLIGHT]
            theirs = {k: _IN_FLIGHT[(id(self.store), k)] for k in first if (id(self.store), k) in _IN_FLIGHT}
            if mine:
                await self._compute(requests, keys, results, mine, description or kind)
            retry: dict[str, int] = {}
            for k, fut in theirs.items():
                try:
                    results[first[k]] = await asyncio.shield(fut)
                except asyncio.CancelledError:
                    task = asyncio.current_task()
                    if not fut.cancelled() or (task is not None and task.cancelling()):
                        raise  # we were cancelled, not the engine computing it
                    retry[k] = first[k]  # its computation was abandoned: ask again
                    continue
                self.stats.cached += 1
            if retry:  # finished meanwhile (stored), or still to compute
                found = self.store.get_responses(list(retry))
                for k, i in retry.items():
                    if k in found:
                        results[i] = result_from_json(kind, found[k])
                        self.stats.cached += 1
            first = {k: i for k, i in retry.items() if results[i] is None}
        out = []
        for i, r in enumerate(results):
            if r is None:
                r = results[i] = results[todo[keys[i]]]
            assert r is not None
            out.append(r)
        return out

    async def backend(self) -> Backend:
        """The loaded backend; loads it (in a worker thread, with a start-up line) the first time."""
        if not self.model.loaded:
            self.progress.note(f"{self.label}: loading {self.model.spec}")
            backend = await in_worker(lambda: self.model.backend)
        else:
            backend = self.model.backend
        if backend.max_response_bytes is None:
            backend.max_response_bytes = self.policy.max_response_bytes
        return backend

    async def _compute(
        self,
        requests: list[Request],
        keys: list[str],
        results: list[Result | None],
        missing: list[int],
        description: str,
    ) -> None:
        # In flight from now on (before the first await: the model load), so no engine starts these too.
        loop = asyncio.get_running_loop()
        flights = {(id(self.store), keys[i]): loop.create_future() for i in missing}
        _IN_FLIGHT.update(flights)
        try:
            await self._compute_batches(requests, keys, results, missing, description, flights)
        finally:
            for flight, fut in flights.items():  # abandoned (an error, Ctrl-C): waiters ask again
                if _IN_FLIGHT.get(flight) is fut:
                    del _IN_FLIGHT[flight]
                fut.cancel()

    async def _compute_batches(
        self,
        requests: list[Request],
        keys: list[str],
        results: list[Result | None],
        missing: list[int],
        description: str,
        flights: dict[tuple[int, str], asyncio.Future[Result]],
    ) -> None:
        backend = await self.backend()
        kind = requests[missing[0]].kind
        size = self.batch_size or backend.batch_size(kind)
        fp = self.model.fingerprint
        if self._slots is None:  # sub-batches in flight: max_in_flight requests in all
            self._slots = asyncio.Semaphore(max(1, backend.max_in_flight // size))
        slots = self._slots
        handle = self.progress.task(f"{self.label}: {description}", total=len(missing))

        async def one(idx: list[int]) -> None:
            batch = [requests[i] for i in idx]
            async with slots:
                answers = await self._call(backend, kind, batch)
            self.stats.computed += len(batch)
            rows = []
            for i, ans in zip(idx, answers, strict=True):
                results[i] = ans
                rows.append((keys[i], fp, kind, request_to_json(requests[i]), result_to_json(ans)))
            self.store.put_responses(rows)
            for i, ans in zip(idx, answers, strict=True):  # stored first: a waiter may read it back
                _land(flights, (id(self.store), keys[i]), ans)
            tokens = sum(a.n_tokens for a in answers if isinstance(a, GenerateResult))
            self.progress.advance(handle, len(batch), tokens=tokens)

        tasks = [asyncio.create_task(one(idx)) for idx in backend.plan(requests, missing, size)]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _call(self, backend: Backend, kind: str, batch: list[Request]) -> list[Result]:
        """One sub-batch, under the policy: rate limit, deadline, validation, retries with backoff."""
        policy = self.policy
        failures = 0
        while True:
            await self.limiter.take(len(batch))
            retry_after: float | None = None
            self.stats.backend_calls += 1
            try:
                if backend.is_async and policy.deadline is not None:
                    answers = await asyncio.wait_for(backend.abatch(kind, batch), policy.deadline)
                else:
                    answers = await backend.abatch(kind, batch)
                validate(kind, batch, answers)
                return answers
            except TimeoutError:
                reason = (
                    f"{self.model.spec}: no complete answer within the {policy.deadline:g} s deadline "
                    "(TUNEGATE_DEADLINE); is the server healthy?"
                )
            except TransientBackendError as e:
                reason, retry_after = str(e), e.retry_after
            except InvalidAnswer as e:
                reason = f"{self.model.spec} returned an invalid answer: {e}"
            failures += 1
            if failures >= policy.attempts:
                raise BackendError(f"{reason} (gave up after {_attempts(failures)})")
            delay = policy.delay(failures, retry_after)
            log.info("%s; retrying in %.2f s", reason, delay)
            await asyncio.sleep(delay)


def _land(
    flights: dict[tuple[int, str], asyncio.Future[Result]], flight: tuple[int, str], ans: Result
) -> None:
    """Hand ``ans`` to whoever waits for ``flight`` and take it off the in-flight map."""
    fut = flights[flight]
    if not fut.done():
        fut.set_result(ans)
    if _IN_FLIGHT.get(flight) is fut:
        del _IN_FLIGHT[flight]


def _attempts(n: int) -> str:
    return "1 attempt" if n == 1 else f"{n} attempts"
