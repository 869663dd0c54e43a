"""Rebuild frozen dataclass records from their JSON form (the inverse of ``dataclasses.asdict``).

Driven by the dataclass's type hints: nested records, ``tuple[X, ...]``, fixed tuples, ``dict``,
optionals and literals. Keys the record does not know are ignored (a newer writer of the same schema
version may add fields); a missing required field is a ``ValueError`` naming it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

__all__ = ["from_dict"]

T = TypeVar("T")


def _decode(tp: Any, value: Any) -> Any:
    if value is None or tp is Any:
        return value
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        for a in options:  # the first option whose JSON shape matches
            if dataclasses.is_dataclass(a) and isinstance(value, Mapping):
                return _decode(a, value)
            if get_origin(a) in (tuple, list) and isinstance(value, list | tuple):
                return _decode(a, value)
        return _decode(options[0], value) if len(options) == 1 else value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return from_dict(tp, value)
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in value)
        return tuple(_decode(a, v) for a, v in zip(args, value, strict=True))
    if origin is list:
        return [_decode(get_args(tp)[0], v) for v in value]
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        args = get_args(tp)
        return {k: _decode(args[1], v) for k, v in value.items()} if args else dict(value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
    """An instance of the dataclass ``cls`` from its ``asdict`` form (after a JSON round trip)."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{cls.__name__}: expected a JSON object, found {type(data).__name__}")
    hints = get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not f.init:
            continue
        if f.name in data:
            kwargs[f.name] = _decode(hints[f.name], data[f.name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ValueError(f"{cls.__name__}: field {f.name!r} is missing")
    return cls(**kwargs)
