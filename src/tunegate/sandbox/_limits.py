"""The knobs of one sandboxed run and what came back from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["STATUSES", "ExecResult", "Limits", "Status"]

Status = Literal["passed", "failed", "timeout", "memory", "output_limit", "killed", "error"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "timeout", "memory", "output_limit", "killed", "error")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run; ``cpu_s=None`` means "the wall-time limit, rounded up"."""

    cpu_s: float | None = None
    memory_bytes: int = 1 << 30
    file_size_bytes: int = 16 << 20
    max_processes: int = 32
    max_open_files: int = 256
    max_output_bytes: int = 1 << 20
    namespaces: bool = True  # use user/pid/net/mount namespaces when the kernel allows them


@dataclass(frozen=True)
class ExecResult:
    """Outcome of one run: ``passed`` only when it exited 0 *and* printed its success token."""

    passed: bool
    status: Status
    reason: str
    returncode: int | None
    stdout: str
    stderr: str
    duration_s: float
