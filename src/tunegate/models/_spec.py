"""Model spec strings: how a user names a model on the CLI and in Python.

    builtin:gemma-3-270m                      the embedded default (Gemma 3 270M, from a PyPI package)
    builtin:gemma-3-270m?adapter=DIR          the embedded default with a PEFT/LoRA adapter
    hf:PATH_OR_HUB_ID[?dtype=float32&device=cpu&revision=REV&adapter=DIR]
    gguf:FILE.gguf[?adapter=DIR]
    openai:MODEL?base_url=http://host:port/v1   any OpenAI-compatible server
    openai:MODEL?base_url=...&server=llamacpp   a llama.cpp server (neutral sampling, echo quirks)
    vllm:HF_FOLDER_OR_builtin:NAME[?adapter=DIR&tensor_parallel_size=2&gpu_memory_utilization=0.9]
    ray:SPEC?workers=N[&address=ray://head:10001]   SPEC replicated on N Ray actors

Options come after ``?`` as ``key=value`` pairs joined by ``&``. Unknown options are refused.
``str(spec)`` is the display form, recorded in the store and every report: a password in a URL option
(``base_url=http://user:password@host/v1``) shows as ``***``; the backend reads the real value.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl

from tunegate._display import mask_secrets, mask_url
from tunegate.errors import ModelSpecError
from tunegate.models._registry import BACKENDS
from tunegate.registry import did_you_mean

__all__ = ["ModelSpec", "parse_model_spec"]

KNOWN_OPTIONS = (
    "adapter", "dtype", "device", "revision", "base_url", "api_key_env", "batch_size", "name",
    # openai: (tunegate.models._openai)
    "server",
    # ray: (tunegate.models._ray)
    "workers", "address", "gpus", "cpus", "threads",
    # vllm: (tunegate.models._vllm)
    "tensor_parallel_size", "gpu_memory_utilization", "enforce_eager", "max_model_len",
)  # fmt: skip


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec: ``scheme:target`` plus options."""

    scheme: str
    target: str
    options: tuple[tuple[str, str], ...] = field(default=())

    @property
    def adapter(self) -> str | None:
        return self.option("adapter")

    def option(self, key: str, default: str | None = None) -> str | None:
        return dict(self.options).get(key, default)

    def without_adapter(self) -> ModelSpec:
        """The same spec naming only the base weights."""
        return replace(self, options=tuple((k, v) for k, v in self.options if k != "adapter"))

    def __str__(self) -> str:
        opts = "&".join(f"{k}={mask_url(v) if '://' in v else v}" for k, v in self.options)
        return f"{self.scheme}:{self.target}" + (f"?{opts}" if opts else "")


def parse_model_spec(text: str, known_schemes: list[str] | None = None) -> ModelSpec:
    """Parse ``scheme:target?k=v&...``; raise ModelSpecError with a fix on malformed input."""
    schemes = known_schemes if known_schemes is not None else BACKENDS.names()
    text = text.strip()
    shown = mask_secrets(text)  # what error messages may show
    if ":" not in text:
        raise ModelSpecError(
            f"model spec {shown!r} has no scheme; write SCHEME:TARGET, e.g. builtin:gemma-3-270m or "
            f"hf:/path/to/model (schemes: {', '.join(schemes)})"
        )
    scheme, rest = text.split(":", 1)
    if scheme not in schemes:
        raise ModelSpecError(
            f"unknown model scheme {scheme!r} in {shown!r}.{did_you_mean(scheme, schemes)} "
            f"Known schemes: {', '.join(schemes)}"
        )
    target, _, query = rest.partition("?")
    if not target:
        raise ModelSpecError(f"model spec {shown!r} names no model after '{scheme}:'")
    options: list[tuple[str, str]] = []
    for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if key not in KNOWN_OPTIONS:
            raise ModelSpecError(
                f"unknown option {key!r} in model spec {shown!r}.{did_you_mean(key, KNOWN_OPTIONS)} "
                f"Allowed: {', '.join(KNOWN_OPTIONS)}"
            )
        options.append((key, value))
    return ModelSpec(scheme=scheme, target=target, options=tuple(sorted(options)))
