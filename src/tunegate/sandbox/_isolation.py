"""Which containment this machine allows: a throwaway uid, namespaces, an interpreter that uid can run."""

from __future__ import annotations

import ctypes
import fcntl
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tunegate._settings import env_flag

__all__ = [
    "UID_BASE",
    "UID_COUNT",
    "Containment",
    "become_subreaper",
    "containment",
    "kill_uid",
    "lease_uid",
    "stray_processes",
]

UID_BASE = 1_960_000_000  # far above any real account; one uid per concurrent run
UID_COUNT = 4096
NS_FLAGS = ("--user", "--map-root-user", "--net", "--pid", "--fork", "--mount-proc", "--ipc", "--uts")
_PROBE_UID = UID_BASE + UID_COUNT  # used only by the probes below, never by a run


@dataclass(frozen=True)
class Containment:
    """The layers in force for a run (see the package docstring)."""

    uid_drop: bool  # each run gets its own unprivileged uid (needs root)
    namespaces: bool  # user + pid + net + mount + ipc + uts namespaces via util-linux ``unshare``
    interpreter: str
    unshare: str | None

    def describe(self) -> str:
        return (
            f"uid drop: {'yes' if self.uid_drop else 'no'}; "
            f"namespaces: {'user+pid+net+mount+ipc+uts' if self.namespaces else 'none'}; "
            f"rlimits, seccomp (no inet sockets), process group kill: yes; interpreter: {self.interpreter}"
        )


def _runs(argv: list[str], uid: int | None) -> bool:
    try:
        proc = subprocess.run(
            argv,
            cwd="/",
            env={"PATH": "/usr/bin:/bin"},
            capture_output=True,
            timeout=20,
            check=False,
            user=uid,
            group=uid,
            extra_groups=None if uid is None else [],
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def _interpreter(uid: int | None) -> str:
    """``sys.executable`` when ``uid`` can run it, else a system Python of the same minor version."""
    ver = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [sys.executable, f"/usr/bin/python{ver}", f"/usr/local/bin/python{ver}"]
    check = f"import sys; assert sys.version_info[:2] == ({ver.replace('.', ', ')})"
    for exe in candidates:
        if exe and os.path.exists(exe) and _runs([exe, "-I", "-c", check], uid):
            return exe
    for exe in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(exe) and _runs([exe, "-I", "-c", "pass"], uid):
            return exe
    raise RuntimeError(f"no Python interpreter that uid {uid} may execute (tried {candidates})")


@functools.lru_cache(maxsize=2)
def containment(namespaces: bool = True) -> Containment:
    """Probe once per process what works here; ``namespaces=False`` forces the fallback."""
    root = os.geteuid() == 0
    uid = _PROBE_UID if root else None
    interpreter = _interpreter(uid)
    unshare = shutil.which("unshare", path="/usr/bin:/bin:/usr/sbin:/sbin")
    ns = bool(
        namespaces
        and not env_flag("TUNEGATE_SANDBOX_NO_NAMESPACES")
        and unshare
        and _runs([unshare, *NS_FLAGS, "--kill-child", interpreter, "-I", "-c", "pass"], uid)
    )
    return Containment(uid_drop=root, namespaces=ns, interpreter=interpreter, unshare=unshare if ns else None)


def _lock_dir() -> Path:
    path = Path(tempfile.gettempdir()) / "tunegate-sandbox-uids"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


@contextmanager
def lease_uid() -> Iterator[int | None]:
    """Yield a uid no other run (in any process) holds, or None when not root."""
    if os.geteuid() != 0:
        yield None
        return
    locks = _lock_dir()
    for uid in range(UID_BASE, UID_BASE + UID_COUNT):
        fd = os.open(locks / str(uid), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            kill_uid(uid)  # leftovers of a crashed earlier holder
            yield uid
        finally:
            os.close(fd)
        return
    raise RuntimeError("all sandbox uids are in use")


def become_subreaper() -> bool:
    """Adopt orphans of our children (PR_SET_CHILD_SUBREAPER) so that :func:`kill_uid` can reap them.

    Only needed without a pid namespace: otherwise a killed program's daemons are reparented to the
    machine's init, which in a container may never reap them (their zombies would count against the
    uid's RLIMIT_NPROC for the next run).
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(36, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid`` and reap those that are our (adopted) children.

    ``kill(-1)`` run *as* that uid reaches all of its processes in one system call, which beats a
    fork bomb that a pid-by-pid sweep would race against.
    """
    for _ in range(50):
        _runs(["kill", "-KILL", "-1"], uid)
        for pid in stray_processes(uid, uid + 1, include_zombies=True):
            with suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        if not stray_processes(uid, uid + 1):
            return
        time.sleep(0.01)


def _state(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return "X"


def stray_processes(
    lo: int = UID_BASE, hi: int = UID_BASE + UID_COUNT, *, include_zombies: bool = False
) -> list[int]:
    """Pids of processes whose uid lies in ``[lo, hi)`` (the sandbox uids by default), zombies excluded."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            uid = os.stat(entry.path).st_uid
        except OSError:
            continue
        if lo <= uid < hi and (include_zombies or _state(entry.name) not in ("Z", "X")):
            found.append(int(entry.name))
    return found
