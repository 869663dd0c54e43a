"""What a runner stores per item: scores plus the input, reference, full output and response keys."""

from __future__ import annotations

import json
from collections.abc import Sequence

from tunegate.models import ChatMessage, GenerateRequest, LoglikelihoodRequest, Request
from tunegate.models._requests import request_key
from tunegate.store import ItemRow
from tunegate.tasks import Doc, ItemScore, Task

__all__ = ["input_text", "item_rows"]


def input_text(prompt: str | Sequence[ChatMessage]) -> str:
    """An item's input as stored: the prompt itself, or chat messages as a JSON list."""
    if isinstance(prompt, str):
        return prompt
    return json.dumps([{"role": m.role, "content": m.content} for m in prompt], ensure_ascii=False)


def _fallback_input(requests: Sequence[Request]) -> str | None:
    """For a task that does not say: the first request's context or prompt."""
    if not requests:
        return None
    r = requests[0]
    if isinstance(r, GenerateRequest):
        return input_text(r.prompt)
    if isinstance(r, LoglikelihoodRequest):
        return r.context
    return getattr(r, "text", None)


def item_rows(
    role: str, label: str, task: Task, docs: Sequence[Doc], scores: dict[str, ItemScore], fingerprint: str
) -> list[ItemRow]:
    """One row per scored document of ``task`` for ``role`` (a model with ``fingerprint``)."""
    rows = []
    for doc in docs:
        sc = scores.get(doc.id)
        if sc is None:
            continue
        reqs = task.requests(doc)
        rows.append(
            ItemRow(
                role=role,
                task=label,
                item=doc.id,
                values=dict(sc.values),
                output=sc.output,
                input=sc.input if sc.input is not None else _fallback_input(reqs),
                reference=sc.reference,
                response_keys=tuple(request_key(fingerprint, r) for r in reqs),
            )
        )
    return rows
