"""Per-segment attention for packed scoring: one row of segments, each attending only within itself
(and to its trunk).

The packed scorer (:mod:`tunegate.models._hf_scoring`) lays every forward out as **one row** of
segments back to back -- no padding, so projections and MLPs run on exactly the layout's tokens -- and
the attention of each layer runs segment by segment through the model's own attention function (sdpa
or eager) on that segment's keys only, never on a row-wide block-diagonal mask.

The layout reaches the attention through a keyword argument the transformers decoder passes down to
every attention call (``tunegate_segments``) while the model's configuration names
:data:`ATTN_NAME` (set for the call by :func:`segment_attention`); as the name has no mask function,
transformers builds no row-wide mask. A segment that is a plain chain (one request, or requests that
extend one another) within the layer's window takes the causal kernel without a mask; a chain longer
than a sliding window runs in bands of queries, each over only the keys its window reaches
(:meth:`Layout.bands`). Any other segment -- a tree -- runs in *blocks* (:func:`attention_blocks`):
its queries cut where the depth-first order leaves a branch, each block over only the ranges of keys
its queries can see (their ancestors and themselves), blocks joined where one call costs less than
two. Documents that share just a header, or a context's choices, then no longer attend over the whole
segment's keys: the work follows the tree's real ancestry, not the segment's length.

A *trunk* -- the prefix common to a tree too large for one segment, e.g. a few-shot block -- runs once,
as a segment of its own that keeps each layer's keys and values; the pieces of the tree run in the same
forward after it, or in later ones, and attend to those kept keys before their own, on the positions
that follow the trunk's (so a sliding window sees only the trunk's last keys).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ATTN_NAME", "CALL_PAIRS", "Block", "Layout", "attention_blocks", "segment_attention"]

#: The name under which :func:`_attend` is registered with transformers' ``AttentionInterface``.
ATTN_NAME = "tunegate_segments"
#: The fixed cost of one attention call in query-key pairs: a masked sdpa call (4 heads of 256, 2-core
#: AMD EPYC) took ~90 us + 0.045 us a pair (8 queries over 8 keys 87 us, 60 over 78 254 us, 250 over 262
#: 3.2 ms).
CALL_PAIRS = 2000


@dataclass(frozen=True)
class Block:
    """Queries ``start..end`` of a segment and the ranges of its tokens they attend to (their ancestors
    and themselves; a trunk's keys come on top), in order."""

    start: int
    end: int
    keys: tuple[tuple[int, int], ...]

    def pairs(self, trunk: int = 0) -> int:
        """Query-key pairs of one call over the block's keys and ``trunk`` more."""
        return (self.end - self.start) * (trunk + sum(b - a for a, b in self.keys))

    def cost(self, trunk: int = 0) -> int:
        """The block's call in query-key pairs: :data:`CALL_PAIRS` plus its :meth:`pairs`."""
        return CALL_PAIRS + self.pairs(trunk)


def _ranges(indices: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted indices as half-open ranges of consecutive ones."""
    out: list[tuple[int, int]] = []
    for i in indices:
        if out and out[-1][1] == i:
            out[-1] = (out[-1][0], i + 1)
        else:
            out.append((i, i + 1))
    return out


def _union(a: Sequence[tuple[int, int]], b: Sequence[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Two lists of half-open ranges as one sorted list, overlapping or touching ranges joined."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted([*a, *b]):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def attention_blocks(ends: Sequence[int], trunk: int = 0) -> list[Block]:
    """The query blocks of a segment whose token ``j`` sees token ``i`` iff ``i <= j < ends[i]``.

    Tokens sit in depth-first order, so the segment falls into *runs*: a token whose predecessor is
    its parent continues the run, any other starts one, and all of a run's queries see the run's
    ancestors (ranges of earlier tokens) and the run itself. A run joins the block before it while one
    attention call over both (the union of their keys, plus ``trunk`` keys) costs no more than two
    (:data:`CALL_PAIRS` a call): documents that share only a header, or a long context's choices,
    then attend over their own keys instead of the whole segment's.
    """
    runs: list[Block] = []
    stack: list[int] = []  # the path from the segment's first token to the current one
    start, ancestors = 0, tuple[tuple[int, int], ...]()
    for j in range(len(ends)):
        while stack and ends[stack[-1]] <= j:  # leave the subtrees that end before j
            stack.pop()
        if j > 0 and ends[j - 1] <= j:  # j's predecessor is not its parent: a run starts
            runs.append(Block(start, j, _union(ancestors, [(start, j)])))
            start, ancestors = j, tuple(_ranges(stack))
        stack.append(j)
    if ends:
        runs.append(Block(start, len(ends), _union(ancestors, [(start, len(ends))])))
    blocks: list[Block] = []
    for run in runs:
        if blocks:
            both = Block(blocks[-1].start, run.end, _union(blocks[-1].keys, run.keys))
            if both.cost(trunk) <= blocks[-1].cost(trunk) + run.cost(trunk):
                blocks[-1] = both
                continue
        blocks.append(run)
    return blocks


#: One attention call of a segment: first query, end, ranges of the segment's keys, additive mask or None.
Call = tuple[int, int, tuple[tuple[int, int], ...], Any]


@dataclass
class Layout:
    """One forward's segments (:class:`~tunegate.models._hf_scoring.Segment`) in row order, the inner
    attention function they run through, and the keys and values kept of trunks (shared by the
    forwards of one scoring call)."""

    segments: Sequence[Any]
    inner: Callable[..., Any]
    dtype: Any
    #: whether ``inner`` applies the causal mask itself when given none (sdpa does, eager does not)
    causal_without_mask: bool = True
    #: (id of a trunk segment, id of an attention module) -> that layer's keys and values of the trunk
    kept: dict[tuple[int, int], tuple[Any, Any]] = field(default_factory=dict)
    bounds: list[tuple[int, int]] = field(init=False)
    _blocks: dict[tuple[int, int | None], list[Call]] = field(default_factory=dict, init=False)
    _bands: dict[tuple[int, int], list[tuple[int, int, int, Any]]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.bounds, start = [], 0
        for s in self.segments:
            self.bounds.append((start, start + len(s.ends)))
            start += len(s.ends)

    def trunk_from(self, k: int, window: int | None) -> int:
        """The first of segment ``k``'s trunk tokens that a layer with ``window`` can see (its tokens
        sit at depth ``len(trunk)`` or more)."""
        n = len(self.segments[k].trunk.ends)
        return 0 if window is None else max(0, n - window + 1)

    def blocks(self, k: int, window: int | None) -> list[Call]:
        """Segment ``k``'s attention calls for a layer with ``window`` (None: full attention), in query
        order: (first query, end, ranges of the segment's keys, additive mask or None where the plain
        causal mask is exact). A segment with a trunk puts the trunk's visible keys
        (:meth:`trunk_from` on) before the ranges' in every call. A chain longer than the window runs
        in :meth:`bands`; any other segment in its :func:`attention_blocks`."""
        if (k, window) not in self._blocks:
            bands = self.bands(k, window)
            if bands is not None:
                self._blocks[(k, window)] = [(qa, qb, ((ka, qb),), m) for qa, qb, ka, m in bands]
            else:
                self._blocks[(k, window)] = self._build(k, window)
        return self._blocks[(k, window)]

    def bands(self, k: int, window: int | None) -> list[tuple[int, int, int, Any]] | None:
        """For a chain (no trunk) longer than a sliding ``window``: its queries in blocks of ``window``,
        as (first query, end, first key, additive mask) -- each block attends to the ``window - 1`` keys
        before it and itself, so the layer costs ~2 x window keys per query instead of the whole
        segment's (a 4096-token chain under Gemma 3's 512-token window: 4x less). None otherwise."""
        seg = self.segments[k]
        n = len(seg.ends)
        if window is None or n <= window or not _is_chain(seg):
            return None
        if (k, window) not in self._bands:
            import torch

            blocks = []
            for qa in range(0, n, window):
                qb, ka = min(n, qa + window), max(0, qa - window + 1)
                i, j = torch.arange(qa, qb)[:, None], torch.arange(ka, qb)[None, :]
                blocks.append((qa, qb, ka, _additive((j <= i) & (i - j < window), self.dtype)))
            self._bands[(k, window)] = blocks
        return self._bands[(k, window)]

    def _build(self, k: int, window: int | None) -> list[Call]:
        import torch

        seg = self.segments[k]
        n = len(seg.ends)
        if self.causal_without_mask and _is_chain(seg) and (window is None or n <= window):
            return [(0, n, ((0, n),), None)]
        e, p = torch.tensor(seg.ends), torch.tensor(seg.positions)
        trunk = (
            torch.arange(self.trunk_from(k, window), len(seg.trunk.ends)) if seg.trunk is not None else None
        )
        out = []
        for b in attention_blocks(seg.ends, len(trunk) if trunk is not None else 0):
            q = torch.arange(b.start, b.end)
            keys = torch.cat([torch.arange(lo, hi) for lo, hi in b.keys])
            seen = (keys[None, :] <= q[:, None]) & (q[:, None] < e[keys][None, :])  # query row, key column
            if window is not None:
                seen &= (p[q][:, None] - p[keys][None, :]) < window
            if trunk is not None:  # every token descends from the whole trunk
                from_trunk = torch.ones((len(q), len(trunk)), dtype=torch.bool)
                if window is not None:
                    from_trunk = (p[q][:, None] - trunk[None, :]) < window
                seen = torch.cat([from_trunk, seen], dim=1)
            causal = seen.shape[0] == seen.shape[1] and torch.equal(seen, torch.ones_like(seen).tril())
            mask = None if causal and self.causal_without_mask else _additive(seen, self.dtype)
            out.append((b.start, b.end, b.keys, mask))
        return out


def _is_chain(seg: Any) -> bool:
    """One path from the root, no trunk: each token sees every token before it (the causal mask)."""
    n = len(seg.ends)
    return seg.trunk is None and all(e == n for e in seg.ends) and seg.positions == list(range(n))


def _additive(seen: Any, dtype: Any) -> Any:
    """The additive (1, 1, queries, keys) mask of the boolean ``seen``: 0 where seen, else dtype's min."""
    import torch

    out = torch.zeros((1, 1, *seen.shape), dtype=dtype)
    return out.masked_fill_(~seen[None, None], torch.finfo(dtype).min)


def _attend(
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Any,
    *,
    tunegate_segments: Layout | None = None,
    sliding_window: int | None = None,
    **kwargs: Any,
) -> tuple[Any, None]:
    """The attention function registered as :data:`ATTN_NAME`: the inner function per segment, a
    trunk's kept keys and values before a segment's own."""
    import torch

    lay = tunegate_segments
    if lay is None:
        raise RuntimeError(f"{ATTN_NAME} attention runs only inside tunegate's packed scoring")
    outs = []
    for k, (a, b) in enumerate(lay.bounds):
        seg = lay.segments[k]
        keys, values = key[:, :, a:b], value[:, :, a:b]
        if seg.keep:  # copies: a view would hold the whole row's keys alive
            lay.kept[(id(seg), id(module))] = (keys.clone(), values.clone())
        before_keys, before_values = [], []  # the trunk's visible keys and values, before the segment's
        if seg.trunk is not None:
            kept_keys, kept_values = lay.kept[(id(seg.trunk), id(module))]
            lo = lay.trunk_from(k, sliding_window)
            before_keys, before_values = [kept_keys[:, :, lo:]], [kept_values[:, :, lo:]]
        for qa, qb, ranges, mask in lay.blocks(k, sliding_window):
            ks = before_keys + [keys[:, :, x:y] for x, y in ranges]
            vs = before_values + [values[:, :, x:y] for x, y in ranges]
            out, _ = lay.inner(
                module,
                query[:, :, a + qa : a + qb],
                ks[0] if len(ks) == 1 else torch.cat(ks, dim=2),
                vs[0] if len(vs) == 1 else torch.cat(vs, dim=2),
                mask,
                sliding_window=sliding_window,
                **kwargs,
            )
            outs.append(out)
    return torch.cat(outs, dim=1), None


def _inner(model_module: str, impl: str) -> Callable[..., Any]:
    """The model's own attention function for ``impl`` (sdpa from transformers, eager from the model's
    modeling file, which may add e.g. Gemma 2's logit soft-capping)."""
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    if impl == "eager":
        fn = getattr(sys.modules.get(model_module), "eager_attention_forward", None)
        if fn is None:
            raise ValueError(f"{model_module} has no eager_attention_forward for packed scoring")
        return fn  # type: ignore[no-any-return]
    if impl != "sdpa":
        raise ValueError(f"packed scoring needs sdpa or eager attention, the model uses {impl!r}")
    return ALL_ATTENTION_FUNCTIONS["sdpa"]  # type: ignore[no-any-return]


@contextmanager
def segment_attention(decoder: Any, config: Any) -> Iterator[Callable[[Sequence[Any]], Layout]]:
    """While active, ``decoder`` attends per segment; yields ``layout(segments)``, the
    :class:`Layout` of one forward's segments (objects with ``ends`` and ``positions``) in row order,
    to pass to the decoder as ``tunegate_segments=``.

    The caller holds the model's lock: the configuration's attention name is switched for the call and
    restored after it, even on error.
    """
    from transformers import AttentionInterface

    AttentionInterface.register(ATTN_NAME, _attend)  # a dict entry: registering again changes nothing
    impl = getattr(config, "_attn_implementation", None) or "sdpa"
    inner = _inner(type(decoder).__module__, impl)
    dtype = next(decoder.parameters()).dtype
    kept: dict[tuple[int, int], tuple[Any, Any]] = {}  # trunks' keys and values, for this call

    def layout(segments: Sequence[Any]) -> Layout:
        return Layout(segments, inner, dtype, causal_without_mask=impl == "sdpa", kept=kept)

    config._attn_implementation = ATTN_NAME
    try:
        yield layout
    finally:
        config._attn_implementation = impl
