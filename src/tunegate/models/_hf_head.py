"""The output layer in vocabulary blocks: the logits of ``head(hidden)``, faster on CPU.

A causal LM's output layer is one matrix product, hidden states ``(rows, d)`` times the transposed
``(vocabulary, d)`` weight. For a few rows against a wide vocabulary (Gemma 3: 262,144 entries x 640)
MKL's single call ran at ~55 GFLOPS on a 2-core AMD EPYC, where the same product cut into blocks of
:data:`VOCAB_BLOCK` vocabulary rows, each written into its columns of one output, ran at ~85 (a 128-row
chunk with its log-softmax: 710 ms -> 519 ms). Each logit is the same dot product over ``d`` either way,
and the blocks gave bit-identical logits there; ``tests/models/test_hf_head.py`` checks the logits
against the plain layer. The output layer is more than half of a 270M model's work per scored or
generated token, so scoring and greedy generation both call :func:`output_logits`.

Only a plain float32 ``torch.nn.Linear`` on the CPU takes the blocked path; anything else (another
dtype, a device, an adapter-wrapped or custom head) is called as it is.
"""

from __future__ import annotations

from typing import Any

__all__ = ["VOCAB_BLOCK", "output_logits"]

#: vocabulary rows per matrix product (512-4096 were within noise of each other; one call: ~30% slower)
VOCAB_BLOCK = 2048


def output_logits(head: Any, hidden: Any, block: int = VOCAB_BLOCK) -> Any:
    """``head(hidden)`` for 2-D ``hidden`` (rows, d): float32 logits (rows, vocabulary), computed
    :data:`VOCAB_BLOCK` vocabulary rows at a time where that is the same computation."""
    import torch

    weight = getattr(head, "weight", None)
    if (
        type(head) is not torch.nn.Linear
        or weight is None
        or weight.dtype != torch.float32
        or hidden.dtype != torch.float32
        or weight.device.type != "cpu"
        or hidden.dim() != 2
        or weight.shape[0] <= block
    ):
        return head(hidden)
    out = torch.empty((hidden.shape[0], weight.shape[0]), dtype=torch.float32)
    for a in range(0, weight.shape[0], block):
        torch.mm(hidden, weight[a : a + block].T, out=out[:, a : a + block])
    if head.bias is not None:
        out += head.bias
    return out
