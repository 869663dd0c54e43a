"""Reading dataset files: shipped package data, local files, and clear errors for bad rows."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

from tunegate.errors import DataError

__all__ = ["package_data", "read_jsonl"]


def package_data(*parts: str) -> Path:
    """Path of a data file shipped inside the tunegate package."""
    return Path(str(files("tunegate").joinpath("data", *parts)))


def read_jsonl(path: Path, required: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Rows of a JSONL file; DataError names the file, line and field of the first bad row."""
    if not path.is_file():
        raise DataError(f"dataset file not found: {path}")
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(
                    f"{path}:{n}: not valid JSON ({e.msg}); each line must be one JSON object"
                ) from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{n}: expected a JSON object, found {type(row).__name__}")
            missing = [k for k in required if k not in row]
            if missing:
                raise DataError(f"{path}:{n}: row lacks field(s) {', '.join(missing)}")
            rows.append(row)
    return rows
