"""From a spec string to a lazily loaded model.

``BACKENDS`` (in :mod:`tunegate.models._registry`) maps a spec scheme to a loader.

:class:`Model` is what the rest of tunegate holds: its fingerprint is known at once and its weights
are loaded only when a request misses the cache, so rerunning an unchanged comparison loads nothing.
"""

from __future__ import annotations

import threading

from tunegate.models._backend import Backend
from tunegate.models._registry import BACKENDS, Loader
from tunegate.models._spec import ModelSpec, parse_model_spec

__all__ = ["BACKENDS", "Loader", "Model"]


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
