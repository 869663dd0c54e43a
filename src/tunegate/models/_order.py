"""Request orders a backend may prefer: how the engine cuts missing requests into sub-batches.

A backend's :meth:`~tunegate.models.Backend.plan` returns batches of request indices; these are the
two orders tunegate's backends use.
"""

from __future__ import annotations

from collections.abc import Sequence

from tunegate.models._requests import LoglikelihoodRequest, Request

__all__ = ["FAMILY_BATCHES", "FAMILY_PREFIX_CHARS", "by_prefix_family", "longest_first"]

#: Log-likelihood contexts sharing at least this many leading characters (~8 tokens) are one *family*:
#: they travel together so the backend can run their common prefix once.
FAMILY_PREFIX_CHARS = 32
#: A family larger than a batch travels in batches of its own of up to this many batch sizes (5-shot
#: MMLU's 356 requests of one subject: one call, so its few-shot block runs once, not three times).
FAMILY_BATCHES = 4


def longest_first(requests: Sequence[Request], missing: Sequence[int], size: int) -> list[list[int]]:
    """Plain length-sorted chunks of ``size``, longest first (least padding, memory peaks early)."""
    order = sorted(missing, key=lambda i: -requests[i].size())
    return [order[a : a + size] for a in range(0, len(order), size)]


def by_prefix_family(requests: Sequence[Request], missing: Sequence[int], size: int) -> list[list[int]]:
    """Batches of about ``size``, ordered so a prefix-sharing scorer wastes little work.

    Log-likelihood requests with the same ``context`` (a multiple-choice item's choices) form a group
    that is never split. Groups whose contexts share a prefix (a subject header, a fixed few-shot
    block; :data:`FAMILY_PREFIX_CHARS`) form a family, kept together in context order, so the backend
    runs the prefix once. A family that fits ``size`` is never split between batches; a larger one
    travels in near-equal batches of its own of at most :data:`FAMILY_BATCHES` times ``size`` (a group
    larger than that is a batch of its own). Families go longest first, so unrelated documents of
    similar length meet (little padding, narrow rows). Other kinds are singletons, longest first:
    plain length-sorted chunking (least padding in generation).
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
    for fam in families:
        groups = [sorted(g, key=lambda i: -requests[i].size()) for g in fam]
        total = sum(len(g) for g in groups)
        if total <= size:  # fits one batch: never split between two
            if current and len(current) + total > size:
                batches.append(current)
                current = []
            current.extend(i for g in groups for i in g)
            continue
        if current:
            batches.append(current)
            current = []
        # whole groups, in near-equal batches of at most FAMILY_BATCHES * size (a larger group alone)
        limit = FAMILY_BATCHES * size
        target = -(-total // -(-total // limit))  # total / the fewest batches of at most limit
        chunk: list[int] = []
        for g in groups:
            if chunk and len(chunk) + len(g) > limit:
                batches.append(chunk)
                chunk = []
            chunk.extend(g)
            if len(chunk) >= target:
                batches.append(chunk)
                chunk = []
        if chunk:
            batches.append(chunk)
    if current:
        batches.append(current)
    return batches
