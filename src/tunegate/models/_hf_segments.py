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
(:meth:`Layout.bands`).

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

__all__ = ["ATTN_NAME", "Layout", "segment_attention"]

#: The name under which :func:`_attend` is registered with transformers' ``AttentionInterface``.
ATTN_NAME = "tunegate_segments"


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
    _masks: dict[tuple[int, int | None], Any] = field(default_factory=dict, init=False)
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

    def mask(self, k: int, window: int | None) -> Any:
        """Segment ``k``'s additive mask for a layer with ``window`` (None: full attention), or None
        where the plain causal mask is exact (a chain within the window, no trunk). Columns: the
        visible trunk keys (:meth:`trunk_from` on), then the segment's own."""
        key = (k, window)
        if key not in self._masks:
            self._masks[key] = self._build(k, window)
        return self._masks[key]

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

    def _build(self, k: int, window: int | None) -> Any:
        import torch

        seg = self.segments[k]
        ends, pos = seg.ends, seg.positions
        n = len(ends)
        if self.causal_without_mask and _is_chain(seg) and (window is None or n <= window):
            return None
        e = torch.tensor(ends)
        idx = torch.arange(n)
        p = torch.tensor(pos)
        seen = (idx[None, :] <= idx[:, None]) & (idx[:, None] < e[None, :])  # query row, key column
        if window is not None:
            seen &= (p[:, None] - p[None, :]) < window
        if seg.trunk is not None:  # every token descends from the whole trunk
            t = torch.arange(self.trunk_from(k, window), len(seg.trunk.ends))
            from_trunk = torch.ones((n, len(t)), dtype=torch.bool)
            if window is not None:
                from_trunk = (p[:, None] - t[None, :]) < window
            seen = torch.cat([from_trunk, seen], dim=1)
        return _additive(seen, self.dtype)


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
        bands = lay.bands(k, sliding_window)
        if bands is not None:
            for qa, qb, ka, m in bands:
                out, _ = lay.inner(
                    module,
                    query[:, :, a + qa : a + qb],
                    keys[:, :, ka:qb],
                    values[:, :, ka:qb],
                    m,
                    sliding_window=sliding_window,
                    **kwargs,
                )
                outs.append(out)
            continue
        if seg.trunk is not None:
            kept_keys, kept_values = lay.kept[(id(seg.trunk), id(module))]
            lo = lay.trunk_from(k, sliding_window)
            keys = torch.cat([kept_keys[:, :, lo:], keys], dim=2)
            values = torch.cat([kept_values[:, :, lo:], values], dim=2)
        out, _ = lay.inner(
            module,
            query[:, :, a:b],
            keys,
            values,
            lay.mask(k, sliding_window),
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
