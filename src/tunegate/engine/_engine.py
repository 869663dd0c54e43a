"""The engine: one wrapper around every backend.

For each list of requests it looks every request up in the cache (the store's ``responses`` table,
keyed by model fingerprint + canonical request), sends only the misses to the backend in batches
(log-likelihood: documents sharing a prefix together, so the backend runs it once; otherwise, and for
generation, longest first, so padding is small and memory peaks early), and writes each batch's
results to the store the moment they arrive. A run killed at any point resumes by running again:
what finished is read back, nothing is recomputed. The model is loaded only if something misses.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from tunegate.engine._progress import NullProgress, Progress
from tunegate.models import Model
from tunegate.models._requests import (
    LoglikelihoodRequest,
    Request,
    Result,
    request_key,
    request_to_json,
    result_from_json,
    result_to_json,
)
from tunegate.store import Store

__all__ = ["Engine", "EngineStats"]

log = logging.getLogger(__name__)


@dataclass
class EngineStats:
    """What an engine did: requests answered from the cache, and computed by the backend."""

    cached: int = 0
    computed: int = 0
    backend_calls: int = 0


class Engine:
    """Answers requests for one model, through the cache."""

    def __init__(
        self,
        model: Model,
        store: Store,
        *,
        batch_size: int | None = None,
        progress: Progress | None = None,
        label: str = "",
    ) -> None:
        self.model = model
        self.store = store
        self.batch_size = batch_size
        self.progress = progress or NullProgress()
        self.label = label or str(model.spec)
        self.stats = EngineStats()
        self._remembered = False

    def run(self, requests: Sequence[Request], description: str = "") -> list[Result]:
        """Answer ``requests`` (all of one kind), in order."""
        if not requests:
            return []
        kind = requests[0].kind
        if any(r.kind != kind for r in requests):
            raise ValueError("Engine.run takes requests of one kind at a time")
        fp = self.model.fingerprint
        if not self._remembered:
            self.store.remember_model(fp, str(self.model.spec))
            self._remembered = True
        keys = [request_key(fp, r) for r in requests]
        found = self.store.get_responses(keys)
        results: list[Result | None] = [
            result_from_json(kind, found[k]) if k in found else None for k in keys
        ]
        self.stats.cached += sum(r is not None for r in results)
        # Each distinct missing request is computed once, even if a task asks it twice.
        todo: dict[str, int] = {}
        for i, k in enumerate(keys):
            if results[i] is None and k not in todo:
                todo[k] = i
        if todo:
            self._compute(requests, keys, results, list(todo.values()), description or kind)
        out = []
        for i, r in enumerate(results):
            if r is None:
                r = results[i] = results[todo[keys[i]]]
            assert r is not None
            out.append(r)
        return out

    def _compute(
        self,
        requests: Sequence[Request],
        keys: list[str],
        results: list[Result | None],
        missing: list[int],
        description: str,
    ) -> None:
        backend = self.model.backend
        size = self.batch_size or backend.default_batch_size
        fp = self.model.fingerprint
        handle = self.progress.task(f"{self.label}: {description}", total=len(missing))
        for idx in _batches(requests, missing, size):
            batch = [requests[i] for i in idx]
            method = {
                "loglikelihood": backend.loglikelihood,
                "loglikelihood_rolling": backend.loglikelihood_rolling,
                "generate": backend.generate,
            }[batch[0].kind]
            answers = method(batch)  # type: ignore[operator]
            self.stats.backend_calls += 1
            self.stats.computed += len(batch)
            rows = []
            for i, ans in zip(idx, answers, strict=True):
                results[i] = ans
                rows.append(
                    (keys[i], fp, requests[i].kind, request_to_json(requests[i]), result_to_json(ans))
                )
            self.store.put_responses(rows)
            self.progress.advance(handle, len(batch))


#: Log-likelihood contexts sharing at least this many leading characters (~8 tokens) are one *family*:
#: they travel together so the backend can run their common prefix once.
FAMILY_PREFIX_CHARS = 32


def _batches(requests: Sequence[Request], missing: list[int], size: int) -> list[list[int]]:
    """Requests in batches of about ``size``, ordered so the backend wastes little work.

    Log-likelihood requests with the same ``context`` (a multiple-choice item's choices) form a group
    that is never split. Groups whose contexts share a prefix (a subject header, a fixed few-shot
    block; :data:`FAMILY_PREFIX_CHARS`) form a family, kept together in context order, so the backend
    runs the prefix once. Families go longest first, so unrelated documents of similar length meet
    (little padding, narrow rows). A group larger than ``size`` is a batch of its own. Other kinds are
    singletons, longest first: plain length-sorted chunking (least padding in generation).
    """
    by_context: dict[str, list[int]] = {}
    families: list[list[list[int]]] = []  # lists of groups
    for i in missing:
        req = requests[i]
        if isinstance(req, LoglikelihoodRequest):
            by_context.setdefault(req.context, []).append(i)
        else:
            families.append([[i]])
    previous: str | None = None
    for context in sorted(by_context):
        n = FAMILY_PREFIX_CHARS
        if previous is not None and len(context) >= n and previous[:n] == context[:n]:
            families[-1].append(by_context[context])
        else:
            families.append([by_context[context]])
        previous = context
    families.sort(key=lambda fam: -max(requests[i].size() for g in fam for i in g))

    batches: list[list[int]] = []
    current: list[int] = []
    for group in (g for fam in families for g in fam):
        group = sorted(group, key=lambda i: -requests[i].size())
        if current and len(current) + len(group) > size:
            batches.append(current)
            current = []
        if len(group) >= size:
            batches.append(group)
            continue
        current.extend(group)
    if current:
        batches.append(current)
    return batches
