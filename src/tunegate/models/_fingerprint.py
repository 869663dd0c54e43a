"""Content fingerprints of model weights, adapters, tokenizers and configs.

A fingerprint is the sha256 of the contents of every file that decides a model's outputs. Hashing a
gigabyte takes seconds, so each file's hash is cached by (absolute path, size, mtime) in
``$TUNEGATE_CACHE/fingerprints.json``: an unchanged file is never read twice.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from tunegate._paths import cache_dir

__all__ = ["combine", "file_sha256", "folder_fingerprint"]

# Files that do not change what a model computes are left out (READMEs, training logs, optimizer state).
_RELEVANT_SUFFIXES = (".safetensors", ".bin", ".json", ".model", ".gguf", ".txt", ".jinja", ".tiktoken")
_IGNORED_NAMES = {"README.md", "trainer_state.json", "training_args.bin", "optimizer.pt", "scheduler.pt"}


def _cache_file() -> Path:
    return cache_dir() / "fingerprints.json"


def _load_cache() -> dict[str, str]:
    try:
        data = json.loads(_cache_file().read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_cache(cache: dict[str, str]) -> None:
    tmp = _cache_file().with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(cache, sort_keys=True))
    os.replace(tmp, _cache_file())


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, cached by path, size and modification time."""
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    cache = _load_cache()
    if key in cache:
        return cache[key]
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    digest = h.hexdigest()
    cache[key] = digest
    _save_cache(cache)
    return digest


def folder_fingerprint(folder: Path) -> str:
    """Combined hash of the relevant files in ``folder`` (names and contents)."""
    parts = []
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix in _RELEVANT_SUFFIXES and p.name not in _IGNORED_NAMES:
            if "checkpoint-" in str(p.relative_to(folder)):
                continue
            parts.append(f"{p.relative_to(folder).as_posix()}={file_sha256(p)}")
    return combine(parts)


def combine(parts: Iterable[str]) -> str:
    """sha256 over an ordered list of strings."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\n")
    return h.hexdigest()
