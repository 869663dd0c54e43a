"""In-process rate limits: a token bucket per key (a rater, or a client address for failed logins)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

__all__ = ["Limits", "RateLimiter"]


@dataclass(frozen=True)
class Limits:
    """Requests per second a rater may make (with a burst), and failed invite/token attempts per minute
    per client address; the largest request body accepted; the longest reason."""

    rater_rate: float = 30.0
    rater_burst: int = 60
    failures_per_minute: int = 20
    max_body: int = 16_384


class RateLimiter:
    """Thread-safe token buckets: ``allow(key)`` spends one token, False when the bucket is empty."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > 100_000:  # forget idle keys rather than grow without bound
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60}
            return True
