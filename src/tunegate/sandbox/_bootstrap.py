"""Runs *inside* the sandbox (``python -I -c <this source> <config json>``); stdlib only.

The process started by the runner becomes a supervisor (pid 1 of the pid namespace when there is
one). It forks the child that sets the resource limits, installs the seccomp filter, runs the
program and finally writes the per-run token to stdout. The supervisor waits for it and writes a
JSON report (wait status, CPU seconds) to the status pipe, which the child closes before user code.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import resource
import struct
import sys
import traceback
from typing import Any

EXIT_EXCEPTION = 1
EXIT_MEMORY = 3
EXIT_BOOTSTRAP = 70

# seccomp: deny AF_INET/AF_INET6 sockets, io_uring and the x32 ABI; allow everything else.
_ARCH = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}  # audit arch, socket(2) number
_IO_URING_SETUP = 425
_ALLOW, _DENY = 0x7FFF0000, 0x00050000 | 13  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EACCES


def _install_seccomp() -> bool:
    arch = _ARCH.get(platform.machine())
    if arch is None:
        return False
    audit_arch, nr_socket = arch
    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    prog = [
        (ld, 0, 0, 4),  # 0: A = arch
        (jeq, 0, 7, audit_arch),  # 1: foreign arch -> allow
        (ld, 0, 0, 0),  # 2: A = syscall nr
        (jge, 6, 0, 0x40000000),  # 3: x32 ABI -> deny
        (jeq, 5, 0, _IO_URING_SETUP),  # 4: io_uring -> deny
        (jeq, 0, 3, nr_socket),  # 5: not socket -> allow
        (ld, 0, 0, 16),  # 6: A = args[0] (domain)
        (jeq, 2, 0, 2),  # 7: AF_INET -> deny
        (jeq, 1, 0, 10),  # 8: AF_INET6 -> deny
        (ret, 0, 0, _ALLOW),  # 9
        (ret, 0, 0, _DENY),  # 10
    ]
    raw = b"".join(struct.pack("HBBI", *ins) for ins in prog)
    buf = ctypes.create_string_buffer(raw, len(raw))

    class _Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = _Fprog(len(prog), ctypes.cast(buf, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        return False
    return bool(libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) == 0)  # PR_SET_SECCOMP, FILTER


def _set_limits(cfg: dict[str, Any]) -> None:
    cpu = int(cfg["cpu_s"])
    pairs = [
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_AS, cfg["memory_bytes"], cfg["memory_bytes"]),
        (resource.RLIMIT_FSIZE, cfg["file_size_bytes"], cfg["file_size_bytes"]),
        (resource.RLIMIT_NPROC, cfg["max_processes"], cfg["max_processes"]),
        (resource.RLIMIT_NOFILE, cfg["max_open_files"], cfg["max_open_files"]),
        (resource.RLIMIT_CORE, 0, 0),
    ]
    for res, soft, hard in pairs:
        resource.setrlimit(res, (soft, hard))


def _print_exc(exc: BaseException) -> None:
    tb = exc.__traceback__.tb_next if exc.__traceback__ else None  # drop the bootstrap's own frame
    traceback.print_exception(type(exc), exc, tb)


def _child(cfg: dict[str, Any], token: str, source: str, status_fd: int) -> None:
    os.close(status_fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    _set_limits(cfg)
    _install_seccomp()
    sys.argv = ["prog.py"]
    scope: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        exec(compile(source, "prog.py", "exec"), scope)
    except MemoryError as exc:
        _print_exc(exc)
        sys.stderr.flush()
        os._exit(EXIT_MEMORY)
    except SystemExit as exc:
        sys.stdout.flush()
        code = exc.code
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) else (0 if code is None else EXIT_EXCEPTION))
    except BaseException as exc:
        _print_exc(exc)
        sys.stderr.flush()
        os._exit(EXIT_EXCEPTION)
    sys.stdout.flush()
    sys.stderr.flush()
    os.write(1, ("\n" + token + "\n").encode())
    os._exit(0)


def _main() -> None:
    cfg = json.loads(sys.argv[1])
    token = sys.stdin.readline().strip()
    status_fd = int(cfg["status_fd"])
    with open(cfg["program"], encoding="utf-8") as f:
        source = f.read()
    pid = os.fork()
    if pid == 0:
        try:
            _child(cfg, token, source, status_fd)
        finally:
            os._exit(EXIT_BOOTSTRAP)  # only reached when the bootstrap itself fails
    while True:
        try:
            _, wstatus, usage = os.wait4(pid, 0)
            break
        except ChildProcessError:
            os._exit(EXIT_BOOTSTRAP)
    report = {"wstatus": wstatus, "cpu_s": usage.ru_utime + usage.ru_stime}
    os.write(status_fd, json.dumps(report).encode())
    os._exit(0)


if __name__ == "__main__":
    _main()
