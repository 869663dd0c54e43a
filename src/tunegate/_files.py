"""Reading user files as text: a size cap, and a clear error naming the byte that is not UTF-8.

Limits (documented in the README): a suite or regression suite YAML file at most ``SUITE_MAX_BYTES``
(1 MiB); a dataset file (JSONL, CSV, JSON) at most ``DATA_MAX_BYTES`` (512 MiB).
"""

from __future__ import annotations

from pathlib import Path

from tunegate.errors import DataError, TunegateError

__all__ = ["DATA_MAX_BYTES", "SUITE_MAX_BYTES", "read_user_text"]

SUITE_MAX_BYTES = 1 << 20
DATA_MAX_BYTES = 512 << 20


def _size(n: int) -> str:
    return f"{n / (1 << 20):g} MiB" if n >= 1 << 20 else f"{n} bytes"


def read_user_text(
    path: Path,
    *,
    limit: int = DATA_MAX_BYTES,
    error: type[TunegateError] = DataError,
    source: str | None = None,
) -> str:
    """The UTF-8 text of ``path``; ``error`` (naming the file) when it is too big, unreadable or not UTF-8."""
    name = source or str(path)
    try:
        size = path.stat().st_size
        if size > limit:
            raise error(f"{name}: file is {_size(size)}, more than the limit of {_size(limit)}")
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise error(f"{name}: cannot read file: {e.strerror or e}") from None
    if len(data) > limit:  # grew since stat, or a pipe/device that reports size 0
        raise error(f"{name}: file is more than the limit of {_size(limit)}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise error(
            f"{name}: not UTF-8 text: byte 0x{data[e.start]:02x} at byte offset {e.start} (line {line}); "
            "save the file as UTF-8"
        ) from None
