"""Reading dataset files: shipped package data, local files, and clear errors for bad rows."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tunegate._files import read_user_text
from tunegate._paths import package_data
from tunegate.errors import DataError, DependencyError

__all__ = ["package_data", "read_jsonl"]


def _read_hub(spec: str, required: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows of a Hugging Face dataset named ``hf:OWNER/NAME[:CONFIG][@SPLIT]`` (split default: test)."""
    ref, _, split = spec.removeprefix("hf:").partition("@")
    name, _, config = ref.partition(":")
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        raise DataError(
            f"{spec}: a hub dataset needs the network, but HF_HUB_OFFLINE is set; give a local file"
        )
    try:
        import datasets
    except ImportError:
        raise DependencyError(f"{spec}: reading hub datasets needs: pip install datasets") from None
    try:
        ds = datasets.load_dataset(name, config or None, split=split or "test")
    except Exception as e:  # the hub's errors are many; the user needs the message, not the type
        raise DataError(f"cannot load dataset {spec}: {e}") from None
    rows = [dict(r) for r in ds]
    for n, row in enumerate(rows):
        missing = [k for k in required if k not in row]
        if missing:
            raise DataError(f"{spec} row {n}: lacks field(s) {', '.join(missing)}")
    return rows


def read_jsonl(path: Path | str, required: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Rows of a JSONL file (or ``hf:`` hub dataset); DataError names file, line and field of a bad row."""
    if str(path).startswith("hf:"):
        return _read_hub(str(path), required)
    path = Path(path)
    if not path.is_file():
        raise DataError(f"dataset file not found: {path}")
    rows = []
    # read whole: size-capped, and a byte that is not UTF-8 is named by its offset
    for n, line in enumerate(read_user_text(path).split("\n"), 1):
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
