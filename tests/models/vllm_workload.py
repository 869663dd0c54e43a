"""The few items scored by both the vllm: and the hf: backend in ``test_vllm.py``."""

from __future__ import annotations

from tunegate.models import GenerateRequest, LoglikelihoodRequest, RollingRequest

LL = [
    LoglikelihoodRequest("Question: What is the capital of France?\nAnswer:", " Paris"),
    LoglikelihoodRequest("The cat sat on the", " mat"),
    LoglikelihoodRequest("", "hello world"),
]
ROLL = [RollingRequest("The quick brown fox jumps over the lazy dog.")]
GEN = [
    GenerateRequest("Question: Who wrote Hamlet?\nAnswer:", max_new_tokens=12, stop=("\n",)),
    GenerateRequest("Once upon a time", max_new_tokens=12),
    GenerateRequest("The capital of Japan is", max_new_tokens=12),
]
