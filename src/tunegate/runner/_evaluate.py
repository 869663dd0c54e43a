"""Evaluate one model on a suite's tasks: documents -> requests -> engine -> per-item scores.

Round one asks every document's requests of the target engine, one batched call per request kind.
Round two (only for tasks that declare one, :meth:`Task.second_round`) asks every document's
follow-up requests of the roles they name (a judge, an attacker), batched across documents, through
the run's :class:`~tunegate.engine.Roles`; role ``target`` with no model named is the evaluated model
itself (a multi-turn attack's next turn, on the same engine); then each document is scored.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from tunegate.engine import Engine, Roles
from tunegate.engine._loop import run_sync
from tunegate.models import GenerateResult, Request, Result, RoleRequest
from tunegate.tasks import Doc, ItemScore, Task

__all__ = ["TaskScores", "aevaluate_task", "evaluate_task"]


@dataclass(frozen=True)
class TaskScores:
    """Per-item scores of one model on one task, keyed by item id."""

    task: str
    items: dict[str, ItemScore]
    #: whether the model's chat template wrapped any prompt (it changes scores; log-likelihood never uses it)
    chat_template: bool = False


async def aevaluate_task(
    engine: Engine, label: str, task: Task, docs: list[Doc], roles: Roles | None = None
) -> TaskScores:
    """Run every document's requests through ``engine`` (and its second round through ``roles``),
    and score each document."""
    per_doc: list[list[Request]] = [task.requests(d) for d in docs]
    by_kind: dict[str, list[tuple[int, int]]] = defaultdict(list)
    flat: dict[str, list[Request]] = defaultdict(list)
    for i, reqs in enumerate(per_doc):
        for j, r in enumerate(reqs):
            by_kind[r.kind].append((i, j))
            flat[r.kind].append(r)
    answers: list[list[Result | None]] = [[None] * len(reqs) for reqs in per_doc]
    for kind, positions in by_kind.items():
        got = await engine.arun(flat[kind], description=label)
        for (i, j), res in zip(positions, got, strict=True):
            answers[i][j] = res
    firsts: list[list[Result]] = []
    for slots in answers:
        done = [r for r in slots if r is not None]
        assert len(done) == len(slots)
        firsts.append(done)
    seconds = await _second_round(engine, label, task, docs, firsts, roles)
    items = {}
    for doc, first, second in zip(docs, firsts, seconds, strict=True):
        items[doc.id] = (
            task.score_rounds(doc, first, second) if second is not None else task.score(doc, first)
        )
    templated = any(isinstance(r, GenerateResult) and r.chat_template for got in firsts for r in got)
    return TaskScores(task=label, items=items, chat_template=templated)


async def _second_round(
    engine: Engine, label: str, task: Task, docs: list[Doc], firsts: list[list[Result]], roles: Roles | None
) -> list[list[Result] | None]:
    """Every document's follow-up answers (None for a document that asked none)."""
    wanted: list[list[RoleRequest]] = [
        list(task.second_round(d, r)) for d, r in zip(docs, firsts, strict=True)
    ]
    if not any(wanted):
        return [None] * len(docs)
    flat = [rr for w in wanted for rr in w]
    # "target" with no model named is the model under evaluation: its own engine answers (a multi-turn
    # attack's second turn); every other role goes through the run's roles
    own = list(dict.fromkeys(rr for rr in flat if rr.role == "target" and rr.model is None))
    others = [rr for rr in flat if not (rr.role == "target" and rr.model is None)]
    got: dict[RoleRequest, Result] = {}
    if own:
        got.update(
            zip(
                own,
                await engine.arun([rr.request for rr in own], description=f"{label} (round 2)"),
                strict=True,
            )
        )
    if others:
        roles = roles or Roles(engine.store, progress=engine.progress, policy=engine.policy)
        got.update(await roles.aanswer(others, f"{label} (round 2)"))
    return [[got[rr] for rr in w] if w else None for w in wanted]


def evaluate_task(
    engine: Engine, label: str, task: Task, docs: list[Doc], roles: Roles | None = None
) -> TaskScores:
    """:func:`aevaluate_task`, blocking."""
    return run_sync(aevaluate_task(engine, label, task, docs, roles))
