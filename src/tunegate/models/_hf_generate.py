"""Greedy generation for the transformers backend: a *pool* of rows that leave as they finish and
are replaced from a queue (continuous batching).

transformers' ``generate`` on a batch runs every row until the slowest one is done, and a row that has
stopped still costs a full forward per step. Here at most ``live`` prompts decode together, one token
per step. A row that reaches EOS, its token budget or a stop string leaves the pool at once and its
KV cache rows are dropped (``Cache.batch_select_indices``); waiting prompts then take the free places:
they are left-padded to one width (with an attention mask and per-row position ids, exactly as
``generate`` builds them), prefilled a few rows at a time -- at most ``PREFILL_TOKENS`` rows x width
per forward (64 prompts of 57 tokens in one forward grew the process by ~0.45 GiB of activations and
allocator slack, far more than their KV cache) -- and their KV caches left-padded to the pool's width
and joined to it along the batch. Columns that are padding in every row are cut from the left, so the
pool is never wider than its longest live row. The output layer runs only at each row's last
position, a few rows at a time (Gemma's 262k-entry vocabulary makes a 64-row logits block and its
soft-capping temporaries hundreds of MB), with the final-logit soft-capping the model's own forward
applies.

The tokens are the ones batch-1 greedy ``generate`` picks (argmax of float32 logits, no logits
processors); ``tests/models/test_hf_generate.py`` checks that on the tiny model and on real Gemma
prompts. Sampling keeps transformers' ``generate`` (see :mod:`tunegate.models._hf`). A cache with a
layer kind other than transformers' dynamic full-attention and sliding-window layers is not padded
or cut: its prompts decode in fixed pools of ``live`` rows, without refill.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tunegate.models._hf_head import output_logits

__all__ = ["ADMIT_FRACTION", "HEAD_ROWS", "PREFILL_TOKENS", "Decoded", "greedy_pool"]

#: rows per output-layer call (bounds the logits' memory: 32 MiB for Gemma's vocabulary); per row, 32 rows
#: in vocabulary blocks cost under a fifth of 8 rows in one call (bench/README.md)
HEAD_ROWS = 32
#: padded tokens (rows x width) per prefill forward (bounds the prefill's activations); at least one row
PREFILL_TOKENS = 512
#: waiting prompts join once this fraction of the pool's places is free (fewer, larger prefills)
ADMIT_FRACTION = 0.125


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
    live: int | None = None,
) -> list[Decoded]:
    """Greedy continuations of ``prompts`` (token ids, BOS included) by a transformers causal LM.

    At most ``live`` rows decode at once (all of them when ``None``). A row stops after EOS or
    ``pad_id`` (the token is not kept), after ``max_new_tokens`` tokens, or as soon as
    ``stopped(tokens)`` is true (the last token is kept, as a stopping criterion keeps it).
    """
    import torch

    if not prompts:
        return []
    n = len(prompts)
    size = n if live is None else max(1, min(live, n))
    if size < n and not _refillable(model):
        out: list[Decoded] = []
        for a in range(0, n, size):
            out += greedy_pool(
                model,
                prompts[a : a + size],
                max_new_tokens=max_new_tokens,
                eos=eos,
                pad_id=pad_id,
                stopped=stopped,
            )
        return out
    pool = _Pool(model, pad_id)
    queue = deque(range(n))
    done: list[Decoded | None] = [None] * n
    new: list[list[int]] = [[] for _ in range(n)]
    admit_at = max(1, round(size * ADMIT_FRACTION))
    while True:
        free = size - len(pool.rows)
        if queue and (free >= min(admit_at, len(queue)) or not pool.rows):
            pool.admit([queue.popleft() for _ in range(min(free, len(queue)))], prompts)
        if not pool.rows:
            break
        keep: list[int] = []
        for r, (i, t) in enumerate(zip(pool.rows, pool.pick(), strict=True)):
            if t in eos or t == pad_id:
                done[i] = Decoded(new[i], ended_eos=True)
                continue
            new[i].append(t)
            if len(new[i]) >= max_new_tokens or (stopped is not None and stopped(new[i])):
                done[i] = Decoded(new[i], ended_eos=False)
                continue
            keep.append(r)
        pool.keep(keep)
        if pool.rows:
            pool.step(torch.tensor([[new[i][-1]] for i in pool.rows], device=pool.device))
    return [d if d is not None else Decoded(new[i], ended_eos=False) for i, d in enumerate(done)]


class _Pool:
    """The live rows' shared KV cache, attention mask, positions and last hidden states."""

    def __init__(self, model: Any, pad_id: int):
        self.device = next(model.parameters()).device
        self.config = model.config
        self.decoder, self.head = model.get_decoder(), model.get_output_embeddings()
        self.softcap = getattr(model.config, "final_logit_softcapping", None)
        self.pad_id = pad_id
        self.rows: list[int] = []  # prompt index of each live row
        self.cache: Any = None
        self.mask: Any = None  # (rows, width) 1 for a real token
        self.pos: Any = None  # (rows, width) position ids, as generate counts them
        self.hidden: Any = None  # (rows, hidden) last position's hidden states
        self.padded = False  # generate drops an all-ones mask; so do we until padding appears

    def pick(self) -> list[int]:
        """Greedy tokens from last-position hidden states, as the model's forward computes logits."""

        picked: list[int] = []
        for a in range(0, self.hidden.shape[0], HEAD_ROWS):
            logits = output_logits(self.head, self.hidden[a : a + HEAD_ROWS])
            if self.softcap is not None:
                logits.div_(self.softcap).tanh_().mul_(self.softcap)  # = tanh(logits / cap) * cap
            picked += logits.float().argmax(-1).tolist()
        return picked

    def admit(self, idx: list[int], prompts: Sequence[list[int]]) -> None:
        """Prefill ``prompts[i]`` for ``i`` in ``idx`` and join them to the pool."""
        import torch
        from transformers import DynamicCache

        width = max(len(prompts[i]) for i in idx)
        ids = torch.full((len(idx), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for r, i in enumerate(idx):  # left padding: every prompt ends at the same column
            p = prompts[i]
            ids[r, width - len(p) :] = torch.tensor(p)
            mask[r, width - len(p) :] = 1
        # as generate: positions count real tokens only (padding sits at position 0)
        pos = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)
        ids, mask, pos = ids.to(self.device), mask.to(self.device), pos.to(self.device)
        padded = not bool(mask.all())
        step_rows = max(1, PREFILL_TOKENS // width)
        parts: list[Any] = []
        last: list[torch.Tensor] = []
        for a in range(0, len(idx), step_rows):
            part = DynamicCache(config=self.config)
            out = self.decoder(
                input_ids=ids[a : a + step_rows],
                attention_mask=mask[a : a + step_rows] if padded else None,
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
        if not self.rows:
            self.cache, self.mask, self.pos, self.hidden, self.padded = cache, mask, pos, hidden, padded
            self.rows = list(idx)
            return
        old = self.mask.shape[1]
        if width < old:
            cache, mask, pos = (
                _pad_left(cache, old - width),
                _pad2(mask, old - width),
                _pad2(pos, old - width),
            )
        elif width > old:
            pad = width - old
            self.cache, self.mask, self.pos = (
                _pad_left(self.cache, pad),
                _pad2(self.mask, pad),
                _pad2(self.pos, pad),
            )
        self.cache = _join([self.cache, cache])
        self.mask, self.pos = torch.cat([self.mask, mask]), torch.cat([self.pos, pos])
        self.hidden = torch.cat([self.hidden, hidden])
        self.rows += idx
        self.padded = True if width != old else self.padded or padded

    def keep(self, keep: list[int]) -> None:
        """Keep only the live rows at indices ``keep``; cut columns that are now padding everywhere."""
        import torch

        if len(keep) == len(self.rows):
            return
        if not keep:
            self.rows, self.cache, self.mask, self.pos, self.hidden = [], None, None, None, None
            return
        index = torch.tensor(keep, device=self.device)
        self.cache.batch_select_indices(index)
        self.mask, self.pos = self.mask[index], self.pos[index]
        self.rows = [self.rows[r] for r in keep]
        cut = int(self.mask.any(0).int().argmax())  # leading columns with no real token in any row
        if cut and _refillable_cache(self.cache):
            self.cache = _cut_left(self.cache, cut)
            self.mask, self.pos = self.mask[:, cut:], self.pos[:, cut:]

    def step(self, step_ids: Any) -> None:
        """Decode one token per live row (``step_ids``: the tokens just picked)."""
        import torch

        step_pos = self.pos[:, -1:] + 1
        self.pos = torch.cat([self.pos, step_pos], dim=-1)
        self.mask = torch.cat([self.mask, self.mask.new_ones((len(self.rows), 1))], dim=-1)
        out = self.decoder(
            input_ids=step_ids,
            attention_mask=self.mask if self.padded else None,
            position_ids=step_pos,
            cache=self.cache,
            use_cache=True,
        )
        self.hidden = out.last_hidden_state[:, -1, :]


def _refillable(model: Any) -> bool:
    """Whether this model's dynamic cache has only layer kinds whose columns we know how to pad/cut."""
    from transformers import DynamicCache

    return _refillable_cache(DynamicCache(config=model.config))


def _refillable_cache(cache: Any) -> bool:
    from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer

    return bool(cache.layers) and all(
        type(x) in (DynamicLayer, DynamicSlidingWindowLayer) for x in cache.layers
    )


def _pad2(t: Any, p: int) -> Any:
    """``t`` (rows, width) with ``p`` zero columns in front (mask: padding; positions: 0)."""
    import torch

    return torch.cat([t.new_zeros((t.shape[0], p)), t], dim=-1)


def _pad_left(cache: Any, p: int) -> Any:
    """``cache`` with ``p`` empty (masked) columns in front, as if its rows had been padded by ``p``.

    A sliding-window layer counts the columns and keeps only its window's last ones, as it would have.
    """
    import torch

    for layer in cache.layers:
        if getattr(layer, "keys", None) is None or not layer.is_initialized:
            continue
        k, v = layer.keys, layer.values
        layer.keys = torch.cat([k.new_zeros((*k.shape[:2], p, k.shape[3])), k], dim=-2)
        layer.values = torch.cat([v.new_zeros((*v.shape[:2], p, v.shape[3])), v], dim=-2)
        if hasattr(layer, "cumulative_length"):
            layer.cumulative_length += p
            keep = layer.sliding_window - 1
            if layer.keys.shape[-2] > keep:
                layer.keys, layer.values = layer.keys[:, :, -keep:, :], layer.values[:, :, -keep:, :]
    return cache


def _cut_left(cache: Any, c: int) -> Any:
    """``cache`` without its first ``c`` columns (padding in every row); a sliding-window layer drops
    only those of them it still holds."""
    for layer in cache.layers:
        if getattr(layer, "keys", None) is None or not layer.is_initialized:
            continue
        if hasattr(layer, "cumulative_length"):
            drop = max(0, c - (layer.cumulative_length - layer.keys.shape[-2]))
            layer.cumulative_length -= c
        else:
            drop = c
        layer.keys, layer.values = layer.keys[:, :, drop:, :], layer.values[:, :, drop:, :]
    return cache


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
