"""Which containment this machine allows (a throwaway uid, namespaces, a cgroup, an interpreter that
uid can run), uid leases, and the sweep of everything a uid left behind."""

from __future__ import annotations

import ctypes
import fcntl
import functools
import logging
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunegate._settings import env_flag
from tunegate.sandbox._cgroup import cgroup_kind

__all__ = [
    "UID_BASE",
    "UID_COUNT",
    "Containment",
    "as_uid",
    "become_subreaper",
    "containment",
    "kill_uid",
    "lease_uid",
    "leftovers",
    "stray_processes",
    "sweep_uid",
]

log = logging.getLogger(__name__)

UID_BASE = 1_960_000_000  # far above any real account; one uid per concurrent run
UID_COUNT = 4096
NS_FLAGS = (
    "--user",
    "--map-root-user",
    "--net",
    "--pid",
    "--fork",
    "--mount-proc",
    "--propagation",
    "private",
    "--ipc",
    "--uts",
)
TMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock")  # world-writable on most systems
_PROBE_UID = UID_BASE + UID_COUNT  # used only by the probes below, never by a run


@dataclass(frozen=True)
class Containment:
    """The layers in force for a run (see the package docstring)."""

    uid_drop: bool  # each run gets its own unprivileged uid (needs root)
    namespaces: bool  # user + pid + net + mount + ipc + uts namespaces via util-linux ``unshare``
    interpreter: str
    unshare: str | None
    cgroup: str | None = None  # "v2" or "v1": memory and process limits on the whole sample

    def describe(self) -> str:
        ns = (
            "user+pid+net+mount+ipc+uts, private /tmp /var/tmp /dev/shm, no /run"
            if self.namespaces
            else "none"
        )
        return (
            f"uid drop: {'yes' if self.uid_drop else 'no'}; namespaces: {ns}; "
            f"cgroup: {self.cgroup or 'none (per-process rlimits only)'}; "
            "rlimits, seccomp (no sockets, native arch only), separate checker, process group kill: yes; "
            f"interpreter: {self.interpreter}"
        )

    def gaps(self) -> list[str]:
        """What this containment does *not* stop (see the package docstring); empty when all is on."""
        gaps = []
        if not self.namespaces:
            gaps += [
                "the program shares /tmp, /var/tmp and /dev/shm with the machine"
                + (
                    " (its files there are deleted after the run)"
                    if self.uid_drop
                    else " and its files there stay"
                ),
                "it can read other processes' command lines in /proc",
                "loopback and other network addresses are closed only by seccomp",
            ]
        if not self.uid_drop:
            gaps += [
                "it runs as our own user: files we may write are at risk",
                "a daemon that calls setsid escapes the kill"
                + ("" if self.namespaces else " and /proc/<pid>/mem of our processes is open to it"),
            ]
        if self.cgroup is None:
            gaps.append(
                "memory and process limits apply per process (and per uid), not to the sample as a whole"
            )
        return gaps


#: util-linux's setpriv: drops to a uid in the child after exec (see :func:`as_uid`)
SETPRIV = shutil.which("setpriv", path="/usr/bin:/bin:/usr/sbin:/sbin")


def as_uid(argv: list[str], uid: int | None) -> tuple[list[str], dict[str, Any]]:
    """``argv`` and the ``subprocess.Popen`` keywords that run it as ``uid`` (None: as we are), with
    no supplementary groups and real, effective and saved ids all ``uid``.

    With ``setpriv`` the switch happens in the child (``setpriv --reuid --regid --clear-groups``), so
    Python starts it with ``vfork``; ``Popen(user=...)`` rules ``vfork`` out and copies the parent's
    page tables instead -- from a process that holds a model (GBs) that made every sample ~5x slower.
    setpriv still holds root's capabilities when it execs, so it execs ``/bin/sh``, which execs
    ``argv`` as the bare uid: a path the uid may not reach stays out of reach, as with ``user=``.
    """
    if uid is None:
        return argv, {}
    if SETPRIV:
        drop = [SETPRIV, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
        return [*drop, "/bin/sh", "-c", 'exec "$@"', "tunegate-uid", *argv], {}
    return argv, {"user": uid, "group": uid, "extra_groups": []}


def _runs(argv: list[str], uid: int | None) -> bool:
    argv, as_kw = as_uid(argv, uid)
    try:
        proc = subprocess.run(
            argv,
            cwd="/",
            env={"PATH": "/usr/bin:/bin"},
            capture_output=True,
            timeout=20,
            check=False,
            **as_kw,
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
        and _runs([unshare, *NS_FLAGS, "--kill-child", interpreter, "-I", "-c", _MOUNT_PROBE], uid)
    )
    box = Containment(
        uid_drop=root,
        namespaces=ns,
        interpreter=interpreter,
        unshare=unshare if ns else None,
        cgroup=cgroup_kind() if root else None,
    )
    if box.gaps():
        log.warning("sandbox without full containment (%s): %s", box.describe(), "; ".join(box.gaps()))
    return box


# the namespaces are only used when their root may also mount the private tmpfs folders
_MOUNT_PROBE = (
    "import ctypes; l = ctypes.CDLL(None); assert l.mount(b'tmpfs', b'/tmp', b'tmpfs', 6, b'size=64k') == 0"
)


def _lock_dir() -> int:
    """An fd of the uid-lock folder: ``/run/tunegate-sandbox-uids`` (root only), 0700, never a symlink."""
    run = Path("/run")
    parent = run if run.is_dir() and not run.stat().st_mode & 0o002 else Path(tempfile.gettempdir())
    path = parent / "tunegate-sandbox-uids"
    with suppress(FileExistsError):
        os.mkdir(path, 0o700)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    st = os.fstat(fd)
    if st.st_uid != os.geteuid() or st.st_mode & 0o077:
        os.close(fd)
        raise RuntimeError(
            f"unsafe sandbox lock folder {path} (owner {st.st_uid}, mode {st.st_mode & 0o777:o})"
        )
    return fd


@contextmanager
def lease_uid() -> Iterator[int | None]:
    """Yield a uid no other run (in any process) holds, or None when not root."""
    if os.geteuid() != 0:
        yield None
        return
    locks = _lock_dir()
    try:
        for uid in range(UID_BASE, UID_BASE + UID_COUNT):
            flags = os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(str(uid), flags, 0o600, dir_fd=locks)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                kill_uid(uid)  # leftovers of a crashed earlier holder
                sweep_uid(uid)
                yield uid
            finally:
                os.close(fd)
            return
    finally:
        os.close(locks)
    raise RuntimeError("all sandbox uids are in use")


def _remove_owned(top: str, uid: int, depth: int = 0) -> None:
    """Delete what ``uid`` owns below ``top``, descending only into world-writable folders; no symlink
    is followed (``rmtree`` works on file descriptors)."""
    try:
        entries = list(os.scandir(top))
    except OSError:
        return
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if st.st_uid == uid:
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with suppress(OSError):
                    os.unlink(entry.path)
        elif stat.S_ISDIR(st.st_mode) and st.st_mode & 0o002 and depth < 8:
            _remove_owned(entry.path, uid, depth + 1)


def _remove_ipc(uid: int) -> None:
    """Remove System V shared memory, message queues and semaphores of ``uid`` (no IPC namespace)."""
    libc = ctypes.CDLL(None, use_errno=True)
    calls = {"shm": libc.shmctl, "msg": libc.msgctl, "sem": libc.semctl}
    for kind, ctl in calls.items():
        try:
            with open(f"/proc/sysvipc/{kind}", encoding="ascii") as f:
                header, *rows = f.read().splitlines()
        except (OSError, ValueError):
            continue
        cols = header.split()
        for row in rows:
            fields = dict(zip(cols, row.split(), strict=False))
            if fields.get("uid") == str(uid) and fields.get(f"{kind}id", fields.get("semid", "")).isdigit():
                ident = int(fields.get(f"{kind}id") or fields["semid"])
                if kind == "sem":
                    ctl(ident, 0, 0)  # IPC_RMID
                else:
                    ctl(ident, 0, None)


def sweep_uid(uid: int) -> None:
    """Delete every file and System V IPC object ``uid`` left in the machine's shared places."""
    for top in TMP_DIRS:
        if os.path.isdir(top) and not os.path.islink(top):
            _remove_owned(top, uid)
    _remove_ipc(uid)


def leftovers(uid_lo: int = UID_BASE, uid_hi: int = UID_BASE + UID_COUNT) -> list[str]:
    """Paths in the shared tmp folders owned by a sandbox uid (what :func:`sweep_uid` removes)."""
    found: list[str] = []

    def walk(top: str, depth: int) -> None:
        with suppress(OSError):
            for entry in os.scandir(top):
                with suppress(OSError):
                    st = entry.stat(follow_symlinks=False)
                    if uid_lo <= st.st_uid < uid_hi:
                        found.append(entry.path)
                    elif stat.S_ISDIR(st.st_mode) and st.st_mode & 0o002 and depth < 8:
                        walk(entry.path, depth + 1)

    for top in TMP_DIRS:
        if os.path.isdir(top) and not os.path.islink(top):
            walk(top, 0)
    return found


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
