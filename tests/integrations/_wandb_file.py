"""Read back what an offline W&B run wrote: its ``run-<id>.wandb`` file, record by record.

W&B ships no Python reader for it any more (its Go core writes and syncs it), so this is the format,
small: a 7-byte header (``:W&B``, magic 0xBEE1, version 0), then LevelDB's log format -- 32 KiB
blocks of chunks, each ``crc32c (4) | length (2, LE) | type (1: full, 2: first, 3: middle, 4: last)``
-- whose payloads are ``wandb_internal.proto`` ``Record`` messages (``wandb.proto``).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_BLOCK = 32768
_HEADER = 7


@dataclass
class OfflineRun:
    """The parts of an offline run the tests check."""

    run_id: str = ""
    project: str = ""
    name: str = ""
    tags: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    artifacts: list[dict[str, Any]] = field(default_factory=list)  # name, type, files {path: local_path}


def _payloads(data: bytes) -> list[bytes]:
    if data[:4] != b":W&B":
        raise ValueError("not a .wandb file")
    out, buf, pos = [], b"", _HEADER
    while pos + _HEADER <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < _HEADER:  # a block's tail too short for a header is padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + _HEADER])
        pos += _HEADER
        chunk, pos = data[pos : pos + length], pos + length
        if kind == 0 and length == 0:  # zero padding
            continue
        if kind == 1:
            out.append(chunk)
        elif kind == 2:
            buf = chunk
        elif kind == 3:
            buf += chunk
        elif kind == 4:
            out.append(buf + chunk)
            buf = b""
    return out


def _key(item: Any) -> str:
    return "/".join(item.nested_key) if item.nested_key else str(item.key)


def read_offline_run(run_dir: Path) -> OfflineRun:
    """Parse ``run_dir/run-*.wandb``."""
    from wandb.proto import wandb_internal_pb2 as pb

    (path,) = run_dir.glob("run-*.wandb")
    run = OfflineRun()
    for payload in _payloads(path.read_bytes()):
        rec = pb.Record()
        rec.ParseFromString(payload)
        kind = rec.WhichOneof("record_type")
        if kind == "run":
            r = rec.run
            run.run_id, run.project, run.name, run.tags = r.run_id, r.project, r.display_name, list(r.tags)
            run.config.update({_key(u): json.loads(u.value_json) for u in r.config.update})
        elif kind == "config":
            run.config.update({_key(u): json.loads(u.value_json) for u in rec.config.update})
        elif kind == "history":
            run.history.append({_key(i): json.loads(i.value_json) for i in rec.history.item})
        elif kind == "summary":
            run.summary.update({_key(u): json.loads(u.value_json) for u in rec.summary.update})
        elif kind == "artifact":
            a = rec.artifact
            files = {c.path: c.local_path for c in a.manifest.contents}
            run.artifacts.append({"name": a.name, "type": a.type, "files": files})
    return run


def offline_runs(wandb_dir: Path) -> list[Path]:
    """The offline run folders under ``wandb_dir/wandb``, oldest first."""
    return sorted((wandb_dir / "wandb").glob("offline-run-*"))
