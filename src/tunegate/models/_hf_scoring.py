"""Packed log-likelihood scoring for :class:`~tunegate.models._hf.HFBackend`.

Three things make multiple-choice scoring cheap:

1. **Each shared context runs once.** Requests whose (token-level) context is identical form one
   *segment*: ``[context, choice1[:-1], choice2[:-1], ...]``. A 4D attention mask lets every choice
   token attend to the whole context and causally to its own choice only, and position ids restart at
   ``len(context)`` for every choice, so each choice sees exactly what it would see alone. The sliding
   window of local-attention layers (Gemma 3: 512) is applied on those logical positions, and models
   with several layer types get one mask per type (``{"full_attention": ..., "sliding_attention": ...}``,
   which the decoder uses as given). Single-token choices (MMLU's " A".." D") add no tokens at all:
   the context runs once and the four log-probabilities are read at its last position.
2. **The output layer runs only at scored positions**, each distinct position once, in chunks of
   :data:`OUTPUT_CHUNK` positions so the vocabulary-wide logits never exceed a fixed size.
3. **Little padding.** Segments are packed first-fit-decreasing into rows as long as the longest
   segment still waiting (block-diagonal mask between segments of a row), and rows are grouped into
   forward passes of at most :data:`TOKENS_PER_FORWARD` tokens (rows x row length). The batch size is
   therefore a token budget, never found by trial allocations; memory per forward is bounded by it.

Numbers equal the plain one-request-at-a-time computation up to float rounding (the tests check 1e-4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["OUTPUT_CHUNK", "TOKENS_PER_FORWARD", "Segment", "build_segments", "pack", "score_segments"]

#: Upper bound on rows x row length of one decoder forward. On CPU throughput is flat above ~1k tokens
#: per forward and memory grows with it; one segment longer than this still runs (alone).
TOKENS_PER_FORWARD = 2048
#: Row capacities tried when packing (0: as long as the longest segment); the cheapest plan is used.
ROW_CAPACITIES = (0, 256, 384, 512, 768, 1024)
#: Row width at which attention (all of a row's keys, masked or not) costs as much as the rest of a
#: token's forward; for Gemma 3 270M about 11.5 MFLOP/token/layer of projections and MLP vs 4 kFLOP per
#: key, i.e. ~2800. Only used to weigh padding against longer rows.
ATTENTION_EQUIV = 2800
#: Scored positions sent through the output layer at once (Gemma: 262k vocabulary x 4 bytes = 1 MiB each,
#: so 256 MiB of logits, turned into log-probabilities in place); larger chunks gain little on CPU.
OUTPUT_CHUNK = 256


@dataclass
class Segment:
    """One context and the choices scored after it, as one packed token sequence."""

    tokens: list[int] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    branches: list[int] = field(default_factory=list)  # 0: context; k: the k-th choice
    # per request: (request index, [(segment index of the predicting token, target id), ...])
    scored: list[tuple[int, list[tuple[int, int]]]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.tokens)


def build_segments(rows: Sequence[tuple[list[int], int]]) -> list[Segment]:
    """Group rows ``(ids, n)`` -- score the last ``n`` of ``ids`` given the rest -- by their context.

    Each row needs ``len(ids) > n``: the token before the first scored one must exist.
    """
    groups: dict[tuple[int, ...], Segment] = {}
    for i, (ids, n) in enumerate(rows):
        if n < 1 or len(ids) <= n:
            raise ValueError("each scored row needs at least one token before its scored tokens")
        ctx, cont = tuple(ids[:-n]), ids[-n:]
        seg = groups.get(ctx)
        if seg is None:
            seg = groups[ctx] = Segment(list(ctx), list(range(len(ctx))), [0] * len(ctx))
        branch = len(seg.scored) + 1
        m = len(ctx)
        # The last context token predicts cont[0]; cont[k] (k < n-1), at position m+k, predicts cont[k+1].
        pairs = [(m - 1, cont[0])]
        for k in range(n - 1):
            pairs.append((len(seg.tokens), cont[k + 1]))
            seg.tokens.append(cont[k])
            seg.positions.append(m + k)
            seg.branches.append(branch)
        seg.scored.append((i, pairs))
    return list(groups.values())


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


def _masks(torch: Any, seg_ids: Any, pos: Any, branch: Any, sliding_window: int | None) -> tuple[Any, Any]:
    """Boolean (rows, 1, L, L) masks: full attention, and with the sliding window (None if no window)."""
    same = seg_ids[:, :, None] == seg_ids[:, None, :]
    causal = pos[:, None, :] <= pos[:, :, None]
    kb, qb = branch[:, None, :], branch[:, :, None]
    visible = same & causal & ((kb == 0) | (kb == qb)) & (seg_ids[:, :, None] >= 0)
    eye = torch.eye(seg_ids.shape[1], dtype=torch.bool, device=seg_ids.device)[None]
    full = visible | eye  # padding attends to itself only, so no row is empty (no NaN)
    sliding = None
    if sliding_window:
        near = (pos[:, :, None] - pos[:, None, :]) < sliding_window
        sliding = (visible & near) | eye
    return full[:, None], (sliding[:, None] if sliding is not None else None)


def score_segments(
    decoder: Any,
    output_layer: Any,
    config: Any,
    segments: Sequence[Segment],
    n_requests: int,
    *,
    pad_id: int,
    device: Any,
    softcap: float | None = None,
    budget: int = TOKENS_PER_FORWARD,
) -> list[tuple[float, bool]]:
    """(sum of log P, all tokens greedy) per request index, running ``decoder`` on packed segments."""
    import torch

    layer_types = list(getattr(config, "layer_types", None) or [])
    window = getattr(config, "sliding_window", None)
    if not layer_types and not getattr(config, "use_sliding_window", window is not None):
        window = None  # e.g. Qwen2 configs carry a window they do not use
    if layer_types and "sliding_attention" not in layer_types:
        window = None

    logp_of: list[list[float]] = [[] for _ in range(n_requests)]
    greedy_of: list[bool] = [True] * n_requests
    for rows in pack([len(s) for s in segments], budget):
        width = max(sum(len(segments[i]) for i in row) for row in rows)
        shape = (len(rows), width)
        ids = torch.full(shape, pad_id, dtype=torch.long)
        pos = torch.zeros(shape, dtype=torch.long)
        branch = torch.zeros(shape, dtype=torch.long)
        seg_ids = torch.full(shape, -1, dtype=torch.long)
        # (flat index into rows x width, target, request) for every scored token
        flat, targets, owners = [], [], []
        for r, row in enumerate(rows):
            start = 0
            for i in row:
                s = segments[i]
                end = start + len(s)
                ids[r, start:end] = torch.tensor(s.tokens)
                pos[r, start:end] = torch.tensor(s.positions)
                branch[r, start:end] = torch.tensor(s.branches)
                seg_ids[r, start:end] = i
                for req, pairs in s.scored:
                    for j, t in pairs:
                        flat.append(r * width + start + j)
                        targets.append(t)
                        owners.append(req)
                start = end
        ids, pos, branch, seg_ids = (x.to(device) for x in (ids, pos, branch, seg_ids))
        full, sliding = _masks(torch, seg_ids, pos, branch, window)
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
            if softcap:
                logits = torch.tanh(logits / softcap) * softcap
            # log_softmax, not logits - logsumexp: torch's CPU logsumexp is off by ~1e-5 per token here;
            # greedy = argmax of the log-probabilities, as the plain computation (and lm-eval) takes it
            torch.log_softmax(logits, dim=-1, out=logits)  # in place: one vocabulary-wide buffer per chunk
            best = logits.argmax(dim=-1)
            sel = ((row_of >= a) & (row_of < a + OUTPUT_CHUNK)).nonzero()[:, 0]
            local = row_of[sel] - a
            tok_lp[sel] = logits[local, tgt[sel]]
            is_max[sel] = best[local] == tgt[sel]
        for req, lp, g in zip(owners, tok_lp.tolist(), is_max.tolist(), strict=True):
            logp_of[req].append(lp)
            greedy_of[req] = greedy_of[req] and g
    return [(float(sum(lps)), g) for lps, g in zip(logp_of, greedy_of, strict=True)]
