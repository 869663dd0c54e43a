"""Checks on a backend's answers before anything is cached.

A NaN, infinite, positive or non-numeric log-likelihood, a missing or extra answer, or a field of the
wrong type is an :class:`InvalidAnswer`: the engine retries the batch and, if it stays wrong, fails
with this message. Nothing invalid is ever stored as a valid answer. An empty generated text is a
valid answer (a model may end at once); its ``finish`` must still be one of stop / length / eos.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from tunegate.errors import BackendError
from tunegate.models._requests import GenerateResult, LoglikelihoodResult, Request, RollingResult

__all__ = ["InvalidAnswer", "validate"]

_TYPES: dict[str, type[Any]] = {
    "loglikelihood": LoglikelihoodResult,
    "loglikelihood_rolling": RollingResult,
    "generate": GenerateResult,
}
#: log-probabilities above this are rounding noise at most; beyond it a backend is wrong
_LOGPROB_SLACK = 1e-4


class InvalidAnswer(BackendError):
    """A backend returned something that is not a valid answer."""


def _number(value: Any, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidAnswer(f"{what} is {type(value).__name__} {value!r}, not a number")
    if not math.isfinite(value):
        raise InvalidAnswer(f"{what} is {value!r}, not a finite number")
    if value > _LOGPROB_SLACK:
        raise InvalidAnswer(f"{what} is {value!r}; a log-probability cannot be positive")


def _count(value: Any, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidAnswer(f"{what} is {value!r}, not a token count")


def validate(kind: str, requests: Sequence[Request], answers: Any) -> None:
    """Raise :class:`InvalidAnswer` unless ``answers`` are valid answers to ``requests``, one each."""
    if not isinstance(answers, list | tuple):
        raise InvalidAnswer(f"expected a list of {len(requests)} answers, got {type(answers).__name__}")
    if len(answers) != len(requests):
        raise InvalidAnswer(f"expected {len(requests)} answers, got {len(answers)}")
    want = _TYPES[kind]
    for i, a in enumerate(answers):
        where = f"answer {i + 1} of {len(answers)} ({kind})"
        if not isinstance(a, want):
            raise InvalidAnswer(f"{where} is a {type(a).__name__}, not a {want.__name__}")
        if isinstance(a, LoglikelihoodResult | RollingResult):
            _number(a.logprob, f"{where}: logprob")
            _count(a.n_tokens, f"{where}: n_tokens")
        if isinstance(a, LoglikelihoodResult) and not isinstance(a.is_greedy, bool):
            raise InvalidAnswer(f"{where}: is_greedy is {a.is_greedy!r}, not True or False")
        if isinstance(a, GenerateResult):
            if not isinstance(a.text, str):
                raise InvalidAnswer(f"{where}: text is {type(a.text).__name__}, not a string")
            if a.finish not in ("stop", "length", "eos"):
                raise InvalidAnswer(f"{where}: finish is {a.finish!r}, not stop, length or eos")
            _count(a.n_tokens, f"{where}: n_tokens")
