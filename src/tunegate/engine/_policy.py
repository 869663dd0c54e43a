"""The policy every backend shares: retries, deadlines, a rate limit and a response size cap.

Settings come from the environment (this module is the only place the engine reads it):

================================  =======  =========================================================
``TUNEGATE_ATTEMPTS``             5        tries per batch on 429, 5xx, timeouts, dropped connections
                                           and invalid answers (``TUNEGATE_OPENAI_ATTEMPTS`` also read)
``TUNEGATE_BACKOFF``              1        first wait in s, doubling each retry, with ±50 % jitter,
                                           at most 30 s; a ``Retry-After`` is honoured up to 60 s
                                           (``TUNEGATE_OPENAI_BACKOFF`` also read)
``TUNEGATE_DEADLINE``             300      overall limit in s of one request to a remote backend, from
                                           send to last byte (a server trickling bytes still times out)
``TUNEGATE_RATE_LIMIT``           none     requests per second, summed over every model of one run
``TUNEGATE_MAX_RESPONSE_BYTES``   16 MiB   a larger response body is refused, never cached
================================  =======  =========================================================
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from dataclasses import dataclass

__all__ = ["Policy", "RateLimiter"]


def _env(names: tuple[str, ...], default: float | None) -> float | None:
    """The first of ``names`` that is set, checked by :mod:`tunegate._settings` (finite, in range)."""
    from tunegate._settings import env_number

    for name in names:
        raw = os.environ.get(name)
        if raw is not None and raw.strip() != "":
            return env_number(name, 0.0)
    return default


@dataclass(frozen=True)
class Policy:
    """How the engine treats every backend call."""

    attempts: int = 5
    backoff: float = 1.0
    max_backoff: float = 30.0
    max_retry_after: float = 60.0
    #: seconds one request to a remote (async) backend may take in all; None: no limit
    deadline: float | None = 300.0
    #: requests per second over a whole run; None: unlimited
    rate_limit: float | None = None
    max_response_bytes: int = 16 * 1024 * 1024

    @classmethod
    def from_env(cls) -> Policy:
        attempts = _env(("TUNEGATE_ATTEMPTS", "TUNEGATE_OPENAI_ATTEMPTS"), cls.attempts)
        backoff = _env(("TUNEGATE_BACKOFF", "TUNEGATE_OPENAI_BACKOFF"), cls.backoff)
        size = _env(("TUNEGATE_MAX_RESPONSE_BYTES",), cls.max_response_bytes)
        return cls(
            attempts=int(attempts or cls.attempts),
            backoff=float(backoff if backoff is not None else cls.backoff),
            deadline=_env(("TUNEGATE_DEADLINE",), cls.deadline),
            rate_limit=_env(("TUNEGATE_RATE_LIMIT",), None),
            max_response_bytes=int(size or cls.max_response_bytes),
        )

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        """Seconds to wait before try ``failures + 1``: exponential with jitter, or the server's wish."""
        base = min(self.backoff * 2 ** (failures - 1), self.max_backoff)
        wait: float = base * random.uniform(0.5, 1.5)
        if retry_after is not None:
            wait = max(wait, min(max(retry_after, 0.0), self.max_retry_after))
        return wait


class RateLimiter:
    """A token bucket shared by every engine of one run: at most ``rate`` requests a second."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def take(self, n: int = 1) -> None:
        """Wait until ``n`` more requests may be sent."""
        if not self.rate:
            return
        async with self._lock:
            now = time.monotonic()
            start = max(self._next, now)
            self._next = start + n / self.rate
            wait = start - now
        if wait > 0:
            await asyncio.sleep(wait)
