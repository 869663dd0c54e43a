"""Every ``TUNEGATE_*`` environment setting, parsed and checked in one place.

A bad value is a ``ConfigError`` (exit 2) naming the variable, never a crash or a silent NaN; the CLI
checks them all before it touches the store (``check_environment``)::

    TUNEGATE_HOME                    folder of the default SQLite store         (default ./.tunegate)
    TUNEGATE_CACHE                   model and fingerprint cache                (default ~/.cache/tunegate)
    TUNEGATE_DB                      store URL                                  (default: the SQLite file)
    TUNEGATE_LOG                     DEBUG, INFO, WARNING, ERROR or CRITICAL    (default WARNING)
    TUNEGATE_OPENAI_TIMEOUT          read timeout, s, in (0, 86400]             (default 120)
    TUNEGATE_OPENAI_CONNECT_TIMEOUT  connect timeout, s, in (0, 86400]          (default 10)
    TUNEGATE_OPENAI_ATTEMPTS         tries per request, whole number in [1, 100] (default 5)
    TUNEGATE_OPENAI_BACKOFF          first retry wait, s, in [0, 3600]          (default 1)
    TUNEGATE_OPENAI_CONCURRENCY      requests in flight, whole number in [1, 1024] (default 8)
    TUNEGATE_ATTEMPTS, _BACKOFF, _DEADLINE, _RATE_LIMIT, _MAX_RESPONSE_BYTES: the engine's policy
                                     (engine/_policy.py; same checks: finite, in range)
    TUNEGATE_SANDBOX_NO_NAMESPACES   1/true/yes/on or 0/false/no/off            (default off)
    TUNEGATE_THREADS                 torch CPU threads, whole number in [1, 1024]
                                     (default OMP_NUM_THREADS, else the physical cores; models/_threads.py)

An empty value means "unset". Numbers must be finite: ``nan``, ``inf``, negative and out-of-range
values are refused.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from tunegate.errors import ConfigError

__all__ = ["LOG_LEVELS", "check_environment", "env_choice", "env_flag", "env_number", "env_str", "env_whole"]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class _Range:
    minimum: float
    maximum: float
    exclusive: bool = False  # minimum itself is refused
    whole: bool = False


_NUMBERS = {
    "TUNEGATE_OPENAI_TIMEOUT": _Range(0, 86400, exclusive=True),
    "TUNEGATE_OPENAI_CONNECT_TIMEOUT": _Range(0, 86400, exclusive=True),
    "TUNEGATE_OPENAI_ATTEMPTS": _Range(1, 100, whole=True),
    "TUNEGATE_OPENAI_BACKOFF": _Range(0, 3600),
    "TUNEGATE_OPENAI_CONCURRENCY": _Range(1, 1024, whole=True),
    "TUNEGATE_ATTEMPTS": _Range(1, 100, whole=True),
    "TUNEGATE_BACKOFF": _Range(0, 3600),
    "TUNEGATE_DEADLINE": _Range(0, 86400, exclusive=True),
    "TUNEGATE_RATE_LIMIT": _Range(0, 1_000_000, exclusive=True),
    "TUNEGATE_MAX_RESPONSE_BYTES": _Range(1, 2**40, whole=True),
    "TUNEGATE_THREADS": _Range(1, 1024, whole=True),
}
_FLAGS = ("TUNEGATE_SANDBOX_NO_NAMESPACES",)
_CHOICES = {"TUNEGATE_LOG": LOG_LEVELS}


def _bad(name: str, raw: str, why: str) -> ConfigError:
    return ConfigError(f"environment variable {name}={raw!r} {why}")


def env_str(name: str) -> str | None:
    """The variable's value, or None when unset or empty."""
    raw = os.environ.get(name, "").strip()
    return raw or None


def env_number(name: str, default: float) -> float:
    """A declared numeric setting, checked against its range."""
    rng = _NUMBERS[name]
    raw = env_str(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise _bad(name, raw, "is not a number") from None
    if not math.isfinite(value):
        raise _bad(name, raw, "must be a finite number")
    if rng.whole and not value.is_integer():
        raise _bad(name, raw, "must be a whole number")
    low = value <= rng.minimum if rng.exclusive else value < rng.minimum
    if low or value > rng.maximum:
        lo = "(" if rng.exclusive else "["
        raise _bad(name, raw, f"must be in {lo}{rng.minimum:g}, {rng.maximum:g}]")
    return value


def env_whole(name: str, default: int) -> int:
    """A declared whole-number setting."""
    return int(env_number(name, default))


def env_flag(name: str, default: bool = False) -> bool:
    """A declared yes/no switch: 1/true/yes/on or 0/false/no/off (any case)."""
    assert name in _FLAGS, name
    raw = env_str(name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise _bad(name, raw, f"must be one of {', '.join(_TRUE + _FALSE)}")


def env_choice(name: str, default: str) -> str:
    """A declared setting with a fixed set of values (any case; returned as declared)."""
    raw = env_str(name)
    if raw is None:
        return default
    for c in _CHOICES[name]:
        if raw.lower() == c.lower():
            return c
    raise _bad(name, raw, f"must be one of {', '.join(_CHOICES[name])}")


def check_environment() -> None:
    """Parse every declared setting now, so a bad one stops a command before it does anything."""
    for name in _NUMBERS:
        env_number(name, 0.0)
    for name in _FLAGS:
        env_flag(name)
    for name in _CHOICES:
        env_choice(name, "")
