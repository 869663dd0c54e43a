"""The engine: the one door to every model.

Cache lookup, sub-batches in the order each backend prefers, bounded concurrency on one event loop,
the shared policy (retries, deadlines, rate limit, size cap, validation), write-as-you-go, progress,
and roles (target, reference, judge, ... each a model with its own engine) for a run.
"""

from tunegate.engine._engine import Engine, EngineStats
from tunegate.engine._policy import Policy, RateLimiter
from tunegate.engine._progress import NullProgress, Progress, RichProgress, make_progress
from tunegate.engine._roles import ROLES, RoleRequest, Roles
from tunegate.engine._validate import InvalidAnswer

__all__ = [
    "ROLES",
    "Engine",
    "EngineStats",
    "InvalidAnswer",
    "NullProgress",
    "Policy",
    "Progress",
    "RateLimiter",
    "RichProgress",
    "RoleRequest",
    "Roles",
    "make_progress",
]
