"""A cgroup per sample: one memory and one process limit for all of the sample's processes.

cgroup v2 where its ``memory`` and ``pids`` controllers can be delegated to a child of our own
cgroup; else cgroup v1 (``memory`` and ``pids`` hierarchies, as on hosts with the hybrid layout);
else none (the per-process rlimits remain). Creating cgroups needs root (or a delegated subtree).
The runner places the sample's first process in the cgroup before it runs anything, so every
descendant is inside; tmpfs pages the sample writes are charged to it as well.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SampleCgroup", "cgroup_kind", "create_cgroup"]

_PREFIX = "tunegate-sbx-"


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(fstype, mount point, super options) of every cgroup mount."""
    found = []
    with suppress(OSError), open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            parts, rparts = left.split(), right.split()
            if len(rparts) >= 3 and rparts[0] in ("cgroup", "cgroup2"):
                found.append((rparts[0], parts[4], set(rparts[2].split(","))))
    return found


def _own_paths() -> dict[str, str]:
    """Our cgroup path per v1 controller, and under key ``""`` for v2."""
    paths: dict[str, str] = {}
    with suppress(OSError), open("/proc/self/cgroup", encoding="utf-8") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for c in controllers.split(",") if controllers else [""]:
                paths[c] = path
    return paths


def _write(path: Path, value: str) -> None:
    with open(path, "w", encoding="ascii") as f:
        f.write(value)


@dataclass
class SampleCgroup:
    """The cgroup directories of one sample (one for v2, one per controller for v1)."""

    kind: str  # "v2" or "v1"
    dirs: list[Path]
    memory_dir: Path
    memory_bytes: int
    _removed: bool = field(default=False, repr=False)

    def add(self, pid: int) -> None:
        for d in self.dirs:
            _write(d / "cgroup.procs", str(pid))

    def pids(self) -> set[int]:
        found: set[int] = set()
        for d in self.dirs:
            with suppress(OSError):
                found.update(int(x) for x in (d / "cgroup.procs").read_text().split())
        return found

    def oom_kills(self) -> int:
        """How many processes the kernel killed for exceeding the sample's memory limit."""
        name = "memory.events" if self.kind == "v2" else "memory.oom_control"
        with suppress(OSError, ValueError):
            for line in (self.memory_dir / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        return 0

    def kill(self) -> None:
        """SIGKILL every process in the cgroup until it is empty (``cgroup.kill`` where there is one)."""
        for _ in range(200):
            if self.kind == "v2" and (self.dirs[0] / "cgroup.kill").exists():
                with suppress(OSError):
                    _write(self.dirs[0] / "cgroup.kill", "1")
            left = self.pids()
            if not left:
                return
            for pid in left:
                with suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)

    def remove(self) -> None:
        if self._removed:
            return
        self.kill()
        for d in reversed(self.dirs):
            for _ in range(200):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # exiting processes still counted
                    time.sleep(0.01)
        self._removed = True


def _v2(memory_bytes: int, max_pids: int) -> SampleCgroup | None:
    own = _own_paths().get("")
    for fstype, mnt, _ in _mounts():
        if fstype != "cgroup2" or own is None:
            continue
        base = Path(mnt + own)
        try:
            enabled = set((base / "cgroup.subtree_control").read_text().split())
            if not {"memory", "pids"} <= enabled:
                _write(base / "cgroup.subtree_control", "+memory +pids")  # EBUSY with processes in base
            d = base / (_PREFIX + secrets.token_hex(8))
            d.mkdir(mode=0o755)
        except OSError:
            continue
        try:
            _write(d / "memory.max", str(memory_bytes))
            if (d / "memory.swap.max").exists():
                _write(d / "memory.swap.max", "0")
            _write(d / "pids.max", str(max_pids))
        except OSError:
            with suppress(OSError):
                d.rmdir()
            continue
        return SampleCgroup("v2", [d], d, memory_bytes)
    return None


def _v1(memory_bytes: int, max_pids: int) -> SampleCgroup | None:
    own = _own_paths()
    roots: dict[str, Path] = {}
    for fstype, mnt, opts in _mounts():
        for c in ("memory", "pids"):
            if fstype == "cgroup" and c in opts and c in own:
                roots[c] = Path(mnt + own[c])
    if set(roots) != {"memory", "pids"}:
        return None
    name = _PREFIX + secrets.token_hex(8)
    made: list[Path] = []
    try:
        for c in ("memory", "pids"):
            d = roots[c] / name
            if d not in made:
                d.mkdir(mode=0o755)
                made.append(d)
        mem, pids = roots["memory"] / name, roots["pids"] / name
        _write(mem / "memory.limit_in_bytes", str(memory_bytes))
        if (mem / "memory.memsw.limit_in_bytes").exists():
            with suppress(OSError):  # swap accounting may be off
                _write(mem / "memory.memsw.limit_in_bytes", str(memory_bytes))
        _write(pids / "pids.max", str(max_pids))
    except OSError:
        for d in reversed(made):
            with suppress(OSError):
                d.rmdir()
        return None
    return SampleCgroup("v1", made, mem, memory_bytes)


def create_cgroup(memory_bytes: int, max_pids: int) -> SampleCgroup | None:
    """A fresh cgroup with these limits for the whole sample, or None where none can be made."""
    return _v2(memory_bytes, max_pids) or _v1(memory_bytes, max_pids)


def cgroup_kind() -> str | None:
    """``"v2"``, ``"v1"`` or None: what :func:`create_cgroup` manages here (probed with a real one)."""
    cg = create_cgroup(64 << 20, 8)
    if cg is None:
        return None
    cg.remove()
    return cg.kind
