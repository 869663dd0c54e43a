"""Conformance: every program of the hostile corpus comes back not passed, with a reason, contained,
and with nothing left behind (no process of a sandbox uid, no file of one in any shared tmp folder,
no System V IPC object, no socket reached) -- with namespaces and with them forced off.

Programs named ``check_*`` are HumanEval-style solutions judged by :data:`CHECK_TEST`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tunegate.sandbox import (
    CheckProgram,
    ExecResult,
    Limits,
    containment,
    leftovers,
    run_check,
    run_many,
    run_program,
    stray_processes,
)
from tunegate.sandbox._isolation import UID_BASE, UID_COUNT

HOSTILE = Path(__file__).with_name("hostile")
CORPUS = sorted(p.name for p in HOSTILE.glob("*.py"))
TIMEOUT = 3.0
MAX_PROCS = 8
LIMITS = Limits(memory_bytes=256 << 20, max_processes=MAX_PROCS)  # small: touching it all stays fast
CHECK_TEST = "def check(candidate):\n    assert candidate(2) == 4\n"
MODES = [pytest.param(True, id="namespaces"), pytest.param(False, id="fallback")]
PG_SOCKET = Path("/var/run/postgresql/.s.PGSQL.5432")
# What the fallback does not stop (documented in the package docstring, warned at run time)
FALLBACK_GAPS = {"cmdline_peek.py": "command lines"}


class Listeners:
    """A TCP listener on 127.0.0.1, a path Unix socket anyone may connect to, an abstract one."""

    def __init__(self, root: Path) -> None:
        self.tcp = socket.socket()
        self.tcp.bind(("127.0.0.1", 0))
        self.unix_dir = root
        self.unix_path = str(root / "s")
        self.unix = socket.socket(socket.AF_UNIX)
        self.unix.bind(self.unix_path)
        os.chmod(self.unix_path, 0o777)
        self.abstract_name = f"tunegate-abstract-{os.getpid()}"
        self.abstract = socket.socket(socket.AF_UNIX)
        self.abstract.bind("\0" + self.abstract_name)
        for s in (self.tcp, self.unix, self.abstract):
            s.listen()
            s.setblocking(False)

    def assert_untouched(self) -> None:
        for s in (self.tcp, self.unix, self.abstract):
            with pytest.raises(BlockingIOError):
                s.accept()

    def close(self) -> None:
        for s in (self.tcp, self.unix, self.abstract):
            s.close()


@pytest.fixture(scope="module")
def listeners() -> Iterator[Listeners]:
    root = Path(f"/tmp/tunegate-unix-{os.getpid()}")
    root.mkdir(mode=0o777, exist_ok=True)
    os.chmod(root, 0o777)
    box = Listeners(root)
    yield box
    box.close()
    Path(box.unix_path).unlink(missing_ok=True)
    root.rmdir()


@pytest.fixture(scope="module")
def planted_cmdline() -> Iterator[str]:
    """A process of ours whose command line holds a secret, as a ``--db`` password would."""
    secret = f"tunegate-cmdline-secret-{os.getpid()}"
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", secret])
    yield secret
    proc.kill()
    proc.wait()


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TUNEGATE_TEST_SECRET", "hunter2")
    return "hunter2"


def _no_strays() -> list[int]:
    deadline = time.monotonic() + 2
    while (left := stray_processes()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def _sysv_ipc_of_sandbox_uids() -> list[str]:
    found = []
    for kind in ("shm", "msg", "sem"):
        with open(f"/proc/sysvipc/{kind}", encoding="ascii") as f:
            header, *rows = f.read().splitlines()
        col = header.split().index("uid")
        found += [f"{kind}: {r}" for r in rows if UID_BASE <= int(r.split()[col]) < UID_BASE + UID_COUNT]
    return found


def _program(name: str, canary: Path, mark: Path, box: Listeners) -> str:
    text = (HOSTILE / name).read_text()
    subs = {
        "__CANARY__": canary,
        "__MARK__": mark,
        "__PORT__": box.tcp.getsockname()[1],
        "__UNIX__": box.unix_path,
        "__ABSTRACT__": box.abstract_name,
        "__TAG__": os.getpid(),
    }
    for key, value in subs.items():
        text = text.replace(key, str(value))
    return text


def _run(name: str, code: str, limits: Limits) -> ExecResult:
    if name.startswith("check_"):
        return run_check(CheckProgram(code, CHECK_TEST, "f"), timeout_s=TIMEOUT, limits=limits)
    return run_program(code, timeout_s=TIMEOUT, limits=limits)


def _assert_contained(canary: Path, mark: Path, box: Listeners) -> None:
    assert canary.read_text() == "still here"
    box.assert_untouched()
    assert _no_strays() == []
    assert leftovers() == []
    assert _sysv_ipc_of_sandbox_uids() == []
    if mark.exists():  # the daemon may have written before it was killed, but it must not write after
        size = mark.stat().st_size
        time.sleep(0.3)
        assert mark.stat().st_size == size


def _assert_specific(name: str, r: ExecResult, namespaces: bool, planted: str) -> None:
    """What each program of the new classes must come back as, beyond "not passed"."""
    if name in ("int80_socket.py", "x32_syscall.py") and platform.machine() == "x86_64":
        assert r.status == "killed" and "SIGSYS" in r.reason, r
    elif name == "unix_socket.py":
        assert r.status == "failed" and "reached:" not in r.stdout, r
    elif name == "check_forge_token.py":
        assert r.status == "failed", r
    elif name == "rt_signal.py":
        assert r.status == "killed" and "SIGRTMIN+" in r.reason, r
    elif name == "memory_children.py":
        # 2 x 150 MiB do not fit in 256 MiB for the sample: at most one child keeps its block
        assert r.stdout.count("kept") <= 1, r
    elif name == "many_processes.py":
        counts = [int(line.split()[1]) for line in r.stdout.splitlines() if line.startswith("processes:")]
        assert counts and counts[0] < MAX_PROCS, r
    elif name == "huge_exit_code.py":
        assert r.status == "failed" and r.reason == f"SystemExit: {2**70}", r
    elif name == "cmdline_peek.py":
        assert planted not in r.stdout and "no command line" in r.reason, r


@pytest.mark.parametrize("namespaces", MODES)
@pytest.mark.parametrize("name", CORPUS)
def test_hostile_program_is_contained(
    name: str, namespaces: bool, tmp_path: Path, listeners: Listeners, planted_cmdline: str, secret: str
) -> None:
    box = containment(namespaces)
    if namespaces and not box.namespaces:
        pytest.skip("no namespaces on this machine")
    if not namespaces and not box.uid_drop:
        pytest.skip("without root there is no throwaway uid; the fallback is documented as weaker")
    canary = tmp_path / "outside" / "canary.txt"
    canary.parent.mkdir()
    canary.write_text("still here")
    mark = Path("/tmp") / f"tunegate-mark-{os.getpid()}-{name}"
    try:
        limits = Limits(**{**LIMITS.__dict__, "namespaces": namespaces})
        result = _run(name, _program(name, canary, mark, listeners), limits)
        if not namespaces and name in FALLBACK_GAPS:
            assert any(FALLBACK_GAPS[name] in gap for gap in containment(False).gaps())
            _assert_contained(canary, mark, listeners)
            return
        assert not result.passed, result
        assert result.status != "passed" and result.reason
        assert secret not in result.stdout + result.stderr
        assert result.duration_s < TIMEOUT + 3
        _assert_specific(name, result, namespaces, planted_cmdline)
        _assert_contained(canary, mark, listeners)
    finally:
        mark.unlink(missing_ok=True)


@pytest.mark.parametrize("name", ["unix_socket.py", "int80_socket.py", "tmp_leftovers.py"])
def test_attack_works_outside_the_sandbox(name: str, tmp_path: Path, listeners: Listeners) -> None:
    """Positive control: run unsandboxed, the attack succeeds here, so the tests above mean something."""
    if name == "unix_socket.py" and not PG_SOCKET.exists():
        pytest.skip("no PostgreSQL Unix socket on this machine")
    if name == "int80_socket.py" and platform.machine() != "x86_64":
        pytest.skip("int 0x80 is the 32-bit x86 system-call gate: the attack exists on x86_64 only")
    code = _program(name, tmp_path / "c", tmp_path / "m", listeners).replace("os._exit(0)", "pass")
    code = code.replace("tunegate-left-", f"tunegate-control-{os.getpid()}-").replace(
        "tunegate-leftdir-", f"tunegate-controldir-{os.getpid()}-"
    )
    env = {"PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-I", "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    try:
        if name == "tmp_leftovers.py":
            assert "left /tmp/" in proc.stdout, proc
        else:
            assert proc.returncode == 0 and ("reached:" in proc.stdout or "connected" in proc.stdout), proc
    finally:
        for d in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
            Path(d, f"tunegate-control-{os.getpid()}-{os.getpid()}").unlink(missing_ok=True)
            subprocess.run(["rm", "-rf", f"{d}/tunegate-controldir-{os.getpid()}-{os.getpid()}"], check=False)
        for s in (listeners.tcp, listeners.unix, listeners.abstract):  # drain what the control reached
            with contextlib.suppress(BlockingIOError):
                s.accept()[0].close()


def test_fallback_warns_what_it_does_not_stop(caplog: pytest.LogCaptureFixture) -> None:
    containment.cache_clear()
    with caplog.at_level(logging.WARNING, logger="tunegate.sandbox"):
        box = containment(False)
    assert not box.namespaces
    text = caplog.text
    for gap in ("command lines", "/tmp, /var/tmp and /dev/shm", "seccomp"):
        assert gap in text, text


def test_expected_statuses() -> None:
    programs = {
        "cpu_loop.py": {"timeout"},
        "sleep_forever.py": {"timeout"},
        "memory_bomb.py": {"memory"},
        "raise_limits_then_hog.py": {"memory"},
        "stdout_flood.py": {"output_limit"},
        "early_os_exit.py": {"failed"},
        "early_sys_exit.py": {"failed"},
        "huge_file.py": {"failed"},
    }
    names = list(programs)
    results = run_many([(HOSTILE / n).read_text() for n in names], workers=4, timeout_s=2.5, limits=LIMITS)
    got = {n: r.status for n, r in zip(names, results, strict=True)}
    assert all(got[n] in programs[n] for n in names), got
    assert "before reaching the end" in results[names.index("early_os_exit.py")].reason
    assert "File too large" in results[names.index("huge_file.py")].reason


def test_evaluation_goes_on_after_the_corpus() -> None:
    good = "def f(x):\n    return x + 1\n\nassert f(1) == 2\nprint('fine')\n"
    result = run_program(good, timeout_s=TIMEOUT)
    assert result.passed and result.status == "passed", result
    assert result.stdout.strip() == "fine"
    assert _no_strays() == []
