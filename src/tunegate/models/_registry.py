"""The backend registry: spec scheme (``hf``, ``builtin``, ``gguf``, ``openai`` ...) -> loader.

A *loader* has ``fingerprint(spec)`` (cheap: hashes files, never loads weights) and ``load(spec)``
(returns a :class:`~tunegate.models.Backend`). Adding a backend is one new module that registers its
loader and is listed in ``builtin_modules`` (or comes in through the ``tunegate.backends`` entry point).
It imports neither the spec parser nor the model factory, so both can import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from tunegate.registry import Registry

if TYPE_CHECKING:
    from tunegate.models._backend import Backend
    from tunegate.models._spec import ModelSpec

__all__ = ["BACKENDS", "Loader"]


class Loader(Protocol):
    """What a backend module registers under its scheme."""

    def fingerprint(self, spec: ModelSpec) -> str: ...

    def load(self, spec: ModelSpec) -> Backend: ...


BACKENDS: Registry[Loader] = Registry(
    "backend",
    builtin_modules=(
        "tunegate.models._hf_loaders",
        "tunegate.models._openai",
        "tunegate.models._mock",
        "tunegate.models._ray",
        "tunegate.models._vllm",
    ),
)
