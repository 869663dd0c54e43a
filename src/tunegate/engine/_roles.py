"""Roles: every model a run talks to, each a model spec behind its own engine.

    target / base / tuned   the models under evaluation
    reference               a model to compare a regression suite against
    judge                   grades answers (llm-rubric, safety and preference judges)
    attacker, classifier, embedder   further helpers a dimension may need

Tasks, assertions and judges never build engines or touch the store: a task's first round runs on
the target engine, and its second round (:meth:`tunegate.tasks.Task.second_round`) is a list of
:class:`RoleRequest` that the runner answers here, every item's requests for one role batched
together (:meth:`Roles.answer`). All engines of a run share its store, progress display and rate
limit. A request names its model explicitly (``RoleRequest.model``, e.g. an assertion's ``judge:``)
or takes the model assigned to its role.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping, Sequence

from tunegate.engine._engine import Engine
from tunegate.engine._loop import run_sync
from tunegate.engine._policy import Policy, RateLimiter
from tunegate.engine._progress import NullProgress, Progress
from tunegate.errors import ConfigError
from tunegate.models import Model, Result, RoleRequest
from tunegate.store import Store

__all__ = ["ROLES", "RoleRequest", "Roles"]

ROLES = ("target", "base", "tuned", "reference", "judge", "attacker", "classifier", "embedder")


class Roles:
    """Engine handles by role for one run."""

    def __init__(
        self,
        store: Store,
        *,
        models: Mapping[str, str | Model] | None = None,
        progress: Progress | None = None,
        batch_size: int | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.store = store
        self.progress = progress or NullProgress()
        self.batch_size = batch_size
        self.policy = policy or Policy.from_env()
        self.limiter = RateLimiter(self.policy.rate_limit)
        self._models: dict[str, Model] = {}
        self._engines: dict[tuple[str, str], Engine] = {}
        for role, m in (models or {}).items():
            self.assign(role, m)

    def assign(self, role: str, model: str | Model) -> Model:
        """Name the model playing ``role``."""
        if role not in ROLES:
            raise ConfigError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
        self._models[role] = model if isinstance(model, Model) else Model(model)
        return self._models[role]

    def model(self, role: str) -> Model:
        try:
            return self._models[role]
        except KeyError:
            raise ConfigError(f"no model plays the {role!r} role in this run") from None

    def engine(self, role: str, model: str | Model | None = None) -> Engine:
        """The engine of ``role`` (or of ``model`` playing it), created once."""
        m = self.model(role) if model is None else model
        spec = str(m.spec) if isinstance(m, Model) else m
        key = (role, spec)
        if key not in self._engines:
            mod = m if isinstance(m, Model) else Model(m)
            in_run = role in self._models and self._models[role].spec == mod.spec
            self._engines[key] = Engine(
                mod,
                self.store,
                batch_size=self.batch_size if role in ("target", "base", "tuned", "reference") else None,
                progress=self.progress,
                label=role if in_run else f"{role} {spec}",
                policy=self.policy,
                limiter=self.limiter,
            )
        return self._engines[key]

    @property
    def engines(self) -> dict[tuple[str, str], Engine]:
        """Every engine made so far, by (role, spec)."""
        return dict(self._engines)

    async def aanswer(self, requests: Sequence[RoleRequest], description: str) -> dict[RoleRequest, Result]:
        """Answers to ``requests``: one batched engine call per (role, model, request kind)."""
        groups: dict[tuple[str, str | None, str], list[RoleRequest]] = defaultdict(list)
        for rr in dict.fromkeys(requests):  # once each, in order
            groups[(rr.role, rr.model, rr.request.kind)].append(rr)
        keys = list(groups)
        calls = [
            self.engine(role, model).arun([rr.request for rr in groups[(role, model, kind)]], description)
            for role, model, kind in keys
        ]
        got = await asyncio.gather(*calls)  # different roles and models side by side
        out: dict[RoleRequest, Result] = {}
        for k, answers in zip(keys, got, strict=True):
            out.update(zip(groups[k], answers, strict=True))
        return out

    def answer(self, requests: Sequence[RoleRequest], description: str) -> dict[RoleRequest, Result]:
        """:meth:`aanswer`, blocking."""
        return run_sync(self.aanswer(requests, description))
