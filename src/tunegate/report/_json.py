"""The JSON result files, one schema family (see docs/json-schema.md), each read back by its own type:

``tunegate.result/v1``   ``tunegate compare``  :class:`~tunegate.runner.ComparisonResult`
``tunegate.run/v1``      ``tunegate run``      :class:`~tunegate.runner.RunResult`
``tunegate.regress/v1``  ``tunegate regress``  :class:`~tunegate.regression.RegressReport`
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from tunegate.regression._record import REGRESS_SCHEMA, RegressReport
from tunegate.runner._result import RUN_SCHEMA, SCHEMA, ComparisonResult, RunResult

__all__ = ["AnyResult", "read_result", "write_json"]

AnyResult = ComparisonResult | RunResult | RegressReport

_TYPES: dict[str, type[ComparisonResult] | type[RunResult] | type[RegressReport]] = {
    SCHEMA: ComparisonResult,
    RUN_SCHEMA: RunResult,
    REGRESS_SCHEMA: RegressReport,
    "tunegate.regress/1": RegressReport,  # before v1
}


class _Serializable(Protocol):
    def to_json(self) -> dict[str, Any]: ...


def read_result(data: Mapping[str, Any]) -> AnyResult:
    """The result a ``--json`` file (or a stored run) holds, as its type, chosen by its ``schema``."""
    schema = data.get("schema")
    kind = _TYPES.get(schema) if isinstance(schema, str) else None
    if kind is None:
        known = ", ".join(sorted(s for s in _TYPES if s.endswith("/v1")))
        raise ValueError(f"unsupported result schema {schema!r} (expected one of {known})")
    return kind.from_json(data)


def write_json(result: _Serializable, path: Path, *, sort_keys: bool = True) -> None:
    """Write ``result.to_json()`` (atomically; parent folders are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(result.to_json(), indent=2, sort_keys=sort_keys) + "\n", encoding="utf-8")
    tmp.replace(path)
