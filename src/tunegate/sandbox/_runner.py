"""Run one program in the sandbox: start, feed the token, collect bounded output, kill everything."""

from __future__ import annotations

import functools
import json
import math
import os
import secrets
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

from tunegate.sandbox._isolation import (
    NS_FLAGS,
    Containment,
    become_subreaper,
    containment,
    kill_uid,
    lease_uid,
)
from tunegate.sandbox._limits import ExecResult, Limits, Status

__all__ = ["run_program"]

_BOOTSTRAP = (Path(__file__).with_name("_bootstrap.py")).read_text(encoding="utf-8")
_EXIT_EXCEPTION, _EXIT_MEMORY, _EXIT_BOOTSTRAP = 1, 3, 70


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


def _argv(box: Containment, cfg: dict[str, Any]) -> list[str]:
    prefix = [box.unshare, *NS_FLAGS, "--kill-child"] if box.namespaces and box.unshare else []
    return [*prefix, box.interpreter, "-I", "-c", _BOOTSTRAP, json.dumps(cfg)]


def _kill_all(proc: subprocess.Popen[bytes], uid: int | None) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
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


def _classify(
    report: dict[str, Any] | None, returncode: int, out: str, err: str, token: str, cpu_limit: int
) -> tuple[Status, str]:
    if report is None:
        if returncode < 0:
            return "killed", f"the sandbox supervisor was killed by {signal.Signals(-returncode).name}"
        return "error", f"the sandbox could not run the program: {_last_line(err) or f'exit {returncode}'}"
    wstatus = int(report["wstatus"])
    if os.WIFSIGNALED(wstatus):
        sig = os.WTERMSIG(wstatus)
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and float(report["cpu_s"]) >= cpu_limit - 0.05):
            return "timeout", f"CPU time limit of {cpu_limit}s exceeded"
        return "killed", f"killed by {signal.Signals(sig).name}"
    code = os.WEXITSTATUS(wstatus)
    if code == _EXIT_MEMORY:
        return "memory", f"memory limit exceeded ({_last_line(err)})"
    if code == _EXIT_BOOTSTRAP:
        return "error", f"the sandbox bootstrap failed: {_last_line(err)}"
    if code != 0:
        return "failed", _last_line(err) or f"exited with status {code}"
    if out.rstrip().endswith(token):
        return "passed", "all checks passed"
    return "failed", "exited with status 0 before reaching the end of the program (no success token)"


def run_program(code: str, *, timeout_s: float = 10.0, limits: Limits | None = None) -> ExecResult:
    """Run Python ``code`` in a fresh, contained subprocess; never raises for anything ``code`` does."""
    limits = limits or Limits()
    box = containment(limits.namespaces)
    if box.uid_drop and not box.namespaces:
        _adopt_orphans()
    cpu_limit = max(1, math.ceil(limits.cpu_s if limits.cpu_s is not None else timeout_s))
    token = secrets.token_hex(16)
    start = time.monotonic()
    with lease_uid() as uid, _workdir(uid) as workdir:
        program = workdir / "prog.py"
        program.write_text(code, encoding="utf-8")
        if uid is not None:
            os.chown(program, uid, uid)
        cfg: dict[str, Any] = {
            "program": str(program),
            "cpu_s": cpu_limit,
            "memory_bytes": limits.memory_bytes,
            "file_size_bytes": limits.file_size_bytes,
            "max_processes": limits.max_processes,
            "max_open_files": limits.max_open_files,
        }
        r, w = os.pipe()
        try:
            cfg["status_fd"] = w  # pass_fds keeps the number
            proc = subprocess.Popen(
                _argv(box, cfg),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=workdir,
                env=_env(workdir),
                start_new_session=True,
                pass_fds=(w,),
                user=uid,
                group=uid,
                extra_groups=None if uid is None else [],
            )
        except OSError as exc:
            os.close(r)
            os.close(w)
            return ExecResult(False, "error", f"could not start the sandbox: {exc}", None, "", "", 0.0)
        os.close(w)
        try:
            assert proc.stdin is not None
            try:
                proc.stdin.write((token + "\n").encode())
                proc.stdin.close()
            except BrokenPipeError:
                pass
            out_b, err_b, timed_out, over = _collect(proc, uid, start + timeout_s, limits.max_output_bytes)
        finally:
            _kill_all(proc, uid)
            os.set_blocking(r, False)
            try:
                raw = os.read(r, 65536)
            except BlockingIOError:
                raw = b""
            os.close(r)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
    duration = time.monotonic() - start
    out, err = out_b.decode("utf-8", "replace"), err_b.decode("utf-8", "replace")
    status: Status
    report = json.loads(raw) if raw else None
    if over:
        status, reason = "output_limit", f"output exceeded {limits.max_output_bytes} bytes"
    elif timed_out:
        status, reason = "timeout", f"wall time limit of {timeout_s:g}s exceeded"
    else:
        status, reason = _classify(report, proc.returncode, out, err, token, cpu_limit)
    out = out.replace("\n" + token + "\n", "").replace(token, "")
    cap = limits.max_output_bytes
    return ExecResult(status == "passed", status, reason, proc.returncode, out[:cap], err[:cap], duration)
