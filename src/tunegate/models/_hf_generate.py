"""Greedy generation for the transformers backend: a *pool* of rows that leave as they finish.

transformers' ``generate`` on a batch runs every row until the slowest one is done, and a row that has
stopped still costs a full forward per step. Here the prompts of one call are left-padded to one width
(with an attention mask and per-row position ids, exactly as ``generate`` builds them) and prefilled a
few rows at a time, at most ``PREFILL_TOKENS`` rows x width per forward (64 prompts of 57 tokens in one
forward grew the process by ~0.45 GiB of activations and allocator slack, far more than their KV
cache), the chunks' KV caches joined along the batch. Then one token per step is decoded over the rows
still running: a row that reaches EOS, its token budget or a stop string leaves the pool at once, and
its KV cache rows are dropped (``Cache.batch_select_indices``). The output layer runs only at each
row's last position, a few rows at a time (Gemma's 262k-entry vocabulary makes a 64-row logits block
and its soft-capping temporaries hundreds of MB), with the final-logit soft-capping the model's own
forward applies.

The tokens are the ones batch-1 greedy ``generate`` picks (argmax of float32 logits, no logits
processors); ``tests/models/test_hf_generate.py`` checks that on the tiny model and on real Gemma
prompts. Sampling keeps transformers' ``generate`` (see :mod:`tunegate.models._hf`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["HEAD_ROWS", "PREFILL_TOKENS", "Decoded", "greedy_pool"]

#: rows per output-layer call (bounds the logits' memory)
HEAD_ROWS = 8
#: padded tokens (rows x width) per prefill forward (bounds the prefill's activations); at least one row
PREFILL_TOKENS = 512


@dataclass(frozen=True)
class Decoded:
    """One row's new tokens (EOS/pad excluded) and whether EOS (or pad) ended it."""

    tokens: list[int]
    ended_eos: bool


def greedy_pool(
    model: Any,
    prompts: Sequence[list[int]],
    *,
    max_new_tokens: int,
    eos: set[int],
    pad_id: int,
    stopped: Callable[[list[int]], bool] | None = None,
) -> list[Decoded]:
    """Greedy continuations of ``prompts`` (token ids, BOS included) by a transformers causal LM.

    A row stops after EOS or ``pad_id`` (the token is not kept), after ``max_new_tokens`` tokens, or
    as soon as ``stopped(tokens)`` is true (the last token is kept, as a stopping criterion keeps it).
    """
    import torch
    from transformers import DynamicCache

    if not prompts:
        return []
    device = next(model.parameters()).device
    n, width = len(prompts), max(len(p) for p in prompts)
    ids = torch.full((n, width), pad_id, dtype=torch.long)
    mask = torch.zeros((n, width), dtype=torch.long)
    for i, p in enumerate(prompts):  # left padding: every prompt ends at the same column
        ids[i, width - len(p) :] = torch.tensor(p)
        mask[i, width - len(p) :] = 1
    # as generate: positions count real tokens only (padding sits at position 0)
    pos = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)
    ids, mask, pos = ids.to(device), mask.to(device), pos.to(device)
    attn: torch.Tensor | None = None if bool(mask.all()) else mask  # generate drops an all-ones mask

    decoder, head = model.get_decoder(), model.get_output_embeddings()
    softcap = getattr(model.config, "final_logit_softcapping", None)

    def pick(hidden: torch.Tensor) -> list[int]:
        """Greedy tokens from last-position hidden states, as the model's forward computes logits."""
        picked: list[int] = []
        for a in range(0, hidden.shape[0], HEAD_ROWS):
            logits = head(hidden[a : a + HEAD_ROWS])
            if softcap is not None:
                logits = torch.tanh(logits / softcap) * softcap
            picked += logits.float().argmax(-1).tolist()
        return picked

    # prefill, a few rows at a time; each chunk's cache rows are then joined into one cache
    step_rows = max(1, PREFILL_TOKENS // width)
    parts: list[Any] = []
    last: list[torch.Tensor] = []
    for a in range(0, n, step_rows):
        part = DynamicCache(config=model.config)
        out = decoder(
            input_ids=ids[a : a + step_rows],
            attention_mask=None if attn is None else attn[a : a + step_rows],
            position_ids=pos[a : a + step_rows],
            cache=part,
            use_cache=True,
        )
        last.append(out.last_hidden_state[:, -1, :].clone())  # not a view: the chunk's states go
        del out
        parts.append(part)
    cache = _join(parts)
    hidden = last[0] if len(last) == 1 else torch.cat(last)
    del parts, last
    done: list[Decoded | None] = [None] * n
    new: list[list[int]] = [[] for _ in range(n)]
    rows = list(range(n))  # prompt index of each live row
    while True:
        picked = pick(hidden)
        keep: list[int] = []
        for r, (i, t) in enumerate(zip(rows, picked, strict=True)):
            if t in eos or t == pad_id:
                done[i] = Decoded(new[i], ended_eos=True)
                continue
            new[i].append(t)
            if len(new[i]) >= max_new_tokens or (stopped is not None and stopped(new[i])):
                done[i] = Decoded(new[i], ended_eos=False)
                continue
            keep.append(r)
        if not keep:
            break
        if len(keep) < len(rows):
            index = torch.tensor(keep, device=device)
            cache.batch_select_indices(index)
            mask, pos = mask[index], pos[index]
            rows = [rows[r] for r in keep]
        step_ids = torch.tensor([[new[i][-1]] for i in rows], device=device)
        step_pos = pos[:, -1:] + 1
        pos = torch.cat([pos, step_pos], dim=-1)
        mask = torch.cat([mask, mask.new_ones((len(rows), 1))], dim=-1)
        attn = None if attn is None else mask
        out = decoder(
            input_ids=step_ids, attention_mask=attn, position_ids=step_pos, cache=cache, use_cache=True
        )
        hidden = out.last_hidden_state[:, -1, :]
    return [d if d is not None else Decoded(new[i], ended_eos=False) for i, d in enumerate(done)]


def _join(parts: list[Any]) -> Any:
    """One cache whose rows are the rows of ``parts`` in order (same width: same shapes per layer).

    Layer by layer, so at most one layer's rows are held twice.
    """
    import torch

    first = parts[0]
    if len(parts) == 1:
        return first
    for k, layer in enumerate(first.layers):
        if getattr(layer, "keys", None) is None or not layer.is_initialized:
            continue  # a layer that stores nothing (e.g. one sharing another's KV)
        layer.keys = torch.cat([p.layers[k].keys for p in parts])
        layer.values = torch.cat([p.layers[k].values for p in parts])
        for p in parts[1:]:
            p.layers[k].keys = p.layers[k].values = None
    return first
