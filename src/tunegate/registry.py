"""One generic registry for backends, tasks, metrics, probes and assertions.

Adding a thing touches one file: the module that defines it decorates it with ``@REGISTRY.register``.
Lookups of unknown names raise :class:`~tunegate.errors.UnknownNameError` with "did you mean ...?".
Third-party plugins come in through the entry-point group ``tunegate.<kind>`` (for example
``tunegate.tasks``); they are loaded on the first lookup that misses.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from tunegate.errors import UnknownNameError

__all__ = ["Registry", "did_you_mean"]

T = TypeVar("T")


def did_you_mean(name: str, known: list[str] | tuple[str, ...] | set[str]) -> str:
    """Return ' Did you mean "x"?' for the closest known name, or '' when none is close."""
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean " + " or ".join(f'"{c}"' for c in close) + "?"


class Registry(Generic[T]):
    """A name → object mapping with lazy built-ins, plugins and helpful misses.

    ``builtin_modules`` are imported on first use, so registering a built-in only needs its module
    listed here once (in the package that owns the registry).
    """

    def __init__(self, kind: str, builtin_modules: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._builtin_modules = builtin_modules
        self._loaded = False

    def register(self, name: str, *aliases: str) -> Callable[[T], T]:
        """Decorator: register ``obj`` under ``name`` (and aliases)."""

        def deco(obj: T) -> T:
            for key in (name, *aliases):
                if key in self._items and self._items[key] is not obj:
                    raise ValueError(f"{self.kind} {key!r} is registered twice")
                self._items[key] = obj
            return obj

        return deco

    def add(self, name: str, obj: T) -> None:
        """Register ``obj`` under ``name`` without a decorator."""
        self.register(name)(obj)

    def _load_builtins(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for mod in self._builtin_modules:
            importlib.import_module(mod)

    def _load_plugins(self) -> None:
        for ep in entry_points(group=f"tunegate.{self.kind}s"):
            if ep.name not in self._items:
                self._items[ep.name] = ep.load()

    def get(self, name: str) -> T:
        """Return the object registered as ``name``; raise UnknownNameError with suggestions."""
        self._load_builtins()
        if name not in self._items:
            self._load_plugins()
        try:
            return self._items[name]
        except KeyError:
            hint = did_you_mean(name, set(self._items))
            known = ", ".join(sorted(self._items)) or "(none)"
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}.{hint} Known {self.kind}s: {known}"
            ) from None

    def __contains__(self, name: object) -> bool:
        self._load_builtins()
        return name in self._items

    def names(self) -> list[str]:
        """All registered names, sorted."""
        self._load_builtins()
        return sorted(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
