"""The knobs of one sandboxed run and what came back from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["STATUSES", "CheckProgram", "ExecResult", "Limits", "Status"]

Status = Literal["passed", "failed", "timeout", "memory", "output_limit", "killed", "error"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "timeout", "memory", "output_limit", "killed", "error")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run; ``cpu_s=None`` means "the wall-time limit, rounded up".

    ``memory_bytes`` bounds each process (``RLIMIT_AS``) and, where there is a cgroup, all processes
    of the sample together, tmpfs files included; ``max_processes`` counts the program's processes,
    its own included, not the sandbox's (per cgroup, and per uid as ``RLIMIT_NPROC``).
    ``tmp_bytes`` is the size of each private tmpfs (/tmp, /var/tmp, /dev/shm) with namespaces.
    """

    cpu_s: float | None = None
    memory_bytes: int = 1 << 30
    file_size_bytes: int = 16 << 20
    max_processes: int = 32
    max_open_files: int = 256
    max_output_bytes: int = 1 << 20
    tmp_bytes: int = 64 << 20
    namespaces: bool = True  # use user/pid/net/mount namespaces when the kernel allows them


@dataclass(frozen=True)
class CheckProgram:
    """A program and the trusted tests that judge it: ``test`` defines ``check(candidate)``, which is
    called with the program's ``entry_point`` function (the HumanEval layout)."""

    program: str
    test: str
    entry_point: str


@dataclass(frozen=True)
class ExecResult:
    """Outcome of one run: for a :class:`CheckProgram`, ``passed`` only on the checker's verdict."""

    passed: bool
    status: Status
    reason: str
    returncode: int | None
    stdout: str
    stderr: str
    duration_s: float
