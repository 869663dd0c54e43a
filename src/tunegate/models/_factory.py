"""From a spec string to a lazily loaded model.

``BACKENDS`` maps a spec scheme (``hf``, ``builtin``, ``gguf``, ``openai`` ...) to a *loader*: an object
with ``fingerprint(spec)`` (cheap: hashes files, never loads weights) and ``load(spec)`` (returns a
:class:`~tunegate.models.Backend`). Adding a backend is one new module that registers its loader.

:class:`Model` is what the rest of tunegate holds: its fingerprint is known at once and its weights
are loaded only when a request misses the cache, so rerunning an unchanged comparison loads nothing.
"""

from __future__ import annotations

import threading
from typing import Protocol

from tunegate.models._backend import Backend
from tunegate.models._spec import ModelSpec, parse_model_spec
from tunegate.registry import Registry

__all__ = ["BACKENDS", "Loader", "Model", "load_model"]


class Loader(Protocol):
    """What a backend module registers under its scheme."""

    def fingerprint(self, spec: ModelSpec) -> str: ...

    def load(self, spec: ModelSpec) -> Backend: ...


BACKENDS: Registry[Loader] = Registry(
    "backend",
    builtin_modules=("tunegate.models._hf_loaders", "tunegate.models._openai", "tunegate.models._mock"),
)


class Model:
    """A model named by a spec: fingerprint now, weights on first use."""

    def __init__(self, spec: ModelSpec | str) -> None:
        self.spec = parse_model_spec(spec) if isinstance(spec, str) else spec
        self._loader = BACKENDS.get(self.spec.scheme)
        self._fingerprint: str | None = None
        self._backend: Backend | None = None
        self._lock = threading.Lock()

    @property
    def fingerprint(self) -> str:
        """Content hash of everything that decides this model's outputs."""
        if self._fingerprint is None:
            self._fingerprint = self._loader.fingerprint(self.spec)
        return self._fingerprint

    @property
    def loaded(self) -> bool:
        return self._backend is not None

    @property
    def backend(self) -> Backend:
        """The loaded backend (loads the weights the first time)."""
        with self._lock:
            if self._backend is None:
                self._backend = self._loader.load(self.spec)
            return self._backend

    def __str__(self) -> str:
        return str(self.spec)


def load_model(spec: str | ModelSpec) -> Model:
    """Parse ``spec`` and return a lazily loaded :class:`Model`."""
    return Model(spec)
