"""Frozen request and result records: what the engine asks a backend, and what comes back.

A request is never mutated; its ``canonical()`` form (sorted-key JSON) plus the model fingerprint is
the cache key, so two runs asking the same thing of the same weights share one answer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

__all__ = [
    "ChatMessage",
    "GenerateRequest",
    "GenerateResult",
    "LoglikelihoodRequest",
    "LoglikelihoodResult",
    "Request",
    "Result",
    "RoleRequest",
    "RollingRequest",
    "RollingResult",
    "request_key",
    "request_to_json",
    "result_from_json",
    "result_to_json",
]


@dataclass(frozen=True)
class ChatMessage:
    """One turn of a chat conversation."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class LoglikelihoodRequest:
    """log P(continuation | context), summed over the continuation's tokens."""

    context: str
    continuation: str
    kind: ClassVar[str] = "loglikelihood"

    def size(self) -> int:
        return len(self.context) + len(self.continuation)


@dataclass(frozen=True)
class RollingRequest:
    """log P(text) of a whole text, in windows when it is longer than the model's context."""

    text: str
    kind: ClassVar[str] = "loglikelihood_rolling"

    def size(self) -> int:
        return len(self.text)


@dataclass(frozen=True)
class GenerateRequest:
    """Generate a continuation of ``prompt`` (a string, or chat messages).

    ``temperature == 0`` is greedy decoding. Generation stops at ``max_new_tokens``, at end of sequence,
    or just before the first occurrence of any ``stop`` string (the stop string is not returned).
    ``chat`` applies the model's chat template (``None``: apply it when the prompt is a list of messages
    and the model has a template).
    """

    prompt: str | tuple[ChatMessage, ...]
    max_new_tokens: int = 64
    stop: tuple[str, ...] = ()
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    chat: bool | None = None
    kind: ClassVar[str] = "generate"

    def size(self) -> int:
        if isinstance(self.prompt, str):
            return len(self.prompt)
        return sum(len(m.content) for m in self.prompt)


Request = LoglikelihoodRequest | RollingRequest | GenerateRequest


@dataclass(frozen=True)
class LoglikelihoodResult:
    """Sum of log-probabilities of the continuation, and whether greedy decoding would produce it."""

    logprob: float
    is_greedy: bool
    n_tokens: int = 0


@dataclass(frozen=True)
class RollingResult:
    """Sum of log-probabilities of the whole text."""

    logprob: float
    n_tokens: int = 0


@dataclass(frozen=True)
class GenerateResult:
    """Generated text (stop string removed) and why generation ended."""

    text: str
    n_tokens: int = 0
    finish: Literal["stop", "length", "eos"] = "eos"
    chat_template: bool = False


Result = LoglikelihoodResult | RollingResult | GenerateResult


@dataclass(frozen=True)
class RoleRequest:
    """A request for the model playing ``role`` (judge, attacker, ...) in a task's second round.

    ``model`` names that model by spec (an assertion's ``judge:``); None takes the run's model for the
    role (:class:`tunegate.engine.Roles`).
    """

    role: str
    request: Request
    model: str | None = None


_RESULT_TYPES: dict[str, type[Any]] = {
    "loglikelihood": LoglikelihoodResult,
    "loglikelihood_rolling": RollingResult,
    "generate": GenerateResult,
}


def _canonical(req: Request) -> str:
    payload: dict[str, Any] = {"kind": req.kind, **asdict(req)}
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def request_key(fingerprint: str, req: Request) -> str:
    """Cache key: sha256 of the model fingerprint and the canonical request."""
    h = hashlib.sha256()
    h.update(fingerprint.encode())
    h.update(b"\0")
    h.update(_canonical(req).encode())
    return h.hexdigest()


def request_to_json(req: Request) -> dict[str, Any]:
    """A JSON-ready dict of ``req`` (kind included)."""
    return {"kind": req.kind, **asdict(req)}


def result_to_json(res: Result) -> dict[str, Any]:
    """A JSON-ready dict of ``res``."""
    return asdict(res)


def result_from_json(kind: str, data: dict[str, Any]) -> Result:
    """Rebuild a result record of request kind ``kind`` from its JSON dict."""
    out: Result = _RESULT_TYPES[kind](**data)
    return out
