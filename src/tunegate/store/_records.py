"""The store's typed records: what a run, a per-item score and a cached response look like when read.

    RunRecord       one run (compare / run / regress / safety / preference ...): its roles, status, result
    ItemRow         what a runner writes for one (role, task, item): scores, input, reference, output, keys
    ItemRecord      one item of a stored run as the report and the rating app read it: the input, the
                    reference, and per role a RoleAnswer (full output, scores, response keys)
    ScoreRecord     one (role, task, item, metric) -> value row, for paired arithmetic (``tunegate diff``)
    ResponseRecord  one cached backend answer: key, model fingerprint, canonical request and response

All are frozen; mappings are plain dicts that callers must not mutate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "RUN_STATUSES",
    "ItemRecord",
    "ItemRow",
    "ResponseRecord",
    "RoleAnswer",
    "RunRecord",
    "RunStatus",
    "ScoreRecord",
]

RunStatus = Literal["running", "completed", "failed", "interrupted"]
RUN_STATUSES: tuple[RunStatus, ...] = ("running", "completed", "failed", "interrupted")


@dataclass(frozen=True)
class RunRecord:
    """One stored run.

    ``roles`` maps each role (``base``, ``tuned``, ``model``, ``judge`` ...) to the model spec it ran;
    ``parent_id`` links a run that attaches to another one (a safety or preference result to the
    compare run it judges). ``pid``/``host``/``heartbeat_at`` say who is running it and when it last
    showed life: a ``running`` run whose process is gone is reported as ``interrupted``. ``step`` and
    ``training``: a checkpoint run's training step and the training run it belongs to.
    """

    id: str
    kind: str
    suite: str
    suite_hash: str
    roles: Mapping[str, str]
    status: RunStatus
    config: Mapping[str, Any]
    result: Mapping[str, Any] | None
    n_computed: int
    n_cached: int
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    parent_id: str | None = None
    pid: int | None = None
    host: str | None = None
    heartbeat_at: dt.datetime | None = None
    step: int | None = None
    training: str | None = None

    def spec(self, role: str) -> str | None:
        """The model spec of ``role`` in this run (None when the run has no such role)."""
        return self.roles.get(role)

    @property
    def verdict(self) -> str | None:
        """The stored verdict of a compare run, if it has one."""
        v = (self.result or {}).get("verdict")
        return v if isinstance(v, str) else None


@dataclass(frozen=True)
class ItemRow:
    """What a runner stores for one (role, task, item): the scores and everything needed to show them.

    ``input`` is the item's prompt (or its messages as JSON) before any chat template, ``reference``
    the expected answer, ``output`` the role's full output, ``response_keys`` the cache keys of the
    backend answers it was scored from (in request order).
    """

    role: str
    task: str
    item: str
    values: Mapping[str, float]
    output: str | None = None
    input: str | None = None
    reference: str | None = None
    response_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoleAnswer:
    """One role's answer to one item: its full output, its scores and the cache keys behind them."""

    output: str | None
    scores: Mapping[str, float]
    response_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemRecord:
    """One item of a stored run: ``input``, ``reference`` and each role's answer.

    For a compare run ``answers`` holds ``base`` and ``tuned``: the "prompt, base answer, tuned answer,
    reference, scores" the report and the A/B rating app show.
    """

    run_id: str
    task: str
    item: str
    input: str | None
    reference: str | None
    answers: Mapping[str, RoleAnswer] = field(default_factory=dict)

    def output(self, role: str) -> str | None:
        a = self.answers.get(role)
        return a.output if a else None

    def score(self, role: str, metric: str) -> float | None:
        a = self.answers.get(role)
        return a.scores.get(metric) if a else None


@dataclass(frozen=True)
class ScoreRecord:
    """One per-item metric value of a run."""

    run_id: str
    role: str
    task: str
    item: str
    metric: str
    value: float


@dataclass(frozen=True)
class ResponseRecord:
    """One cached backend answer (the ``responses`` table)."""

    key: str
    fingerprint: str
    kind: str
    request: Mapping[str, Any]
    response: Mapping[str, Any]
    created_at: dt.datetime
