"""Run untrusted Python (model-written HumanEval samples) in contained subprocesses.

Each run gets a fresh interpreter (``python -I``) in a new session, a fresh temporary working
directory (deleted afterwards) and an environment of five scrubbed variables (PATH, LANG, LC_ALL,
HOME, TMPDIR) — nothing of ours, no secrets. Layers of containment, outermost first:

1. **A throwaway uid** (when we run as root): every concurrent run leases its own uid from
   ``UID_BASE`` upwards (``flock`` on a lock file, so separate processes never share one). The
   program cannot touch our files, cannot signal our processes, cannot lift its hard rlimits, and
   ``RLIMIT_NPROC`` applies to it (it never applies to root). At the end ``kill -KILL -1`` is run
   *as that uid*, which kills every process it owns in one system call — daemons that left the
   process group included. Because that uid may not be able to reach the interpreter of a virtualenv
   under ``/root`` (mode 700), the sandbox then uses a system Python of the same minor version.
2. **Namespaces** (util-linux ``unshare --user --map-root-user --net --pid --fork --mount-proc
   --ipc --uts --kill-child``; Python 3.11 has no ``os.unshare``): no network interfaces but a
   down loopback, its own pid space (the supervisor is pid 1; when it exits the kernel kills every
   process left in the namespace), a private /proc. Probed once per process.
3. **rlimits** set by the child itself before any user code runs: CPU seconds, address space, file
   size, processes, open files, no core dumps. (Set in the child rather than in a ``preexec_fn``,
   which is unsafe with the thread pool of :func:`run_many`; the effect is the same.)
4. **seccomp** (x86_64/aarch64, ``no_new_privs``): ``socket(AF_INET|AF_INET6)``, io_uring and the
   x32 ABI fail with EACCES — the network stays closed even without a network namespace.
5. **The parent**: a wall-time deadline, an output cap (stop reading, kill), ``killpg`` of the
   session, and an anti-early-exit token: a program passes only if it exits 0 *and* prints the
   per-run random token that the bootstrap writes after the program returns, so ``os._exit(0)`` or
   ``sys.exit(0)`` in a solution counts as failed.

Where namespaces are unavailable (no ``unshare``, or the kernel or a seccomp profile forbids user
namespaces; ``TUNEGATE_SANDBOX_NO_NAMESPACES=1`` or ``Limits(namespaces=False)`` forces this), layers
1, 3, 4 and 5 still hold and the parent becomes a child subreaper so that the uid sweep can reap
the killed daemons; only loopback services reachable over Unix sockets and a shared /tmp remain
open. Where we are also not root, there is no uid of its own: files writable by our user are at
risk and a daemon that calls ``setsid`` escapes the group kill unless the pid namespace holds it.
:func:`containment` says which layers are in force.
"""

from __future__ import annotations

from tunegate.sandbox._isolation import Containment, containment, leftovers, stray_processes
from tunegate.sandbox._limits import STATUSES, CheckProgram, ExecResult, Limits, Status
from tunegate.sandbox._pool import build_check_program, check_program, run_many
from tunegate.sandbox._runner import run_check, run_program, signal_name

__all__ = [
    "STATUSES",
    "CheckProgram",
    "Containment",
    "ExecResult",
    "Limits",
    "Status",
    "build_check_program",
    "check_program",
    "containment",
    "leftovers",
    "run_check",
    "run_many",
    "run_program",
    "signal_name",
    "stray_processes",
]
