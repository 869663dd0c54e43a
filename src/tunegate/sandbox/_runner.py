"""Run one sample in the sandbox: start it inside its cgroup, collect bounded output, read the
supervisor's report, kill and sweep everything the sample's uid left."""

from __future__ import annotations

import functools
import json
import math
import os
import platform
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from tunegate.sandbox._bootstrap import seccomp_program
from tunegate.sandbox._cgroup import SampleCgroup, create_cgroup
from tunegate.sandbox._isolation import (
    NS_FLAGS,
    Containment,
    as_uid,
    become_subreaper,
    containment,
    kill_uid,
    lease_uid,
    sweep_uid,
)
from tunegate.sandbox._limits import CheckProgram, ExecResult, Limits, Status

__all__ = ["run_check", "run_program", "signal_name"]

_BOOTSTRAP = (Path(__file__).with_name("_bootstrap.py")).read_text(encoding="utf-8")
_EXIT_EXCEPTION, _EXIT_MEMORY, _EXIT_BOOTSTRAP = 1, 3, 70
_GATE = 'unset PWD; read -r _ && exec "$@"'  # wait until the runner has put this process in the cgroup


@functools.cache
def _adopt_orphans() -> bool:
    return become_subreaper()


@contextmanager
def _workdir(uid: int | None) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="tunegate-sbx-"))
    try:
        if uid is not None:
            os.chown(path, uid, uid)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _env(workdir: Path) -> dict[str, str]:
    """The whole environment of the sandbox: nothing is inherited from ours."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
    }


def signal_name(sig: int) -> str:
    """``SIGKILL``, ``SIGRTMIN+6``, or ``signal 99``: never raises (real-time signals have no enum)."""
    try:
        return signal.Signals(sig).name
    except ValueError:
        lo, hi = signal.SIGRTMIN, signal.SIGRTMAX
        return f"SIGRTMIN+{sig - lo}" if lo <= sig <= hi else f"signal {sig}"


def _argv(box: Containment, cfg: dict[str, Any]) -> list[str]:
    prefix = [box.unshare, *NS_FLAGS, "--kill-child"] if box.namespaces and box.unshare else []
    return [
        "/bin/sh",
        "-c",
        _GATE,
        "tunegate-sandbox",
        *prefix,
        box.interpreter,
        "-I",
        "-c",
        _BOOTSTRAP,
        json.dumps(cfg),
    ]


def _kill_all(proc: subprocess.Popen[bytes], uid: int | None, cg: SampleCgroup | None) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if cg is not None:
        cg.kill()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL not honoured
        proc.kill()
        proc.wait()
    if uid is not None:
        kill_uid(uid)


def _collect(
    proc: subprocess.Popen[bytes], uid: int | None, deadline: float, cap: int
) -> tuple[bytes, bytes, bool, bool]:
    """Read stdout/stderr until EOF, the deadline or ``cap`` bytes; return (out, err, timed_out, over)."""
    assert proc.stdout is not None and proc.stderr is not None
    bufs = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    sel = selectors.DefaultSelector()
    for fd in bufs:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    timed_out = over = main_done = False
    try:
        while sel.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for key, _ in sel.select(min(remaining, 0.05)):
                fd = int(key.fd)
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    sel.unregister(fd)
                    continue
                bufs[fd] += chunk
                if sum(map(len, bufs.values())) > cap:
                    over = True
            if over:
                break
            if not main_done and proc.poll() is not None:
                main_done = True  # leftovers (fallback mode) may hold the pipes open: kill them
                if uid is not None:
                    kill_uid(uid)
    finally:
        sel.close()
    return bytes(bufs[proc.stdout.fileno()]), bytes(bufs[proc.stderr.fileno()]), timed_out, over


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip()[:300] if lines else ""


def _of_process(
    part: dict[str, Any], err: str, cpu_limit: int, oom: bool, memory_bytes: int
) -> tuple[Status, str] | None:
    """Status of the program process from its wait status; None when it exited 0."""
    wstatus = int(part["wstatus"])
    if os.WIFSIGNALED(wstatus):
        sig = os.WTERMSIG(wstatus)
        if sig == signal.SIGKILL and oom:
            return "memory", f"memory limit of {memory_bytes >> 20} MiB for the whole sample exceeded"
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and float(part["cpu_s"]) >= cpu_limit - 0.05):
            return "timeout", f"CPU time limit of {cpu_limit}s exceeded"
        if sig == signal.SIGSYS:
            return "killed", "killed by SIGSYS: a forbidden system call (foreign architecture or x32 ABI)"
        return "killed", f"killed by {signal_name(sig)}"
    code = os.WEXITSTATUS(wstatus)
    if code == _EXIT_MEMORY:
        return "memory", f"memory limit exceeded ({_last_line(err)})"
    if code == _EXIT_BOOTSTRAP:
        return "error", f"the sandbox bootstrap failed: {_last_line(err) or 'no message'}"
    if code != 0:
        return "failed", _last_line(err) or f"exited with status {code}"
    return None


def _classify(
    report: dict[str, Any] | None, returncode: int, err: str, cpu_limit: int, oom: bool, memory_bytes: int
) -> tuple[Status, str]:
    if report is None or "program" not in report:
        if returncode < 0:
            return "killed", f"the sandbox supervisor was killed by {signal_name(-returncode)}"
        return "error", f"the sandbox could not run the program: {_last_line(err) or f'exit {returncode}'}"
    if "verdict" not in report:  # a plain program
        bad = _of_process(report["program"], err, cpu_limit, oom, memory_bytes)
        if bad is not None:
            return bad
        if report.get("done"):
            return "passed", "ran to the end"
        return "failed", "exited with status 0 before reaching the end of the program"
    verdict = report.get("verdict")
    if isinstance(verdict, dict) and verdict.get("passed") is True:
        return "passed", "all checks passed"
    if isinstance(verdict, dict) and verdict.get("stage") == "check":
        return "failed", str(verdict.get("reason") or "a check failed")[:500]
    bad = _of_process(report["program"], err, cpu_limit, oom, memory_bytes)
    if bad is not None:
        return bad
    if isinstance(verdict, dict):
        why = str(verdict.get("reason") or "")
        if why == "the program ended before it could be checked":
            why = "exited with status 0 before its functions could be checked"
        return "failed", why[:500]
    checker = report.get("checker", {})
    if os.WIFSIGNALED(int(checker.get("wstatus", 0))):
        return "failed", f"the checker was killed by {signal_name(os.WTERMSIG(int(checker['wstatus'])))}"
    return "error", f"the checker gave no verdict: {_last_line(err) or 'no message'}"


def _prepare(workdir: Path, uid: int | None, files: dict[str, str]) -> dict[str, str]:
    paths = {}
    for key, text in files.items():
        path = workdir / f"{key}.py"
        path.write_text(text, encoding="utf-8")
        if uid is not None:
            os.chown(path, uid, uid)
        paths[key] = str(path)
    return paths


def _execute(
    files: dict[str, str], extra: dict[str, Any], timeout_s: float, limits: Limits | None
) -> ExecResult:
    limits = limits or Limits()
    box = containment(limits.namespaces)
    if box.uid_drop and not box.namespaces:
        _adopt_orphans()
    cpu_limit = max(1, math.ceil(limits.cpu_s if limits.cpu_s is not None else timeout_s))
    start = time.monotonic()
    # the sandbox's own processes: the supervisor, unshare's parent, the checker
    overhead = 1 + int(box.namespaces) + int("test" in files)
    cg: SampleCgroup | None = None
    try:
        with lease_uid() as uid, _workdir(uid) as workdir:
            cfg: dict[str, Any] = {
                **_prepare(workdir, uid, files),
                **extra,
                "mode": "check" if "test" in files else "plain",
                "workdir": str(workdir),
                "private_tmp": box.namespaces,
                "tmp_bytes": limits.tmp_bytes,
                "need_seccomp": seccomp_program(platform.machine()) is not None,
                "cpu_s": cpu_limit,
                "memory_bytes": limits.memory_bytes,
                "file_size_bytes": limits.file_size_bytes,
                "max_processes": limits.max_processes + overhead,
                "max_open_files": limits.max_open_files,
            }
            if box.cgroup is not None:
                cg = create_cgroup(limits.memory_bytes, limits.max_processes + overhead)
                if cg is None:
                    return ExecResult(
                        False, "error", "could not create the sample's cgroup", None, "", "", 0.0
                    )
            r, w = os.pipe()
            try:
                cfg["status_fd"] = w  # pass_fds keeps the number
                argv, as_kw = as_uid(_argv(box, cfg), uid)
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    cwd=workdir,
                    env=_env(workdir),
                    start_new_session=True,
                    pass_fds=(w,),
                    **as_kw,
                )
            except OSError as exc:
                os.close(r)
                os.close(w)
                return ExecResult(False, "error", f"could not start the sandbox: {exc}", None, "", "", 0.0)
            os.close(w)
            try:
                assert proc.stdin is not None
                if cg is not None:
                    cg.add(proc.pid)  # before the gate opens: every later process starts inside
                with suppress(BrokenPipeError):
                    proc.stdin.write(b"go\n")
                    proc.stdin.close()
                out_b, err_b, timed_out, over = _collect(
                    proc, uid, start + timeout_s, limits.max_output_bytes
                )
            finally:
                _kill_all(proc, uid, cg)
                oom = cg is not None and cg.oom_kills() > 0
                if cg is not None:
                    cg.remove()
                if uid is not None:
                    sweep_uid(uid)
                raw = _drain(r)
                for stream in (proc.stdout, proc.stderr):
                    if stream is not None:
                        stream.close()
    except (OSError, RuntimeError) as exc:  # the machinery, not the program: a uid lease, a cgroup
        if cg is not None:
            cg.remove()
        return ExecResult(
            False, "error", f"the sandbox failed: {exc}", None, "", "", time.monotonic() - start
        )
    duration = time.monotonic() - start
    out, err = out_b.decode("utf-8", "replace"), err_b.decode("utf-8", "replace")
    try:
        report = json.loads(raw) if raw else None
    except ValueError:
        report = None
    status: Status
    if over:
        status, reason = "output_limit", f"output exceeded {limits.max_output_bytes} bytes"
    elif timed_out:
        status, reason = "timeout", f"wall time limit of {timeout_s:g}s exceeded"
    else:
        status, reason = _classify(report, proc.returncode, err, cpu_limit, oom, limits.memory_bytes)
    cap = limits.max_output_bytes
    return ExecResult(status == "passed", status, reason, proc.returncode, out[:cap], err[:cap], duration)


def _drain(fd: int) -> bytes:
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 1 << 16)
    except BlockingIOError:
        return b""
    finally:
        os.close(fd)


def run_program(code: str, *, timeout_s: float = 10.0, limits: Limits | None = None) -> ExecResult:
    """Run Python ``code`` in a fresh, contained subprocess; never raises for anything ``code`` does.

    ``passed`` means it exited 0 after its last statement returned. That end signal comes from the
    program's own process, so a hostile program can fake it; a verdict it cannot fake needs a
    separate checker: :func:`run_check`.
    """
    return _execute({"program": code}, {}, timeout_s, limits)


def run_check(check: CheckProgram, *, timeout_s: float = 10.0, limits: Limits | None = None) -> ExecResult:
    """Run ``check.program`` contained and its tests in a separate checker process (see the package
    docstring); ``passed`` comes only from the checker's verdict. Never raises."""
    if not check.entry_point.isidentifier():
        return ExecResult(
            False, "error", f"entry point {check.entry_point!r} is not a name", None, "", "", 0.0
        )
    return _execute(
        {"program": check.program, "test": check.test}, {"entry_point": check.entry_point}, timeout_s, limits
    )
