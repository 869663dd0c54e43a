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


def _hash(path: Path, cache: dict[str, str]) -> tuple[str, bool]:
    """(digest, whether it was computed now) using and filling ``cache``."""
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    if key in cache:
        return cache[key], False
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    cache[key] = h.hexdigest()
    return cache[key], True


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, cached by path, size and modification time."""
    cache = _load_cache()
    digest, fresh = _hash(path, cache)
    if fresh:
        _save_cache(cache)
    return digest


def folder_fingerprint(folder: Path) -> str:
    """Combined hash of the relevant files in ``folder`` (names and contents)."""
    cache = _load_cache()
    parts, changed = [], False
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.suffix not in _RELEVANT_SUFFIXES or p.name in _IGNORED_NAMES:
            continue
        if "checkpoint-" in p.relative_to(folder).as_posix():
            continue
        digest, fresh = _hash(p, cache)
        changed |= fresh
        parts.append(f"{p.relative_to(folder).as_posix()}={digest}")
    if changed:
        _save_cache(cache)
    return combine(parts)


def combine(parts: Iterable[str]) -> str:
    """sha256 over an ordered list of strings."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\n")
    return h.hexdigest()
