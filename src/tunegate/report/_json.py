"""The JSON result file (schema ``tunegate.result/v1``, see docs/json-schema.md)."""

from __future__ import annotations

import json
from pathlib import Path

from tunegate.runner import ComparisonResult

__all__ = ["write_json"]


def write_json(result: ComparisonResult, path: Path) -> None:
    """Write the versioned JSON result (atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
