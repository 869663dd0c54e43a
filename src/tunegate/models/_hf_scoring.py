"""Packed log-likelihood scoring for :class:`~tunegate.models._hf.HFBackend`.

Three things make multiple-choice scoring cheap:

1. **Every shared prefix runs once.** The requests' input tokens are laid out as a *prefix tree*:
   sorted, each request adds only the tokens after the longest prefix it shares with the one before
   it. A context shared by a document's choices runs once, and so does a prefix shared *across*
   documents -- MMLU's subject header, a fixed few-shot block (5-shot MMLU: ~6x fewer tokens than one
   row per context). Each token attends to its ancestors in the tree and to itself only: tokens sit in
   depth-first order, so token ``j`` sees token ``i`` exactly when ``i <= j < ends[i]`` (``ends[i]``:
   where ``i``'s subtree stops). Position ids are the depth in the tree, so every token sees exactly
   what it would see alone; the sliding window of local-attention layers (Gemma 3: 512) is applied on
   those positions, and models with several layer types get one mask per type. Single-token choices
   (MMLU's " A".." D") add no tokens: the four log-probabilities are read at the context's last token.
2. **The output layer runs only at scored positions**, each distinct position once, in chunks of
   :data:`OUTPUT_CHUNK` positions so the vocabulary-wide logits never exceed a fixed size.
3. **Little padding.** Trees are cut into *segments* of at most a segment cap (a tree larger than the
   cap is split between requests; each piece repeats the prefix it needs), and segments are packed
   first-fit-decreasing into rows (block-diagonal between segments of a row) and forward passes of at
   most :data:`TOKENS_PER_FORWARD` tokens (rows x row length). The batch size is therefore a token
   budget, never found by trial allocations; memory per forward is bounded by it. The segment cap and
   row capacity are chosen by estimated work (:func:`plan`): longer rows share more and pad less but
   attend over more keys.

Numbers equal the plain one-request-at-a-time computation up to float rounding (the tests check 1e-4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "OUTPUT_CHUNK",
    "TOKENS_PER_FORWARD",
    "Segment",
    "build_segments",
    "pack",
    "plan",
    "score_segments",
]

#: Upper bound on rows x row length of one decoder forward. On CPU throughput is flat above ~1k tokens
#: per forward and memory grows with it; one segment longer than this still runs (alone).
TOKENS_PER_FORWARD = 2048
#: Row capacities tried when packing (0: as long as the longest segment); the cheapest plan is used.
ROW_CAPACITIES = (0, 256, 384, 512, 768, 1024)
#: Segment caps tried when cutting prefix trees (never above the forward's token budget).
SEGMENT_CAPS = (256, 512, 1024, 2048)
#: Requests join the tree of the one before them only when they share at least this many tokens with
#: it (or their whole context): a shorter shared prefix saves less than it costs in packing freedom.
MIN_SHARE = 8
#: Row width at which attention (all of a row's keys, masked or not) costs as much as the rest of a
#: token's forward; for Gemma 3 270M about 11.5 MFLOP/token/layer of projections and MLP vs 4 kFLOP per
#: key, i.e. ~2800 (measured: SDPA is ~15% of the decoder's time in rows ~500 wide). Only used to weigh
#: plans; on the MMLU/HellaSwag bench a quadratic model or half this width chose plans within noise.
ATTENTION_EQUIV = 2800
#: Scored positions sent through the output layer at once (Gemma: 262k vocabulary x 4 bytes = 1 MiB each,
#: so 128 MiB of logits, turned into log-probabilities in place). 256 was no faster on CPU (HellaSwag
#: bench, within noise) and peaked ~260 MB higher.
OUTPUT_CHUNK = 128


@dataclass
class Segment:
    """A piece of a prefix tree: tokens in depth-first order and the requests scored from them."""

    tokens: list[int] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)  # depth in the tree = position id
    ends: list[int] = field(default_factory=list)  # token j sees token i iff i <= j < ends[i]
    # per request: (request index, [(segment index of the predicting token, target id), ...])
    scored: list[tuple[int, list[tuple[int, int]]]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.tokens)


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    k = 0
    while k < n and a[k] == b[k]:
        k += 1
    return k


def build_segments(
    rows: Sequence[tuple[list[int], int]], cap: int | None = None, min_share: int | None = MIN_SHARE
) -> list[Segment]:
    """Lay rows ``(ids, n)`` -- score the last ``n`` of ``ids`` given the rest -- out as prefix trees.

    Requests sharing their whole context always share a segment. Others join the previous request's
    segment when they share at least ``min_share`` tokens with it (``None``: never) and the segment stays
    within ``cap`` tokens (``None``: no cap). Each row needs ``len(ids) > n``: the token before the first
    scored one must exist.
    """
    for ids, n in rows:
        if n < 1 or len(ids) <= n:
            raise ValueError("each scored row needs at least one token before its scored tokens")
    inputs = [ids[:-1] for ids, _ in rows]
    order = sorted(range(len(rows)), key=lambda i: inputs[i])
    segments: list[Segment] = []
    seg: Segment | None = None
    path: list[int] = []  # segment index of each token on the previous request's path
    prev: list[int] = []
    for i in order:
        ids, n = rows[i]
        inp, ctx_len = inputs[i], len(ids) - n
        shared = _common(prev, inp) if seg is not None else 0
        whole_context = seg is not None and shared >= ctx_len
        fits = cap is None or (seg is not None and len(seg) + len(inp) - shared <= cap)
        joins = whole_context or (min_share is not None and shared >= min_share and fits)
        if seg is None or not joins:
            seg = Segment()
            segments.append(seg)
            path, shared = [], 0
        for j in path[shared:]:  # leaving these tokens' subtrees
            seg.ends[j] = len(seg.tokens)
        del path[shared:]
        for d in range(shared, len(inp)):
            path.append(len(seg.tokens))
            seg.tokens.append(inp[d])
            seg.positions.append(d)
            seg.ends.append(-1)
        # the token at depth j-1 predicts ids[j]
        seg.scored.append((i, [(path[j - 1], ids[j]) for j in range(ctx_len, len(ids))]))
        prev = inp
    for seg in segments:  # tokens still on a path when their segment ended see to its end
        seg.ends = [len(seg.tokens) if e < 0 else e for e in seg.ends]
    return segments


def _pack_at(lengths: Sequence[int], order: list[int], cap_floor: int, budget: int) -> list[list[list[int]]]:
    remaining = order
    forwards = []
    while remaining:
        cap = max(lengths[remaining[0]], cap_floor)
        max_rows = max(1, budget // max(cap, 1))
        rows: list[list[int]] = []
        free: list[int] = []
        left = []
        for i in remaining:
            n = lengths[i]
            for r, f in enumerate(free):
                if f >= n:
                    rows[r].append(i)
                    free[r] -= n
                    break
            else:
                if len(rows) < max_rows:
                    rows.append([i])
                    free.append(cap - n)
                else:
                    left.append(i)
        forwards.append(rows)
        remaining = left
    return forwards


def _cost(lengths: Sequence[int], forwards: list[list[list[int]]]) -> float:
    """Estimated work: padded token slots, each also paying attention over its row's width."""
    total = 0.0
    for rows in forwards:
        width = max(sum(lengths[i] for i in row) for row in rows)
        total += len(rows) * width * (1 + width / ATTENTION_EQUIV)
    return total


def pack(lengths: Sequence[int], budget: int = TOKENS_PER_FORWARD) -> list[list[list[int]]]:
    """Forward passes, each a list of rows, each a list of segment indices (first-fit decreasing).

    A forward's rows hold whole segments (longest first, shorter ones filling the leftover space) up to
    a row capacity of at least its longest segment, and as many rows as fit ``budget`` tokens (at least
    one). Longer rows waste less on padding but attend over more tokens; the capacity is the candidate
    (:data:`ROW_CAPACITIES`) with the least estimated work (:func:`_cost`).
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    plans = [_pack_at(lengths, order, c, budget) for c in ROW_CAPACITIES if c <= max(budget, 1)]
    return min(plans, key=lambda f: _cost(lengths, f))


def plan(
    rows: Sequence[tuple[list[int], int]], budget: int = TOKENS_PER_FORWARD
) -> tuple[list[Segment], list[list[list[int]]]]:
    """Segments and forward passes for ``rows`` (see :func:`build_segments`), the cheapest of the
    segment caps in :data:`SEGMENT_CAPS` and of not sharing across contexts at all."""
    candidates = [build_segments(rows, None, None)]
    if len(build_segments(rows, None, MIN_SHARE)) < len(candidates[0]):  # some prefix is worth sharing
        caps = sorted({max(1, min(c, budget)) for c in SEGMENT_CAPS})
        candidates += [build_segments(rows, cap, MIN_SHARE) for cap in caps]
    best: tuple[float, list[Segment], list[list[list[int]]]] | None = None
    for segments in candidates:
        lengths = [len(s) for s in segments]
        forwards = pack(lengths, budget)
        cost = _cost(lengths, forwards)
        if best is None or cost < best[0]:
            best = (cost, segments, forwards)
    assert best is not None
    return best[1], best[2]


def _masks(torch: Any, ends: Any, pos: Any, sliding_window: int | None) -> tuple[Any, Any]:
    """Boolean (rows, 1, L, L) masks -- full attention, and with the sliding window (None if no
    window) -- from the tree layout: query q sees key k iff k <= q < ends[k]."""
    idx = torch.arange(ends.shape[1], device=ends.device)
    full = (idx[None, None, :] <= idx[None, :, None]) & (idx[None, :, None] < ends[:, None, :])
    sliding = None
    if sliding_window:
        sliding = full & ((pos[:, :, None] - pos[:, None, :]) < sliding_window)
    return full[:, None], (sliding[:, None] if sliding is not None else None)


def _additive(torch: Any, mask: Any, dtype: Any) -> Any:
    """A boolean mask as the additive float mask both sdpa (10-15% faster than with a boolean mask on
    CPU) and eager attention take: 0 where visible, the dtype's minimum elsewhere. None stays None."""
    if mask is None:
        return None
    out = torch.zeros(mask.shape, dtype=dtype, device=mask.device)
    return out.masked_fill_(~mask, torch.finfo(dtype).min)


def _is_argmax(torch: Any, logp: Any, rows: Any, targets: Any, target_lp: Any) -> Any:
    """``logp[rows].argmax(-1) == targets`` -- the greedy test of the plain computation (first index
    wins a tie) -- without a full argmax: ``amax`` over the vocabulary (5x cheaper on CPU), then, where
    the target reaches the maximum, a scan of the row before the target for an earlier tie."""
    best = logp.amax(dim=-1)
    out = target_lp >= best[rows]
    hits = out.nonzero()[:, 0].tolist()
    for k, r, t in zip(hits, rows[hits].tolist(), targets[hits].tolist(), strict=True):
        if t and bool((logp[r, :t] == best[r]).any()):
            out[k] = False
    return out


def score_segments(
    decoder: Any,
    output_layer: Any,
    config: Any,
    segments: Sequence[Segment],
    forwards: Sequence[Sequence[Sequence[int]]],
    n_requests: int,
    *,
    pad_id: int,
    device: Any,
    softcap: float | None = None,
) -> list[tuple[float, bool]]:
    """(sum of log P, all tokens greedy) per request index, running ``decoder`` on the packed
    ``forwards`` (lists of rows of segment indices, from :func:`plan` or :func:`pack`)."""
    import torch

    layer_types = list(getattr(config, "layer_types", None) or [])
    window = getattr(config, "sliding_window", None)
    if not layer_types and not getattr(config, "use_sliding_window", window is not None):
        window = None  # e.g. Qwen2 configs carry a window they do not use
    if layer_types and "sliding_attention" not in layer_types:
        window = None

    impl = getattr(config, "_attn_implementation", None) or "sdpa"
    if impl not in ("sdpa", "eager"):
        raise ValueError(f"packed scoring needs sdpa or eager attention (4D masks), the model uses {impl!r}")
    dtype = output_layer.weight.dtype
    logp_of: list[list[float]] = [[] for _ in range(n_requests)]
    greedy_of: list[bool] = [True] * n_requests
    for rows in forwards:
        width = max(sum(len(segments[i]) for i in row) for row in rows)
        shape = (len(rows), width)
        ids = torch.full(shape, pad_id, dtype=torch.long)
        pos = torch.zeros(shape, dtype=torch.long)
        ends = torch.arange(1, width + 1, dtype=torch.long).repeat(len(rows), 1)  # padding: itself only
        # (flat index into rows x width, target, request) for every scored token
        flat, targets, owners = [], [], []
        for r, row in enumerate(rows):
            start = 0
            for i in row:
                s = segments[i]
                end = start + len(s)
                ids[r, start:end] = torch.tensor(s.tokens)
                pos[r, start:end] = torch.tensor(s.positions)
                ends[r, start:end] = torch.tensor(s.ends) + start
                for req, pairs in s.scored:
                    for j, t in pairs:
                        flat.append(r * width + start + j)
                        targets.append(t)
                        owners.append(req)
                start = end
        ids, pos, ends = (x.to(device) for x in (ids, pos, ends))
        full, sliding = (_additive(torch, m, dtype) for m in _masks(torch, ends, pos, window))
        if layer_types:
            mask: Any = {
                t: (sliding if t == "sliding_attention" and sliding is not None else full)
                for t in set(layer_types)
            }
        else:
            mask = sliding if sliding is not None else full
        hidden = decoder(
            input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False
        ).last_hidden_state
        hidden = hidden.reshape(-1, hidden.shape[-1])
        # each distinct position through the output layer once
        uniq = sorted(set(flat))
        where = {p: k for k, p in enumerate(uniq)}
        picked = hidden[torch.tensor(uniq, device=hidden.device)]
        row_of = torch.tensor([where[p] for p in flat], device=hidden.device)
        tgt = torch.tensor(targets, device=hidden.device)
        tok_lp = torch.empty(len(flat), dtype=torch.float32, device=hidden.device)
        is_max = torch.empty(len(flat), dtype=torch.bool, device=hidden.device)
        for a in range(0, len(uniq), OUTPUT_CHUNK):
            logits = output_layer(picked[a : a + OUTPUT_CHUNK]).float()
            if softcap:  # in place: the same kernels as tanh(logits / cap) * cap, no 128 MiB temporaries
                logits.div_(softcap).tanh_().mul_(softcap)
            # log_softmax, not logits - logsumexp: torch's CPU logsumexp is off by ~1e-5 per token here
            torch.log_softmax(logits, dim=-1, out=logits)  # in place: one vocabulary-wide buffer per chunk
            sel = ((row_of >= a) & (row_of < a + OUTPUT_CHUNK)).nonzero()[:, 0]
            local = row_of[sel] - a
            tok_lp[sel] = logits[local, tgt[sel]]
            is_max[sel] = _is_argmax(torch, logits, local, tgt[sel], tok_lp[sel])
        for req, lp, g in zip(owners, tok_lp.tolist(), is_max.tolist(), strict=True):
            logp_of[req].append(lp)
            greedy_of[req] = greedy_of[req] and g
    return [(float(sum(lps)), g) for lps, g in zip(logp_of, greedy_of, strict=True)]
