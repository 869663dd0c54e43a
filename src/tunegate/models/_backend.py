"""The narrow contract every model backend implements.

A backend answers one *batch* of requests at a time; the engine (``tunegate.engine``) owns caching,
retries, deadlines, rate limits, validation, concurrency, progress and persistence, so a backend stays
small. A backend says how it wants to be called: :meth:`Backend.plan` cuts the engine's missing
requests into sub-batches in the order it prefers, :meth:`Backend.batch_size` sizes them per kind,
:attr:`Backend.max_in_flight` says how many requests may be in flight at once, and :meth:`Backend.abatch`
answers one (a blocking backend runs in a worker thread; a remote one overrides it with real async
I/O, which the engine can cancel and time out).

Edge cases every backend honours (``tests/models/test_conformance.py`` checks each registered one):

- ``loglikelihood``: an empty context is scored after the model's BOS token alone; whitespace at the
  end of the context is moved to the start of the continuation before tokenizing (so " Paris" is
  scored the same whether the space is written in the context or the continuation); the continuation
  must not be empty (``ValueError``); when context + continuation exceed the model's window the
  context is cut from the left. ``is_greedy`` is True when every continuation token is the argmax.
  ``logprob`` is a finite float ≤ 0.
- ``loglikelihood_rolling``: the whole text is scored, in windows of the model's maximum length with
  the BOS token before the first; an empty text scores 0.0.
- ``generate``: ``temperature == 0`` is greedy and deterministic; sampled requests are seeded by their
  own ``seed``; the returned text excludes the prompt and the stop string; ``finish`` says why
  generation ended. An empty text is a valid answer (the model ended at once).
- Every method returns one result per request, in order; a request's answer does not depend on the
  other requests of its batch (up to float rounding of batched kernels).

Failures: raise :class:`TransientBackendError` for what a retry may cure (429, 5xx, timeouts, dropped
connections; ``retry_after`` carries a server's ``Retry-After``); any other ``BackendError`` is final.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from tunegate.errors import BackendError
from tunegate.models._order import longest_first
from tunegate.models._requests import (
    GenerateRequest,
    GenerateResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Request,
    Result,
    RollingRequest,
    RollingResult,
)

__all__ = ["Backend", "TransientBackendError"]


class TransientBackendError(BackendError):
    """A failure a retry may cure; the engine retries it with backoff (``retry_after``: the server's)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Backend(ABC):
    """A loaded model that can score and generate text."""

    #: how many requests the engine sends per call by default
    default_batch_size: int = 8
    #: requests the engine may keep in flight at once, over all sub-batches (a remote server: many;
    #: local weights: 1, which means one sub-batch at a time)
    max_in_flight: int = 1
    #: set by the engine: a response larger than this is refused (backends that read bodies honour it)
    max_response_bytes: int | None = None

    @abstractmethod
    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        """log P(continuation | context) for each request."""

    @abstractmethod
    def loglikelihood_rolling(self, requests: Sequence[RollingRequest]) -> list[RollingResult]:
        """log P(text) for each request."""

    @abstractmethod
    def generate(self, requests: Sequence[GenerateRequest]) -> list[GenerateResult]:
        """Generate a continuation for each request."""

    # -- how the engine calls it ------------------------------------------------------------------
    def batch_size(self, kind: str) -> int:
        """Requests per sub-batch of ``kind``: the unit of progress, of writes and of loss on a crash."""
        return self.default_batch_size

    def plan(self, requests: Sequence[Request], missing: Sequence[int], size: int) -> list[list[int]]:
        """The missing requests (indices into ``requests``, all of one kind) in sub-batches of about
        ``size``, in the order this backend runs fastest. Default: longest first."""
        return longest_first(requests, missing, size)

    @property
    def is_async(self) -> bool:
        """Whether :meth:`abatch` is real async I/O (cancellable, so the engine's deadline applies)."""
        return type(self).abatch is not Backend.abatch

    async def abatch(self, kind: str, requests: Sequence[Any]) -> list[Result]:
        """Answer one sub-batch of ``kind``. Default: the blocking method in a daemon worker thread."""
        from tunegate.engine._loop import in_worker

        return await in_worker(self.call, kind, requests)

    def call(self, kind: str, requests: Sequence[Any]) -> list[Result]:
        """The blocking method for ``kind``."""
        if kind == "loglikelihood":
            return list(self.loglikelihood(requests))
        if kind == "loglikelihood_rolling":
            return list(self.loglikelihood_rolling(requests))
        return list(self.generate(requests))

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections or memory (optional)."""
