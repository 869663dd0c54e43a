"""Parse a GGUF file's header once, from a plain array, while transformers converts it.

transformers reads a GGUF checkpoint through ``gguf.GGUFReader`` three times to convert one model
(the tokenizer once, the model's config and tensors twice), and each read walks every metadata
field through ``numpy.memmap`` slices: for Gemma 3's 262k-entry vocabulary that is ~20 s per read, in
Python. :func:`one_gguf_parse` makes those reads share one reader per file whose buffer is a plain
``ndarray`` view of the same mapping (slicing a memmap subclass costs ~3x more per slice). The bytes,
fields and tensors are the reader's own; only the object is reused.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["one_gguf_parse"]

_PATCH_LOCK = threading.Lock()


@contextlib.contextmanager
def one_gguf_parse() -> Iterator[None]:
    """Within the block, ``gguf.GGUFReader(path)`` returns one shared, in-memory-sliced reader per file."""
    import gguf
    import numpy as np

    original = gguf.GGUFReader

    class _PlainReader(original):  # type: ignore[misc, valid-type]
        @property
        def data(self) -> Any:
            return self._plain

        @data.setter
        def data(self, value: Any) -> None:
            self._plain = np.asarray(value)  # a base-class view of the memmap: same bytes, cheap slices

    readers: dict[tuple[str, str], Any] = {}

    def shared(path: Any, mode: str = "r") -> Any:
        key = (str(Path(path).resolve()), mode)
        if key not in readers:
            readers[key] = _PlainReader(path, mode)
        return readers[key]

    with _PATCH_LOCK:
        gguf.GGUFReader = shared  # type: ignore[assignment, misc]
        try:
            yield
        finally:
            gguf.GGUFReader = original  # type: ignore[misc]
