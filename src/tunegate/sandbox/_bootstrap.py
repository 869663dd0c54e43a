"""Runs *inside* the sandbox (``python -I -c <this source> <config json>``); stdlib only.

The process started by the runner becomes the **supervisor** (pid 1 of the pid namespace when there
is one). It makes itself non-dumpable (no ptrace, no /proc/<pid>/mem for its own uid), mounts the
private tmpfs folders when it runs in a mount namespace, then forks:

- the **program** process: stdin /dev/null, rlimits, every capability dropped, seccomp; it runs the
  program as ``__main__``. In *check* mode it then answers calls of its functions over a pair of
  pipes; in *plain* mode it writes ``done`` to the done pipe when the last statement returned.
- in check mode, the **checker** process (same limits): it runs the trusted test code with every
  function of the program replaced by a proxy that calls it in the program process, values copied
  both ways as plain data (None, bool, int, float, complex, str, bytes, list, tuple, dict, set,
  frozenset; exact types only, so no object with a forged ``__eq__`` gets across). Its verdict goes
  to the supervisor over a pipe the program process never holds.

The supervisor waits for both and writes a JSON report (wait statuses, CPU seconds, verdict or
done flag) to the status pipe, which only it holds.
"""

from __future__ import annotations

import builtins
import contextlib
import ctypes
import fcntl
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
MAX_MESSAGE = 16 << 20
MAX_DEPTH = 200

# --- seccomp ----------------------------------------------------------------------------------
# Per arch: audit arch, then syscall numbers. Any other arch (i386 via int 0x80, arm32) and the x32
# ABI (nr >= 0x40000000) kill the process; the rest is allowed unless listed here.
_SYS: dict[str, dict[str, Any]] = {
    "x86_64": {
        "audit": 0xC000003E,
        "socket": 41,
        "socketpair": 53,
        "clone": 56,
        "clone3": 435,
        "deny": (
            101,
            310,
            311,
            438,
            312,
            425,
            426,
            427,
            165,
            166,
            155,
            272,
            308,
            161,
            321,
            298,
            323,
            248,
            249,
            250,
            428,
            429,
            430,
            431,
            432,
            433,
            442,
        ),
    },
    "aarch64": {
        "audit": 0xC00000B7,
        "socket": 198,
        "socketpair": 199,
        "clone": 220,
        "clone3": 435,
        "deny": (
            117,
            270,
            271,
            438,
            272,
            425,
            426,
            427,
            40,
            39,
            41,
            97,
            268,
            51,
            280,
            241,
            282,
            217,
            218,
            219,
            428,
            429,
            430,
            431,
            432,
            433,
            442,
        ),
    },
}
# deny: ptrace, process_vm_readv/writev, pidfd_getfd, kcmp, io_uring_*, mount, umount2, pivot_root,
# unshare, setns, chroot, bpf, perf_event_open, userfaultfd, add_key, request_key, keyctl, the new
# mount API (open_tree, move_mount, fsopen, fsconfig, fsmount, fspick, mount_setattr).
_CLONE_NS = 0x7E020000  # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
_ALLOW, _KILL = 0x7FFF0000, 0x80000000  # SECCOMP_RET_ALLOW, SECCOMP_RET_KILL_PROCESS
_ERRNO = 0x00050000  # SECCOMP_RET_ERRNO | errno
_EPERM, _EACCES, _ENOSYS = 1, 13, 38
_LD, _JEQ, _JGE, _JSET, _AND, _RET = 0x20, 0x15, 0x35, 0x45, 0x54, 0x06


def seccomp_program(machine: str) -> list[tuple[int, int, int, int]] | None:
    """The BPF filter for ``machine`` as (code, jt, jf, k) tuples, None for an unknown machine."""
    s = _SYS.get(machine)
    if s is None:
        return None
    prog: list[tuple[int, int, int, int]] = [
        (_LD, 0, 0, 4),  # A = arch
        (_JEQ, 1, 0, int(s["audit"])),  # native arch -> skip the kill
        (_RET, 0, 0, _KILL),
        (_LD, 0, 0, 0),  # A = nr
        (_JGE, 0, 1, 0x40000000),  # x32 ABI -> kill
        (_RET, 0, 0, _KILL),
    ]
    for nr in s["deny"]:
        prog += [(_JEQ, 0, 1, nr), (_RET, 0, 0, _ERRNO | _EPERM)]
    prog += [(_JEQ, 0, 1, int(s["socket"])), (_RET, 0, 0, _ERRNO | _EACCES)]  # no socket at all
    prog += [(_JEQ, 0, 1, int(s["clone3"])), (_RET, 0, 0, _ERRNO | _ENOSYS)]  # glibc falls back to clone
    prog += [
        (_JEQ, 0, 3, int(s["clone"])),
        (_LD, 0, 0, 16),  # A = flags (low word)
        (_JSET, 0, 1, _CLONE_NS),  # a new namespace -> deny
        (_RET, 0, 0, _ERRNO | _EPERM),
        (_LD, 0, 0, 0),  # A = nr again
        # socketpair: only AF_UNIX SOCK_STREAM (already connected, cannot reach a named socket)
        (_JEQ, 0, 6, int(s["socketpair"])),
        (_LD, 0, 0, 16),
        (_JEQ, 0, 3, 1),  # AF_UNIX
        (_LD, 0, 0, 24),
        (_AND, 0, 0, 0xF),  # SOCK_TYPE_MASK
        (_JEQ, 1, 0, 1),  # SOCK_STREAM -> allow
        (_RET, 0, 0, _ERRNO | _EACCES),
        (_RET, 0, 0, _ALLOW),
    ]
    return prog


def _install_seccomp() -> bool:
    prog = seccomp_program(platform.machine())
    if prog is None:
        return False
    raw = b"".join(struct.pack("HBBI", *ins) for ins in prog)
    buf = ctypes.create_string_buffer(raw, len(raw))

    class _Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = _Fprog(len(prog), ctypes.cast(buf, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        return False
    return bool(libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) == 0)  # PR_SET_SECCOMP, FILTER


def _drop_capabilities() -> None:
    """Empty the bounding, ambient, effective, permitted and inheritable sets (root of a user ns)."""
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        with open("/proc/sys/kernel/cap_last_cap", encoding="ascii") as f:
            last = int(f.read())
    except (OSError, ValueError):
        last = 63
    for cap in range(last + 1):
        libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP (fails without CAP_SETPCAP: nothing to drop)
    libc.prctl(47, 4, 0, 0, 0)  # PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL
    header = struct.pack("Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = ctypes.create_string_buffer(24)  # two all-zero __user_cap_data_struct
    if libc.capset(ctypes.c_char_p(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def _non_dumpable() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0


def _private_mounts(workdir: str, tmp_bytes: int) -> None:
    """A fresh tmpfs on /tmp, /var/tmp and /dev/shm, an empty read-only one on /run (and /var/run)."""
    libc = ctypes.CDLL(None, use_errno=True)
    nosuid, nodev, noexec, rdonly = 2, 4, 8, 1

    def mount(target: str, flags: int, opts: str) -> None:
        if libc.mount(b"tmpfs", target.encode(), b"tmpfs", flags, opts.encode()) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"mount tmpfs on {target}: {os.strerror(err)}")

    for target in ("/tmp", "/var/tmp", "/dev/shm"):
        if os.path.isdir(target) and not os.path.islink(target):
            mount(target, nosuid | nodev, f"size={tmp_bytes},nr_inodes=4096,mode=1777")
    for target in ("/run", "/var/run"):
        if os.path.isdir(target) and not os.path.islink(target):
            mount(target, nosuid | nodev | noexec | rdonly, "size=4k,nr_inodes=16,mode=755")
    os.makedirs(workdir, mode=0o700)


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


def _contain(cfg: dict[str, Any], keep: dict[int, int]) -> None:
    """In a fresh child: move ``keep`` fds to their numbers, close the rest, limit, drop, filter."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    moved = {new: fcntl.fcntl(old, fcntl.F_DUPFD_CLOEXEC, 1000) for new, old in keep.items()}
    for new, tmp in moved.items():  # the copies sit above 1000, so no target clobbers one
        os.dup2(tmp, new, inheritable=False)
    top = max(keep, default=2)
    for fd in range(3, top + 1):
        if fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)
    os.closerange(top + 1, 65536)
    _set_limits(cfg)
    _drop_capabilities()
    if not _install_seccomp() and cfg.get("need_seccomp", True):
        raise OSError("seccomp could not be installed")


def _quiet_flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):  # a closed stdout is the program's own business
            stream.flush()


def _print_exc(exc: BaseException) -> None:
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != "prog.py":
        tb = tb.tb_next  # drop the bootstrap's own frames
    with contextlib.suppress(BaseException):
        traceback.print_exception(type(exc), exc, tb)


def _exit_for_system_exit(exc: SystemExit) -> None:
    """Exit like the interpreter would, but with a reason on stderr for codes it cannot pass on."""
    code = exc.code
    if code is None or code == 0:
        _quiet_flush()
        os._exit(0)
    if isinstance(code, int) and not isinstance(code, bool) and 0 < code < 256:
        _quiet_flush()
        os._exit(code)
    try:
        text = f"SystemExit: {code!r}" if isinstance(code, int) else str(code)
        print(text[:1000], file=sys.stderr)
    except BaseException:
        pass
    _quiet_flush()
    os._exit(EXIT_EXCEPTION)


def _run_main(source: str) -> dict[str, Any]:
    """Execute the program as ``__main__``; exits the process unless its last statement returned."""
    sys.argv = ["prog.py"]
    scope: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compile(source, "prog.py", "exec"), scope)
    except MemoryError as exc:
        _print_exc(exc)
        _quiet_flush()
        os._exit(EXIT_MEMORY)
    except SystemExit as exc:
        _exit_for_system_exit(exc)
    except BaseException as exc:
        _print_exc(exc)
        _quiet_flush()
        os._exit(EXIT_EXCEPTION)
    return scope


# --- plain data across the process boundary ---------------------------------------------------


class Unsupported(TypeError):
    pass


def encode(value: Any, depth: int = 0) -> Any:
    """A JSON-able, tagged copy of ``value``; exact builtin types only (subclasses are refused)."""
    if depth > MAX_DEPTH:
        raise Unsupported("value nested too deeply")
    t = type(value)
    if value is None or t is bool or t is str:
        return value
    if t is int:
        return value if -(1 << 63) <= value < (1 << 63) else {"int": str(value)}
    if t is float:
        return {"float": value.hex()}
    if t is list:
        return [encode(v, depth + 1) for v in value]
    if t is tuple:
        return {"tuple": [encode(v, depth + 1) for v in value]}
    if t is dict:
        return {"dict": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    if t is set or t is frozenset:
        return {t.__name__: [encode(v, depth + 1) for v in value]}
    if t is complex:
        return {"complex": [value.real.hex(), value.imag.hex()]}
    if t is bytes:
        return {"bytes": value.hex()}
    raise Unsupported(f"a value of type {t.__name__} cannot be checked across the sandbox boundary")


def decode(data: Any, depth: int = 0) -> Any:
    """The inverse of :func:`encode`; anything else is a protocol error (``ValueError``)."""
    if depth > MAX_DEPTH:
        raise ValueError("value nested too deeply")
    t = type(data)
    if data is None or t is bool or t is str or t is int:
        return data
    if t is list:
        return [decode(v, depth + 1) for v in data]
    if t is dict and len(data) == 1:
        ((tag, v),) = data.items()
        if tag == "int" and type(v) is str:
            return int(v)
        if tag == "float" and type(v) is str:
            return float.fromhex(v)
        if tag == "tuple" and type(v) is list:
            return tuple(decode(x, depth + 1) for x in v)
        if tag == "dict" and type(v) is list:
            return {decode(k, depth + 1): decode(x, depth + 1) for k, x in v}
        if tag in ("set", "frozenset") and type(v) is list:
            items = [decode(x, depth + 1) for x in v]
            return set(items) if tag == "set" else frozenset(items)
        if tag == "complex" and type(v) is list and len(v) == 2:
            return complex(float.fromhex(v[0]), float.fromhex(v[1]))
        if tag == "bytes" and type(v) is str:
            return bytes.fromhex(v)
    raise ValueError("malformed value")


def send(fd: int, message: Any) -> None:
    raw = json.dumps(message, allow_nan=False).encode()
    if len(raw) > MAX_MESSAGE:
        raise Unsupported(f"a value of {len(raw)} bytes is too large to check")
    data = struct.pack(">I", len(raw)) + raw
    while data:
        data = data[os.write(fd, data) :]


def _read_exact(fd: int, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def receive(fd: int) -> Any:
    """One message, or None at end of file; ``ValueError`` for anything malformed."""
    head = _read_exact(fd, 4)
    if head is None:
        return None
    (n,) = struct.unpack(">I", head)
    if n > MAX_MESSAGE:
        raise ValueError(f"message of {n} bytes")
    raw = _read_exact(fd, n)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"malformed message: {exc}") from None


# --- the program process ----------------------------------------------------------------------

_REQ, _RESP, _OUT = 3, 4, 3  # fd numbers inside the program and checker processes


def _serve(scope: dict[str, Any]) -> None:
    """After the program: tell the checker its functions, then answer calls until it hangs up."""
    names = sorted(k for k, v in scope.items() if callable(v) and not k.startswith("__"))
    try:
        send(_RESP, {"ready": names})
    except OSError:
        os._exit(0)
    while True:
        try:
            req = receive(_REQ)
        except (OSError, ValueError):
            req = None
        if not isinstance(req, dict):
            _quiet_flush()
            os._exit(0)
        try:
            fn = scope[req["call"]]
            args = decode(req["args"])
            kwargs = decode(req["kwargs"])
            reply: dict[str, Any] = {"ok": encode(fn(*args, **kwargs))}
        except MemoryError as exc:
            _print_exc(exc)
            _quiet_flush()
            os._exit(EXIT_MEMORY)
        except SystemExit as exc:
            _exit_for_system_exit(exc)
        except BaseException as exc:
            _print_exc(exc)
            reply = {"exc": [type(exc).__name__, str(exc)[:2000]]}
        try:
            send(_RESP, reply)
        except Unsupported as exc:
            send(_RESP, {"exc": ["TypeError", str(exc)]})
        except OSError:
            os._exit(0)


def _program(cfg: dict[str, Any], source: str, keep: dict[int, int]) -> None:
    _contain(cfg, keep)
    scope = _run_main(source)
    if cfg["mode"] == "check":
        _serve(scope)
    _quiet_flush()
    with contextlib.suppress(OSError):
        os.write(_OUT, b"done")
    os._exit(0)


# --- the checker process ----------------------------------------------------------------------


class ProgramError(Exception):
    """An exception the program's function raised (type name and message copied across)."""


class ProgramGone(Exception):
    """The program process ended or broke the protocol."""


class _Remote:
    def __init__(self, name: str) -> None:
        self.__name__ = self.__qualname__ = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        send(_REQ, {"call": self.__name__, "args": encode(list(args)), "kwargs": encode(dict(kwargs))})
        try:
            reply = receive(_RESP)
        except (OSError, ValueError) as exc:
            raise ProgramGone(f"the program broke the check protocol ({exc})") from None
        if not isinstance(reply, dict):
            raise ProgramGone("the program ended during a check")
        if "ok" in reply:
            try:
                return decode(reply["ok"])
            except (ValueError, TypeError, RecursionError) as exc:
                raise ProgramGone(f"the program sent a malformed value ({exc})") from None
        exc_info = reply.get("exc")
        if isinstance(exc_info, list) and len(exc_info) == 2:
            raise ProgramError(f"{str(exc_info[0])[:100]}: {str(exc_info[1])[:1000]}")
        raise ProgramGone("the program broke the check protocol")


def _verdict(test: str, entry_point: str) -> dict[str, Any]:
    try:
        ready = receive(_RESP)
    except (OSError, ValueError):
        ready = None
    if not isinstance(ready, dict) or not isinstance(ready.get("ready"), list):
        return {"passed": False, "stage": "program", "reason": "the program ended before it could be checked"}
    scope: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    for name in ready["ready"]:
        if isinstance(name, str) and name.isidentifier():
            scope[name] = _Remote(name)
    try:
        exec(compile(test, "check.py", "exec"), scope)
        if entry_point not in scope:
            return {"passed": False, "stage": "check", "reason": f"the program defines no {entry_point}()"}
        scope["check"](scope[entry_point])
    except ProgramGone as exc:
        return {"passed": False, "stage": "program", "reason": str(exc)}
    except ProgramError as exc:
        return {"passed": False, "stage": "check", "reason": f"{exc} (raised by the program)"}
    except BaseException as exc:
        _print_exc_any(exc)
        line = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()
        return {"passed": False, "stage": "check", "reason": (line[-1] if line else type(exc).__name__)[:300]}
    return {"passed": True, "stage": "check", "reason": "all checks passed"}


def _print_exc_any(exc: BaseException) -> None:
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != "check.py":
        tb = tb.tb_next
    with contextlib.suppress(BaseException):
        traceback.print_exception(type(exc), exc, tb)


def _checker(cfg: dict[str, Any], test: str, keep: dict[int, int]) -> None:
    _contain(cfg, keep)
    verdict = _verdict(test, str(cfg["entry_point"]))
    _quiet_flush()
    with contextlib.suppress(OSError):
        os.write(5, json.dumps(verdict).encode())
    os._exit(0)


# --- the supervisor ---------------------------------------------------------------------------


def _fork(target: Any, *args: Any) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            target(*args)
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(EXIT_BOOTSTRAP)  # only reached when the bootstrap itself fails
    return pid


def _drain(fd: int) -> bytes:
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 1 << 16)
    except BlockingIOError:
        return b""


def _main() -> None:
    cfg = json.loads(sys.argv[1])
    status_fd = int(cfg["status_fd"])
    _non_dumpable()
    with open(cfg["program"], encoding="utf-8") as f:
        source = f.read()
    test = None
    if cfg["mode"] == "check":
        with open(cfg["test"], encoding="utf-8") as f:
            test = f.read()
    if cfg["private_tmp"]:
        _private_mounts(cfg["workdir"], int(cfg["tmp_bytes"]))
        os.chdir(cfg["workdir"])
    children: dict[int, str] = {}
    if test is not None:
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        out_r, out_w = os.pipe()
        children[_fork(_checker, cfg, test, {_REQ: req_w, _RESP: resp_r, 5: out_w})] = "checker"
        children[_fork(_program, cfg, source, {_REQ: req_r, _RESP: resp_w})] = "program"
        for fd in (req_r, req_w, resp_r, resp_w, out_w):
            os.close(fd)
    else:
        out_r, out_w = os.pipe()
        children[_fork(_program, cfg, source, {_OUT: out_w})] = "program"
        os.close(out_w)
    report: dict[str, Any] = {}
    data = b""
    while len(report) < len(children):
        try:
            pid, wstatus, usage = os.wait4(-1, 0)  # pid 1 also reaps the program's orphans
        except ChildProcessError:
            break
        role = children.get(pid)
        if role is None:
            continue
        if role == "checker" or test is None:
            data = _drain(out_r)
        report[role] = {"wstatus": wstatus, "cpu_s": usage.ru_utime + usage.ru_stime}
    if test is None:
        report["done"] = data == b"done"
    else:
        try:
            report["verdict"] = json.loads(data) if data else None
        except ValueError:
            report["verdict"] = None
    os.write(status_fd, json.dumps(report).encode())
    os._exit(0)


if __name__ == "__main__":
    _main()
