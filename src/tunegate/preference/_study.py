"""Study logic on the store: create a study, invite and revoke raters, balanced assignments, votes.

A study compares *models* (internal keys such as ``base`` and ``tuned``, mapped to specs in its config)
on *items*: a query and the answers of two of those models (x and y). Each rater gets a queue of items;
an item goes to ``k`` raters, always to the raters with the fewest items so far having room, so the
load is balanced (``allocation="balanced"``, the default: queues are fixed at invite time). With
``allocation="uncertainty"`` a rater's next item is drawn only when they ask for it, by
:mod:`tunegate.preference._allocation`, and the draw's probability is kept with the assignment.
Per (rater, item) a coin decides whether x is shown as A or as B. Tokens are stored
only as SHA-256 hashes; a lost token is replaced by inviting again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import random
import secrets
import threading
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tunegate.errors import ConfigError
from tunegate.preference import _tables as t
from tunegate.preference._allocation import DEFAULT_FLOOR, selection_probs
from tunegate.store import Store

__all__ = [
    "CHOICES",
    "Assignment",
    "ItemSpec",
    "Rater",
    "RaterRevoked",
    "StudyError",
    "StudySettings",
    "StudyStore",
    "hash_token",
]

#: what a rater can answer; "tie" and "both_bad" are both "no preference" in the win rate
CHOICES = ("A", "B", "tie", "both_bad")
MAX_REASON = 2000
#: how items reach raters: fixed balanced queues (k raters per item), or drawn by uncertainty
ALLOCATIONS = ("balanced", "uncertainty")


class _Conflict(Exception):
    """A concurrent revision of the same vote won the race."""


class StudyError(ConfigError):
    """A study, rater or vote request is invalid (unknown study, revoked rater, bad choice...)."""


class RaterRevoked(StudyError):
    """The rater's token was revoked (found when a vote re-checks it in its transaction)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ItemSpec:
    """One comparison to rate: a query (text or chat messages) and two models' answers."""

    query: str | list[dict[str, str]]
    model_x: str
    model_y: str
    answer_x: str
    answer_y: str
    tags: tuple[str, ...] = ()
    source: str | None = None


@dataclass(frozen=True)
class StudySettings:
    """What the owner chose: raters per item, items per rater, the instructions, the models."""

    name: str
    models: dict[str, str]  # key -> spec (never shown to raters)
    reference: str
    candidate: str
    overlap: int = 3
    items_per_rater: int = 20
    instructions: str = "Which answer is better for the user? Judge helpfulness, correctness and clarity."
    source_run_id: str | None = None
    #: "balanced" (k raters per item) or "uncertainty" (widest intervals first; then ``overlap`` is
    #: not used: any rater may get any item once, up to ``items_per_rater``)
    allocation: str = "balanced"
    #: uncertainty allocation: share of every draw spread uniformly over the eligible items
    floor: float = DEFAULT_FLOOR
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rater:
    id: str
    study_id: str
    name: str
    revoked: bool


@dataclass(frozen=True)
class Assignment:
    """One item of a rater's queue as the rater sees it: A and B already in the rater's order."""

    position: int
    item_id: int
    query: str | list[dict[str, str]]
    answer_a: str
    answer_b: str
    choice: str | None
    reason: str


def _vote_statements() -> tuple[sa.Select[Any], sa.Insert, sa.Update, sa.Insert]:
    """The vote's statements, built once (building a statement per vote costs more than running it).

    The SELECT reads, for (rater, position): the rater's revocation, the assignment, the current
    vote's revision, the item's two models and how many votes the rater has."""
    a_, v_, i_, r_ = t.assignments, t.votes, t.items, t.raters
    mine = sa.alias(v_)
    rater: sa.BindParameter[str] = sa.bindparam("rater")
    position: sa.BindParameter[int] = sa.bindparam("position")
    n_voted = sa.select(sa.func.count()).select_from(mine).where(mine.c.rater_id == rater)
    select = (
        sa.select(
            a_.c.item_id,
            a_.c.flip,
            v_.c.revision,
            r_.c.revoked,
            i_.c.model_x,
            i_.c.model_y,
            n_voted.scalar_subquery().label("n_voted"),
        )
        .select_from(
            r_.join(a_, a_.c.rater_id == r_.c.id)
            .join(i_, sa.and_(i_.c.study_id == a_.c.study_id, i_.c.id == a_.c.item_id))
            .outerjoin(v_, sa.and_(v_.c.rater_id == a_.c.rater_id, v_.c.item_id == a_.c.item_id))
        )
        .where(r_.c.id == rater, a_.c.position == position)
    )
    update = sa.update(v_).where(
        v_.c.rater_id == sa.bindparam("w_rater"),
        v_.c.item_id == sa.bindparam("w_item"),
        v_.c.revision == sa.bindparam("w_old"),  # optimistic: a concurrent revision makes it miss
    )
    return select, sa.insert(v_), update, sa.insert(t.vote_history)


_VOTE_SELECT, _VOTE_INSERT, _VOTE_UPDATE, _HISTORY_INSERT = _vote_statements()


class StudyStore:
    """Typed access to the study tables of an open :class:`~tunegate.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine
        self._raters: dict[str, Rater] = {}  # token hash -> rater (rater_by_token(cached=True))
        self._secrets: dict[str, str] = {}
        self._configs: dict[str, dict[str, Any]] = {}
        self._totals: dict[str, int] = {}
        # SQLite has one writer at a time and its busy handler *sleeps* (1, 2, 5 ... 100 ms) when a
        # second connection wants the write lock: queue this process's writers on a lock instead
        self._write_lock: AbstractContextManager[Any] = (
            threading.Lock() if self.engine.dialect.name == "sqlite" else nullcontext()
        )

    # -- studies -----------------------------------------------------------------------------------
    def create_study(
        self, settings: StudySettings, items: Sequence[ItemSpec], seed: int = 0
    ) -> tuple[str, str]:
        """Store a study and its items; returns (study id, owner token)."""
        if not items:
            raise StudyError("a study needs at least one item")
        if settings.overlap < 1 or settings.items_per_rater < 1:
            raise StudyError("overlap and items per rater must be at least 1")
        if settings.allocation not in ALLOCATIONS:
            raise StudyError(f"allocation must be one of {', '.join(ALLOCATIONS)}")
        if not 0.0 < settings.floor <= 1.0:
            raise StudyError("the uniform floor must be in (0, 1]")
        for key in (settings.reference, settings.candidate):
            if key not in settings.models:
                raise StudyError(f"model {key!r} is not one of the study's models {sorted(settings.models)}")
        study_id = uuid.uuid4().hex[:12]
        owner = secrets.token_urlsafe(24)
        config = {
            "models": settings.models,
            "reference": settings.reference,
            "candidate": settings.candidate,
            "overlap": settings.overlap,
            "items_per_rater": settings.items_per_rater,
            "instructions": settings.instructions,
            "allocation": settings.allocation,
            "floor": settings.floor,
            "seed": seed,
            **settings.extra,
        }
        with self.engine.begin() as c:
            c.execute(
                sa.insert(t.studies).values(
                    id=study_id,
                    name=settings.name,
                    source_run_id=settings.source_run_id,
                    config=config,
                    owner_token_hash=hash_token(owner),
                    secret=secrets.token_hex(32),
                    created_at=_now(),
                )
            )
            c.execute(
                sa.insert(t.items),
                [
                    {
                        "study_id": study_id,
                        "id": i,
                        "query": it.query,
                        "tags": list(it.tags),
                        "model_x": it.model_x,
                        "model_y": it.model_y,
                        "answer_x": it.answer_x,
                        "answer_y": it.answer_y,
                        "source": it.source,
                    }
                    for i, it in enumerate(items)
                ],
            )
        return study_id, owner

    def get_study(self, study_id: str) -> dict[str, Any]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(t.studies).where(t.studies.c.id.startswith(study_id, autoescape=True)))
            found = [dict(r) for r in rows.mappings()]
        if not found:
            raise StudyError(f"no study {study_id!r} in {self.store.url}; `tunegate ab list` lists studies")
        if len(found) > 1:
            raise StudyError(f"study id {study_id!r} is ambiguous; give more of it")
        return found[0]

    def list_studies(self) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            q = sa.select(t.studies).order_by(t.studies.c.created_at.desc())
            return [dict(r) for r in c.execute(q).mappings()]

    def studies_for_run(self, run_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            q = sa.select(t.studies).where(t.studies.c.source_run_id == run_id)
            return [dict(r) for r in c.execute(q.order_by(t.studies.c.created_at)).mappings()]

    def check_owner(self, study_id: str, token: str | None) -> bool:
        if not token:
            return False
        with self.engine.connect() as c:
            h = c.execute(sa.select(t.studies.c.owner_token_hash).where(t.studies.c.id == study_id)).scalar()
        return h is not None and hmac.compare_digest(h, hash_token(token))

    def items(self, study_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            q = sa.select(t.items).where(t.items.c.study_id == study_id).order_by(t.items.c.id)
            return [dict(r) for r in c.execute(q).mappings()]

    # -- raters ------------------------------------------------------------------------------------
    def invite(self, study_id: str, names: Sequence[str]) -> list[tuple[Rater, str]]:
        """Create raters with fresh secret tokens and give each a balanced queue; returns (rater, token)."""
        study = self.get_study(study_id)
        cfg = study["config"]
        sid = study["id"]
        out: list[tuple[Rater, str]] = []
        with self.engine.begin() as c:
            n_items = c.execute(
                sa.select(sa.func.count()).select_from(t.items).where(t.items.c.study_id == sid)
            ).scalar_one()
            load = dict.fromkeys(range(int(n_items)), 0)
            rows = c.execute(
                sa.select(t.assignments.c.item_id, sa.func.count())
                .where(t.assignments.c.study_id == sid)
                .group_by(t.assignments.c.item_id)
            )
            for item_id, n in rows:
                load[int(item_id)] = int(n)
            n_raters = c.execute(
                sa.select(sa.func.count()).select_from(t.raters).where(t.raters.c.study_id == sid)
            ).scalar_one()
            for j, name in enumerate(names):
                rng = random.Random(f"{cfg.get('seed', 0)}:{sid}:{int(n_raters) + j}")
                token = secrets.token_urlsafe(24)
                rater = Rater(uuid.uuid4().hex[:12], sid, name, False)
                c.execute(
                    sa.insert(t.raters).values(
                        id=rater.id,
                        study_id=sid,
                        name=name,
                        token_hash=hash_token(token),
                        revoked=False,
                        created_at=_now(),
                    )
                )
                out.append((rater, token))
                if cfg.get("allocation", "balanced") == "uncertainty":
                    continue  # items are drawn one at a time, when the rater asks (next_item)
                order = sorted(load, key=lambda i: (load[i] >= cfg["overlap"], load[i], rng.random()))
                chosen = order[: cfg["items_per_rater"]]
                rng.shuffle(chosen)
                for item_id in chosen:
                    load[item_id] += 1
                c.execute(
                    sa.insert(t.assignments),
                    [
                        {
                            "rater_id": rater.id,
                            "position": pos,
                            "study_id": sid,
                            "item_id": item_id,
                            "flip": rng.random() < 0.5,
                        }
                        for pos, item_id in enumerate(chosen)
                    ],
                )
        return out

    def raters(self, study_id: str) -> list[Rater]:
        with self.engine.connect() as c:
            q = sa.select(t.raters).where(t.raters.c.study_id == study_id).order_by(t.raters.c.created_at)
            return [Rater(r.id, r.study_id, r.name, bool(r.revoked)) for r in c.execute(q)]

    def revoke(self, study_id: str, rater: str) -> Rater:
        """Revoke a rater (by id or name): their token stops working; their votes stay counted."""
        match = [r for r in self.raters(study_id) if rater in (r.id, r.name)]
        if len(match) != 1:
            raise StudyError(f"no single rater {rater!r} in study {study_id}")
        with self.engine.begin() as c:
            c.execute(sa.update(t.raters).where(t.raters.c.id == match[0].id).values(revoked=True))
        self._raters = {h: r for h, r in self._raters.items() if r.id != match[0].id}
        return Rater(match[0].id, study_id, match[0].name, True)

    def rater_by_token(self, token: str, cached: bool = False) -> Rater | None:
        """The rater of an invite token, or None when unknown or revoked.

        ``cached``: answer from this process's memory of tokens already seen (a token's rater never
        changes; only its revocation does), so the rater may have been revoked since: only for
        callers that re-check in their own transaction, as :meth:`vote_and_progress` does."""
        if not token or len(token) > 200:
            return None
        h = hash_token(token)
        if cached and (hit := self._raters.get(h)) is not None:
            return hit
        with self.engine.connect() as c:
            r = c.execute(sa.select(t.raters).where(t.raters.c.token_hash == h)).first()
        if r is None or r.revoked:
            self._raters.pop(h, None)
            return None
        rater = Rater(r.id, r.study_id, r.name, False)
        if len(self._raters) > 100_000:  # bounded: forget them all rather than grow
            self._raters.clear()
        self._raters[h] = rater
        return rater

    def csrf_token(self, rater: Rater) -> str:
        """A per-rater form token: HMAC of the rater id under the study's secret (survives restarts)."""
        secret = self._secrets.get(rater.study_id)
        if secret is None:  # immutable once a study exists: read it once
            with self.engine.connect() as c:
                q = sa.select(t.studies.c.secret).where(t.studies.c.id == rater.study_id)
                secret = self._secrets[rater.study_id] = str(c.execute(q).scalar_one())
        return hmac.new(secret.encode(), rater.id.encode(), hashlib.sha256).hexdigest()[:32]

    # -- a rater's queue ---------------------------------------------------------------------------
    def config(self, study_id: str) -> dict[str, Any]:
        """A study's settings (immutable once created: read once)."""
        cfg = self._configs.get(study_id)
        if cfg is None:
            with self.engine.connect() as c:
                q = sa.select(t.studies.c.config).where(t.studies.c.id == study_id)
                cfg = self._configs[study_id] = dict(c.execute(q).scalar_one())
        return cfg

    def _n_items(self, c: sa.Connection, study_id: str) -> int:
        q = sa.select(sa.func.count()).select_from(t.items).where(t.items.c.study_id == study_id)
        return int(c.execute(q).scalar_one())

    def budget(self, rater: Rater) -> int | None:
        """Items an uncertainty-allocated rater will get in all (None for a balanced, fixed queue)."""
        cfg = self.config(rater.study_id)
        if cfg.get("allocation", "balanced") != "uncertainty":
            return None
        with self.engine.connect() as c:
            return min(int(cfg["items_per_rater"]), self._n_items(c, rater.study_id))

    def next_item(self, rater: Rater) -> None:
        """Uncertainty allocation: when the rater has voted on every item drawn so far and has budget
        left, draw the next one (probability kept with the assignment). A no-op for balanced studies."""
        budget = self.budget(rater)
        if budget is None:
            return
        a, v = t.assignments, t.votes
        for _ in range(20):
            try:
                with self._write_lock, self.engine.begin() as c:
                    mine = c.execute(
                        sa.select(a.c.position, a.c.item_id, v.c.item_id.label("voted"))
                        .select_from(
                            a.outerjoin(v, sa.and_(v.c.rater_id == a.c.rater_id, v.c.item_id == a.c.item_id))
                        )
                        .where(a.c.rater_id == rater.id)
                    ).all()
                    if len(mine) >= budget or any(r.voted is None for r in mine):
                        return
                    item_id, prob = self._draw(c, rater, {r.item_id for r in mine})
                    if item_id is None:
                        return
                    c.execute(
                        sa.insert(a).values(
                            rater_id=rater.id,
                            position=len(mine),
                            study_id=rater.study_id,
                            item_id=item_id,
                            flip=secrets.randbelow(2) == 1,
                            prob=prob,
                        )
                    )
                return
            except IntegrityError:  # the same rater's concurrent request drew first: look again
                continue

    def _draw(self, c: sa.Connection, rater: Rater, seen: set[int]) -> tuple[int | None, float]:
        sid = rater.study_id
        i, a, v = t.items, t.assignments, t.votes
        ids = [
            int(x) for x in c.execute(sa.select(i.c.id).where(i.c.study_id == sid).order_by(i.c.id)).scalars()
        ]
        pos = {x: k for k, x in enumerate(ids)}
        sums = np.zeros(len(ids))
        counts = np.zeros(len(ids))
        rows = c.execute(
            sa.select(v.c.item_id, v.c.winner, i.c.model_x, i.c.model_y)
            .select_from(v.join(i, sa.and_(i.c.study_id == v.c.study_id, i.c.id == v.c.item_id)))
            .where(v.c.study_id == sid)
        )
        for r in rows:
            k = pos[int(r.item_id)]
            sums[k] += 1.0 if r.winner == r.model_y else 0.0 if r.winner == r.model_x else 0.5
            counts[k] += 1
        pending = c.execute(
            sa.select(a.c.item_id, sa.func.count())
            .select_from(a.outerjoin(v, sa.and_(v.c.rater_id == a.c.rater_id, v.c.item_id == a.c.item_id)))
            .where(a.c.study_id == sid, v.c.item_id.is_(None))
            .group_by(a.c.item_id)
        )
        for item_id, n in pending:  # drawn but not yet voted: count them at the item's mean so far
            k = pos[int(item_id)]
            mean = (sums[k] + 0.5) / (counts[k] + 1)
            sums[k] += mean * int(n)
            counts[k] += int(n)
        eligible = np.asarray([x not in seen for x in ids])
        if not eligible.any():
            return None, 0.0
        p = selection_probs(sums, counts, eligible, float(self.config(sid).get("floor", DEFAULT_FLOOR)))
        u = secrets.SystemRandom().random()
        k = min(int(np.searchsorted(np.cumsum(p), u, side="right")), len(ids) - 1)
        while not eligible[k]:  # only when u lands in the rounding tail past the last eligible item
            k -= 1
        return ids[k], float(p[k])

    def queue(self, rater: Rater) -> list[Assignment]:
        """The rater's items in order, with their current vote (choice as the rater saw it)."""
        a, i, v = t.assignments, t.items, t.votes
        q = (
            sa.select(
                a.c.position,
                a.c.item_id,
                a.c.flip,
                i.c.query,
                i.c.answer_x,
                i.c.answer_y,
                v.c.choice,
                v.c.reason,
            )
            .select_from(
                a.join(i, sa.and_(i.c.study_id == a.c.study_id, i.c.id == a.c.item_id)).outerjoin(
                    v, sa.and_(v.c.rater_id == a.c.rater_id, v.c.item_id == a.c.item_id)
                )
            )
            .where(a.c.rater_id == rater.id)
            .order_by(a.c.position)
        )
        with self.engine.connect() as c:
            rows = c.execute(q).all()
        out = []
        for r in rows:
            first, second = (r.answer_y, r.answer_x) if r.flip else (r.answer_x, r.answer_y)
            out.append(Assignment(r.position, r.item_id, r.query, first, second, r.choice, r.reason or ""))
        return out

    def progress(self, rater: Rater) -> tuple[int, int]:
        """(items voted, items assigned) of a rater."""
        with self.engine.connect() as c:
            total = c.execute(
                sa.select(sa.func.count())
                .select_from(t.assignments)
                .where(t.assignments.c.rater_id == rater.id)
            ).scalar_one()
            done = c.execute(
                sa.select(sa.func.count()).select_from(t.votes).where(t.votes.c.rater_id == rater.id)
            ).scalar_one()
        budget = self.budget(rater)
        return int(done), int(total) if budget is None else budget

    def vote(self, rater: Rater, position: int, choice: str, reason: str = "") -> int:
        """Record the rater's vote on the item at ``position`` of their queue; returns its revision.

        A second vote on the same item replaces the counted one (revision + 1); every vote is kept in
        the history. Safe under concurrent requests of the same rater (the primary key decides)."""
        return self.vote_and_progress(rater, position, choice, reason)[0]

    def vote_and_progress(
        self, rater: Rater, position: int, choice: str, reason: str = ""
    ) -> tuple[int, int, int]:
        """:meth:`vote`, then the rater's (revision, items voted, items in all) from the same
        transaction (the rating app's hot path: one transaction of one SELECT and two INSERTs, or an
        UPDATE and an INSERT, per vote). The SELECT re-checks that the rater is not revoked
        (:class:`RaterRevoked`), so a caller may find the rater with ``rater_by_token(cached=True)``."""
        if choice not in CHOICES:
            raise StudyError(f"choice must be one of {', '.join(CHOICES)}")
        if len(reason) > MAX_REASON:
            raise StudyError(f"the reason is longer than {MAX_REASON} characters")
        for attempt in range(20):
            try:
                with self._write_lock:
                    revision, done = self._vote_once(rater, position, choice, reason)
                return revision, done, self._total(rater)
            except (IntegrityError, _Conflict):  # the same rater's votes raced: retry on the new state
                if attempt == 19:
                    raise
        raise AssertionError("unreachable")

    def _total(self, rater: Rater) -> int:
        budget = self.budget(rater)
        if budget is not None:
            return budget
        total = self._totals.get(rater.id)
        if total is None:  # a balanced queue is fixed at invite time: count it once
            with self.engine.connect() as c:
                q = sa.select(sa.func.count()).select_from(t.assignments)
                total = int(c.execute(q.where(t.assignments.c.rater_id == rater.id)).scalar_one())
            self._totals[rater.id] = total
        return total

    def _vote_once(self, rater: Rater, position: int, choice: str, reason: str) -> tuple[int, int]:
        now = _now()
        with self.engine.begin() as c:
            a = c.execute(_VOTE_SELECT, {"rater": rater.id, "position": position}).first()
            if a is None:
                raise StudyError(f"no item {position} in this rater's queue")
            if a.revoked:
                raise RaterRevoked("this invite link was revoked")
            x, y = a.model_x, a.model_y
            left, right = (y, x) if a.flip else (x, y)
            winner = {"A": left, "B": right}.get(choice, choice)
            old = a.revision
            revision = 1 if old is None else int(old) + 1
            if old is None:
                c.execute(
                    _VOTE_INSERT,
                    {
                        "rater_id": rater.id,
                        "item_id": a.item_id,
                        "study_id": rater.study_id,
                        "position": position,
                        "choice": choice,
                        "winner": winner,
                        "left_model": left,
                        "reason": reason,
                        "revision": 1,
                        "created_at": now,
                        "updated_at": now,
                    },
                )
            else:
                done = c.execute(
                    _VOTE_UPDATE,
                    {
                        "w_rater": rater.id,
                        "w_item": a.item_id,
                        "w_old": old,
                        "choice": choice,
                        "winner": winner,
                        "reason": reason,
                        "revision": revision,
                        "updated_at": now,
                    },
                )
                if done.rowcount != 1:  # another revision got in first: roll back, retry
                    raise _Conflict
            c.execute(
                _HISTORY_INSERT,
                {
                    "study_id": rater.study_id,
                    "rater_id": rater.id,
                    "item_id": a.item_id,
                    "choice": choice,
                    "winner": winner,
                    "reason": reason,
                    "revision": revision,
                    "created_at": now,
                },
            )
        # the count was read before this vote's insert: a first vote adds one (a concurrent first
        # vote of the same rater on another item may not be in it yet; the count is for display)
        return revision, int(a.n_voted) + (old is None)

    # -- reading votes (owner side) ----------------------------------------------------------------
    def votes(self, study_id: str) -> list[dict[str, Any]]:
        """Every counted vote with its item's models, answers' lengths, tags and the rater's name."""
        v, i, r = t.votes, t.items, t.raters
        q = (
            sa.select(
                v.c.rater_id,
                r.c.name.label("rater"),
                v.c.item_id,
                v.c.choice,
                v.c.winner,
                v.c.left_model,
                v.c.reason,
                v.c.revision,
                v.c.created_at,
                v.c.updated_at,
                i.c.model_x,
                i.c.model_y,
                i.c.answer_x,
                i.c.answer_y,
                i.c.tags,
                i.c.query,
            )
            .select_from(
                v.join(i, sa.and_(i.c.study_id == v.c.study_id, i.c.id == v.c.item_id)).join(
                    r, r.c.id == v.c.rater_id
                )
            )
            .where(v.c.study_id == study_id)
            .order_by(v.c.created_at, v.c.rater_id, v.c.item_id)
        )
        with self.engine.connect() as c:
            return [dict(x) for x in c.execute(q).mappings()]

    def assignments(self, study_id: str) -> list[dict[str, Any]]:
        """Every assignment of a study (rater, position, item, flip, prob), in queue order."""
        a = t.assignments
        with self.engine.connect() as c:
            q = sa.select(a).where(a.c.study_id == study_id).order_by(a.c.rater_id, a.c.position)
            return [dict(x) for x in c.execute(q).mappings()]

    def history(self, study_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            q = (
                sa.select(t.vote_history)
                .where(t.vote_history.c.study_id == study_id)
                .order_by(t.vote_history.c.id)
            )
            return [dict(x) for x in c.execute(q).mappings()]

    def put_judgements(
        self, study_id: str, judge: str, rows: Sequence[tuple[int, str, dict[str, Any]]]
    ) -> None:
        now = _now()
        with self.engine.begin() as c:
            c.execute(
                sa.delete(t.judgements).where(
                    t.judgements.c.study_id == study_id, t.judgements.c.judge == judge
                )
            )
            if rows:
                c.execute(
                    sa.insert(t.judgements),
                    [
                        {
                            "study_id": study_id,
                            "item_id": i,
                            "judge": judge,
                            "winner": w,
                            "detail": d,
                            "created_at": now,
                        }
                        for i, w, d in rows
                    ],
                )

    def judgements(self, study_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            q = (
                sa.select(t.judgements)
                .where(t.judgements.c.study_id == study_id)
                .order_by(t.judgements.c.item_id)
            )
            return [dict(x) for x in c.execute(q).mappings()]
