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
   The switch happens in the child after exec (util-linux ``setpriv``, then ``/bin/sh``, so nothing
   runs with root's capabilities past it), which lets Python start it with ``vfork``: with a model in
   memory, ``Popen(user=...)`` copied GBs of page tables per sample (``bench/sandbox_throughput.py``).
2. **Namespaces** (util-linux ``unshare --user --map-root-user --net --pid --fork --mount-proc
   --ipc --uts --kill-child``): no network but a down loopback, its own pid space (the supervisor is
   pid 1), a private /proc, and a private mount namespace in which the supervisor mounts a fresh
   tmpfs on /tmp, /var/tmp and /dev/shm and an empty read-only one on /run (and /var/run): no host
   Unix socket path, nothing left after the sample. Used only where that mount works (probed once).
3. **A cgroup per sample** (v2, else v1 memory+pids; needs root): one memory limit and one process
   limit for all the sample's processes and its tmpfs files; an OOM kill is reported as "memory".
4. **rlimits** per process (CPU, address space, file size, processes per uid, open files, no core).
5. **Capabilities dropped and seccomp** (x86_64/aarch64, ``no_new_privs``): any foreign architecture
   (i386 ``int 0x80``) and the x32 ABI kill the process; ``socket`` fails for every family
   (``socketpair`` only AF_UNIX stream); ptrace, process_vm_*, pidfd_getfd, mount and the new mount
   API, unshare/setns/namespace clones, io_uring, bpf, perf, userfaultfd and keyrings fail.
6. **An unforgeable verdict** for a :class:`CheckProgram`: the tests run in a separate checker
   process that calls the program's functions over pipes (plain data only) and sends its verdict to
   the non-dumpable supervisor over a pipe the program never holds. A plain :func:`run_program`
   "passed" (ran to the end) comes from the program's own process and *can* be faked.
7. **The parent**: a wall-time deadline, an output cap, ``killpg``, the cgroup and uid kill, then a
   sweep of every file and System V IPC object of the sample's uid in the shared tmp folders.

Without namespaces (forced by ``TUNEGATE_SANDBOX_NO_NAMESPACES=1`` or ``Limits(namespaces=False)``)
the program shares /tmp, /var/tmp and /dev/shm with the machine while it runs (its files are swept
afterwards when there is a throwaway uid), can read other processes' command lines in /proc, and
only seccomp closes the network. Without root there is no uid of its own and no cgroup: files
writable by our user are at risk and a ``setsid`` daemon escapes without a pid namespace.
:meth:`Containment.gaps` lists what is not stopped and is logged as a warning at the first run.
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
