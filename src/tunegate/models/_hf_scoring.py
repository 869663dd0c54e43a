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
   those positions, for each layer the window it has. Single-token choices
   (MMLU's " A".." D") add no tokens: the four log-probabilities are read at the context's last token.
2. **The output layer runs only at scored positions**, each distinct position once, in chunks of
   :data:`OUTPUT_CHUNK` positions so the vocabulary-wide logits never exceed a fixed size, each chunk
   in vocabulary blocks (:mod:`tunegate.models._hf_head`).
3. **No padding, no attention across segments.** Trees are cut into *segments* of at most a segment cap (a
   tree larger than the cap is split between requests; the prefix common to the whole tree becomes a
   *trunk* that runs once and whose keys every piece attends to, and each piece repeats only the prefix
   it needs beyond the trunk), and
   segments are packed first-fit-decreasing into forward passes of at most
   :data:`TOKENS_PER_FORWARD` tokens, back to back in **one row**: projections and MLPs run on the
   layout's tokens only, and each layer's attention runs segment by segment on that segment's keys
   (:mod:`tunegate.models._hf_segments`), never on a row-wide block-diagonal mask, and within a tree
   in blocks over only the keys each block's queries can see. The batch size is
   therefore a token budget, never found by trial allocations; memory per forward is bounded by it.
   The segment cap is chosen by estimated work (:func:`plan`): every token, every attention block's
   query-key pairs and its call (longer segments share more; their blocks cost more calls).

Numbers equal the plain one-request-at-a-time computation up to float rounding (the tests check 1e-4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tunegate.models._hf_head import output_logits
from tunegate.models._hf_segments import attention_blocks

__all__ = [
    "OUTPUT_CHUNK",
    "TOKENS_PER_FORWARD",
    "Segment",
    "build_segments",
    "pack",
    "plan",
    "score_segments",
    "trunk_indices",
]

#: Upper bound on the tokens of one decoder forward. On CPU throughput is flat above ~1k tokens per
#: forward and memory grows with it; one segment longer than this still runs (alone).
TOKENS_PER_FORWARD = 2048
#: Segment caps tried when cutting prefix trees (never above the forward's token budget).
SEGMENT_CAPS = (256, 512, 1024, 2048)
#: Requests join the tree of the one before them only when they share at least this many tokens with
#: it (or their whole context): a shorter shared prefix saves less than it costs in packing freedom.
MIN_SHARE = 8
#: Query-key pairs of attention that cost as much as the rest of one token's forward: for Gemma 3 270M
#: 11.1 MFLOP/token/layer of projections and MLP (~74 us at ~150 GFLOPS on a 2-core AMD EPYC) vs ~0.045
#: us a pair (masked sdpa, 4 heads of 256), i.e. ~1650. Only used to weigh layouts.
ATTENTION_EQUIV = 1650
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
    #: the trunk whose tokens (positions 0..len-1) every token here also sees; it runs before this one
    trunk: Segment | None = field(default=None, repr=False, compare=False)
    #: this segment is a trunk: its keys and values are kept for the segments that name it
    keep: bool = False

    def __len__(self) -> int:
        return len(self.tokens)


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    k = 0
    while k < n and a[k] == b[k]:
        k += 1
    return k


def _trees(
    rows: Sequence[tuple[list[int], int]], inputs: list[list[int]], min_share: int | None
) -> list[tuple[list[int], int]]:
    """Requests in sorted order grouped into prefix trees, each with its number of tokens: a request
    joins the tree before it when it shares its whole context with the previous input, or at least
    ``min_share`` tokens (``None``: only whole contexts)."""
    trees: list[tuple[list[int], int]] = []
    prev: list[int] | None = None
    for i in sorted(range(len(rows)), key=lambda i: inputs[i]):
        inp, ctx_len = inputs[i], len(rows[i][0]) - rows[i][1]
        shared = _common(prev, inp) if prev is not None else 0
        if prev is not None and (shared >= ctx_len or (min_share is not None and shared >= min_share)):
            group, size = trees[-1]
            group.append(i)
            trees[-1] = (group, size + len(inp) - shared)
        else:
            trees.append(([i], len(inp)))
        prev = inp
    return trees


def _lay_out(
    group: list[int],
    rows: Sequence[tuple[list[int], int]],
    inputs: list[list[int]],
    cap: int | None,
    trunk: Segment | None,
) -> list[Segment]:
    """One tree's requests (sorted) as segments of at most ``cap`` tokens after ``trunk``'s."""
    base = len(trunk) if trunk is not None else 0
    out: list[Segment] = []
    seg: Segment | None = None
    path: list[int] = []  # segment index of each token at depth base.. on the previous request's path
    prev: list[int] = []
    for i in group:
        ids, n = rows[i]
        inp, ctx_len = inputs[i], len(ids) - n
        shared = _common(prev, inp) if seg is not None else base
        whole_context = seg is not None and shared >= ctx_len
        if seg is None or not (whole_context or cap is None or len(seg) + len(inp) - shared <= cap):
            seg = Segment(trunk=trunk)
            out.append(seg)
            path, shared = [], base
        for j in path[shared - base :]:  # leaving these tokens' subtrees
            seg.ends[j] = len(seg.tokens)
        del path[shared - base :]
        for d in range(shared, len(inp)):
            path.append(len(seg.tokens))
            seg.tokens.append(inp[d])
            seg.positions.append(d)
            seg.ends.append(-1)
        # the token at depth j-1 predicts ids[j]
        seg.scored.append((i, [(path[j - 1 - base], ids[j]) for j in range(ctx_len, len(ids))]))
        prev = inp
    for seg in out:  # tokens still on a path when their segment ended see to its end
        seg.ends = [len(seg.tokens) if e < 0 else e for e in seg.ends]
    return out


def build_segments(
    rows: Sequence[tuple[list[int], int]],
    cap: int | None = None,
    min_share: int | None = MIN_SHARE,
    trunks: bool = True,
) -> list[Segment]:
    """Lay rows ``(ids, n)`` -- score the last ``n`` of ``ids`` given the rest -- out as prefix trees.

    Requests sharing their whole context always share a tree; others join the previous request's tree
    when they share at least ``min_share`` tokens with it (``None``: never). A tree larger than ``cap``
    tokens (``None``: no cap) is cut between requests into pieces; with ``trunks``, the prefix common
    to the whole tree (at least :data:`MIN_SHARE` tokens) becomes a *trunk* segment that runs once and
    that every piece attends to, so each piece repeats only the prefix it needs beyond the trunk.
    Each row needs ``len(ids) > n``: the token before the first scored one must exist.
    """
    for ids, n in rows:
        if n < 1 or len(ids) <= n:
            raise ValueError("each scored row needs at least one token before its scored tokens")
    inputs = [ids[:-1] for ids, _ in rows]
    segments: list[Segment] = []
    for group, size in _trees(rows, inputs, min_share):
        trunk = None
        if trunks and cap is not None and size > cap and len(group) > 1:
            # common to the whole (sorted) tree, and short of every scored position
            depth = min(
                _common(inputs[group[0]], inputs[group[-1]]),
                min(len(rows[i][0]) - rows[i][1] for i in group) - 1,
            )
            if depth >= MIN_SHARE:
                head = inputs[group[0]][:depth]
                trunk = Segment(tokens=head, positions=list(range(depth)), ends=[depth] * depth, keep=True)
                segments.append(trunk)
        segments += _lay_out(group, rows, inputs, cap, trunk)
    return segments


def _cost(segments: Sequence[Segment]) -> float:
    """Estimated work: every token, plus each attention block's calls and query-key pairs (a
    segment's keys and its trunk's that the block's queries attend over)."""
    work = 0.0
    for s in segments:
        trunk = len(s.trunk or ())
        work += len(s) + sum(b.cost(trunk) for b in attention_blocks(s.ends, trunk)) / ATTENTION_EQUIV
    return work


def pack(
    lengths: Sequence[int], budget: int = TOKENS_PER_FORWARD, after: Sequence[int | None] | None = None
) -> list[list[int]]:
    """Forward passes, each a list of segment indices laid out back to back (first-fit decreasing
    into ``budget`` tokens; a segment longer than the budget runs alone). ``after[i]``: a segment that
    must run before ``i`` -- in an earlier forward, or earlier in the same one (trunks go first)."""
    after = list(after) if after is not None else [None] * len(lengths)
    firsts = {a for a in after if a is not None}
    forwards: list[list[int]] = []
    free: list[int] = []
    where: dict[int, int] = {}
    by_length = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    for i in [i for i in by_length if i in firsts] + [i for i in by_length if i not in firsts]:
        n, first = lengths[i], after[i]
        for f in range(where[first] if first is not None else 0, len(forwards)):
            if free[f] >= n:
                forwards[f].append(i)
                free[f] -= n
                where[i] = f
                break
        else:
            forwards.append([i])
            free.append(budget - n)
            where[i] = len(forwards) - 1
    return forwards


def plan(
    rows: Sequence[tuple[list[int], int]], budget: int = TOKENS_PER_FORWARD
) -> tuple[list[Segment], list[list[int]]]:
    """Segments and forward passes for ``rows`` (see :func:`build_segments`), the cheapest of the
    segment caps in :data:`SEGMENT_CAPS` and of not sharing across contexts at all."""
    candidates = [build_segments(rows, None, None)]
    if len(build_segments(rows, None, MIN_SHARE)) < len(candidates[0]):  # some prefix is worth sharing
        caps = sorted({max(1, min(c, budget)) for c in SEGMENT_CAPS})
        candidates += [build_segments(rows, cap, MIN_SHARE) for cap in caps]
    segments = min(candidates, key=_cost)
    return segments, pack([len(s) for s in segments], budget, trunk_indices(segments))


def trunk_indices(segments: Sequence[Segment]) -> list[int | None]:
    """For each segment, the index of its trunk in ``segments`` (None: it has none) -- :func:`pack`'s
    ``after``."""
    index = {id(s): k for k, s in enumerate(segments)}
    return [index[id(s.trunk)] if s.trunk is not None else None for s in segments]


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
    forwards: Sequence[Sequence[int]],
    n_requests: int,
    *,
    device: Any,
    softcap: float | None = None,
) -> list[tuple[float, bool]]:
    """(sum of log P, all tokens greedy) per request index, running ``decoder`` on the packed
    ``forwards`` (lists of segment indices, from :func:`plan` or :func:`pack`), one row each."""
    import torch

    from tunegate.models._hf_segments import segment_attention

    logp_of: list[list[float]] = [[] for _ in range(n_requests)]
    greedy_of: list[bool] = [True] * n_requests
    with segment_attention(decoder, config) as layout:
        for forward in forwards:
            segs = [segments[i] for i in forward]
            ids = torch.tensor([[t for s in segs for t in s.tokens]], device=device)
            pos = torch.tensor([[p for s in segs for p in s.positions]], device=device)
            # (flat index into the row, target, request) for every scored token
            flat, targets, owners = [], [], []
            start = 0
            for s in segs:
                for req, pairs in s.scored:
                    for j, t in pairs:
                        flat.append(start + j)
                        targets.append(t)
                        owners.append(req)
                start += len(s)
            hidden = decoder(
                input_ids=ids, position_ids=pos, use_cache=False, tunegate_segments=layout(segs)
            ).last_hidden_state
            _read_scores(torch, hidden, output_layer, softcap, flat, targets, owners, logp_of, greedy_of)
    return [(float(sum(lps)), g) for lps, g in zip(logp_of, greedy_of, strict=True)]


def _read_scores(
    torch: Any,
    hidden: Any,
    output_layer: Any,
    softcap: float | None,
    flat: list[int],
    targets: list[int],
    owners: list[int],
    logp_of: list[list[float]],
    greedy_of: list[bool],
) -> None:
    """Log-probabilities and greedy flags of one forward's scored tokens (``flat`` positions of
    ``hidden``, predicting ``targets``, for requests ``owners``), into ``logp_of`` and ``greedy_of``:
    each distinct position through the output layer once, :data:`OUTPUT_CHUNK` positions at a time."""
    if not flat:  # a forward of trunks only: it ran for their keys
        return
    hidden = hidden.reshape(-1, hidden.shape[-1])
    uniq = sorted(set(flat))
    where = {p: k for k, p in enumerate(uniq)}
    picked = hidden[torch.tensor(uniq, device=hidden.device)]
    row_of = torch.tensor([where[p] for p in flat], device=hidden.device)
    tgt = torch.tensor(targets, device=hidden.device)
    tok_lp = torch.empty(len(flat), dtype=torch.float32, device=hidden.device)
    is_max = torch.empty(len(flat), dtype=torch.bool, device=hidden.device)
    for a in range(0, len(uniq), OUTPUT_CHUNK):
        logits = output_logits(output_layer, picked[a : a + OUTPUT_CHUNK]).float()
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
