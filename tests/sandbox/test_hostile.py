"""Conformance: every program of the hostile corpus comes back not passed, with a reason, and contained."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tunegate.sandbox import Limits, containment, run_many, run_program, stray_processes

HOSTILE = Path(__file__).with_name("hostile")
CORPUS = sorted(p.name for p in HOSTILE.glob("*.py"))
TIMEOUT = 3.0
LIMITS = Limits(memory_bytes=256 << 20)  # small, so that touching it all stays well inside TIMEOUT


@pytest.fixture(scope="module")
def listener() -> Iterator[socket.socket]:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        srv.setblocking(False)
        yield srv


def _no_strays() -> list[int]:
    deadline = time.monotonic() + 2
    while (left := stray_processes()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def _program(name: str, canary: Path, mark: Path, port: int) -> str:
    text = (HOSTILE / name).read_text()
    for key, value in {"__CANARY__": canary, "__MARK__": mark, "__PORT__": port}.items():
        text = text.replace(key, str(value))
    return text


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TUNEGATE_TEST_SECRET", "hunter2")
    return "hunter2"


def _assert_contained(canary: Path, mark: Path, srv: socket.socket) -> None:
    assert canary.read_text() == "still here"
    with pytest.raises(BlockingIOError):
        srv.accept()
    assert _no_strays() == []
    if mark.exists():  # the daemon may have written before it was killed, but it must not write after
        size = mark.stat().st_size
        time.sleep(0.3)
        assert mark.stat().st_size == size


@pytest.mark.parametrize("name", CORPUS)
def test_hostile_program_is_contained(
    name: str, tmp_path: Path, listener: socket.socket, secret: str
) -> None:
    canary = tmp_path / "outside" / "canary.txt"
    canary.parent.mkdir()
    canary.write_text("still here")
    mark = Path("/tmp") / f"tunegate-mark-{os.getpid()}-{name}"
    try:
        result = run_program(
            _program(name, canary, mark, listener.getsockname()[1]), timeout_s=TIMEOUT, limits=LIMITS
        )
        assert not result.passed, result
        assert result.status != "passed" and result.reason
        assert secret not in result.stdout + result.stderr
        assert result.duration_s < TIMEOUT + 2
        _assert_contained(canary, mark, listener)
    finally:
        mark.unlink(missing_ok=True)


def test_corpus_without_namespaces(tmp_path: Path, listener: socket.socket, secret: str) -> None:
    """The fallback (uid drop, rlimits, seccomp, group kill, uid sweep) contains the whole corpus too."""
    if not containment(False).uid_drop:
        pytest.skip("without root there is no throwaway uid; the fallback is documented as weaker")
    canary = tmp_path / "outside" / "canary.txt"
    canary.parent.mkdir()
    canary.write_text("still here")
    mark = Path("/tmp") / f"tunegate-mark-{os.getpid()}-fallback"
    port = listener.getsockname()[1]
    try:
        results = run_many(
            [_program(n, canary, mark, port) for n in CORPUS],
            workers=4,
            timeout_s=TIMEOUT,
            limits=Limits(memory_bytes=LIMITS.memory_bytes, namespaces=False),
        )
        bad = {n: r for n, r in zip(CORPUS, results, strict=True) if r.passed or not r.reason}
        assert bad == {}
        assert all(secret not in r.stdout + r.stderr for r in results)
        _assert_contained(canary, mark, listener)
    finally:
        mark.unlink(missing_ok=True)


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
    assert "success token" in results[names.index("early_os_exit.py")].reason
    assert "File too large" in results[names.index("huge_file.py")].reason


def test_evaluation_goes_on_after_the_corpus() -> None:
    good = "def f(x):\n    return x + 1\n\nassert f(1) == 2\nprint('fine')\n"
    result = run_program(good, timeout_s=TIMEOUT)
    assert result.passed and result.status == "passed", result
    assert result.stdout.strip() == "fine"
    assert _no_strays() == []
