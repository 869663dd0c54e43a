"""Prompts and token ids the way every local backend makes them (hf:, gguf:, vllm:), so they agree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tunegate.models._requests import ChatMessage, GenerateRequest


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


def render_prompt(tok: Any, req: GenerateRequest) -> tuple[str, bool]:
    """The prompt text after the tokenizer's chat template (when it has one and the request allows it),
    and whether the template was applied; without one, messages become ``role: content`` lines."""
    template = getattr(tok, "chat_template", None)
    messages: tuple[ChatMessage, ...] | None
    if isinstance(req.prompt, str):
        messages = (ChatMessage("user", req.prompt),) if req.chat else None
    else:
        messages = req.prompt
    if messages is None:
        assert isinstance(req.prompt, str)
        return req.prompt, False
    if template and req.chat is not False:
        text = tok.apply_chat_template(
            [{"role": m.role, "content": m.content} for m in messages],
            tokenize=False,
            add_generation_prompt=True,
        )
        bos = tok.bos_token
        if bos and text.startswith(bos):
            text = text[len(bos) :]  # encode_with_bos adds BOS itself
        return str(text), True
    return "".join(f"{m.role}: {m.content}\n" for m in messages) + "assistant:", False
