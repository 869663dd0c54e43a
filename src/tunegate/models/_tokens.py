"""Token ids the way every local backend makes them (hf:, gguf:, vllm:), so their numbers agree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def encode_with_bos(tok: Any, bos_id: int | None, text: str) -> list[int]:
    """Token ids of ``text`` with the BOS token first (when the model has one)."""
    ids: list[int] = tok(text, add_special_tokens=False)["input_ids"]
    return ([bos_id] if bos_id is not None else []) + ids


def split_pair(
    encode: Callable[[str], list[int]], context: str, continuation: str
) -> tuple[list[int], list[int]]:
    """Context and continuation ids, split the way lm-evaluation-harness splits them: trailing spaces
    of the context move to the continuation, and the continuation is what the whole adds to the context."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = encode(context + continuation)
    ctx = encode(context)
    return ctx, whole[len(ctx) :]
