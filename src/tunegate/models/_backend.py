"""The narrow contract every model backend implements.

A backend answers one *batch* of requests at a time; the engine (``tunegate.engine``) owns caching,
ordering, batching, progress and persistence, so a backend stays small.

Edge cases every backend honours (the conformance tests in ``tests/models`` check them):

- ``loglikelihood``: an empty context is scored after the model's BOS token alone; whitespace at the
  end of the context is moved to the start of the continuation before tokenizing (so " Paris" is
  scored the same whether the space is written in the context or the continuation); the continuation
  must not be empty; when context + continuation exceed the model's window the context is cut from
  the left. ``is_greedy`` is True when every continuation token is the argmax.
- ``loglikelihood_rolling``: the whole text is scored, in windows of the model's maximum length with
  the BOS token before the first; an empty text scores 0.0.
- ``generate``: ``temperature == 0`` is greedy and deterministic; sampled requests are seeded by their
  own ``seed``; the returned text excludes the prompt and the stop string; ``finish`` says why
  generation ended.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from tunegate.models._requests import (
    GenerateRequest,
    GenerateResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    RollingRequest,
    RollingResult,
)

__all__ = ["Backend"]


class Backend(ABC):
    """A loaded model that can score and generate text."""

    #: how many requests the engine sends per call by default
    default_batch_size: int = 8

    @abstractmethod
    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        """log P(continuation | context) for each request."""

    @abstractmethod
    def loglikelihood_rolling(self, requests: Sequence[RollingRequest]) -> list[RollingResult]:
        """log P(text) for each request."""

    @abstractmethod
    def generate(self, requests: Sequence[GenerateRequest]) -> list[GenerateResult]:
        """Generate a continuation for each request."""

    def describe(self) -> dict[str, object]:
        """Facts about the backend worth recording with a run (device, dtype, chat template...)."""
        return {}
