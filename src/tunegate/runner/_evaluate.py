"""Evaluate one model on a suite's tasks: documents -> requests -> engine -> per-item scores."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from tunegate.engine import Engine
from tunegate.models import GenerateResult, Request, Result
from tunegate.tasks import Doc, ItemScore, Task

__all__ = ["TaskScores", "evaluate_task"]


@dataclass(frozen=True)
class TaskScores:
    """Per-item scores of one model on one task, keyed by item id."""

    task: str
    items: dict[str, ItemScore]
    #: whether the model's chat template wrapped any prompt (it changes scores; log-likelihood never uses it)
    chat_template: bool = False


def evaluate_task(engine: Engine, label: str, task: Task, docs: list[Doc]) -> TaskScores:
    """Run every document's requests through ``engine`` and score each document."""
    per_doc: list[list[Request]] = [task.requests(d) for d in docs]
    by_kind: dict[str, list[tuple[int, int]]] = defaultdict(list)
    flat: dict[str, list[Request]] = defaultdict(list)
    for i, reqs in enumerate(per_doc):
        for j, r in enumerate(reqs):
            by_kind[r.kind].append((i, j))
            flat[r.kind].append(r)
    answers: list[list[Result | None]] = [[None] * len(reqs) for reqs in per_doc]
    for kind, positions in by_kind.items():
        for (i, j), res in zip(positions, engine.run(flat[kind], description=label), strict=True):
            answers[i][j] = res
    items = {}
    for doc, got in zip(docs, answers, strict=True):
        done = [r for r in got if r is not None]
        assert len(done) == len(got)
        items[doc.id] = task.score(doc, done)
    templated = any(isinstance(r, GenerateResult) and r.chat_template for got in answers for r in got)
    return TaskScores(task=label, items=items, chat_template=templated)
