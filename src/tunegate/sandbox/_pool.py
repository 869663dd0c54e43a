"""HumanEval check programs and a thread pool that drives one subprocess per program."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from tunegate.sandbox._limits import CheckProgram, ExecResult, Limits
from tunegate.sandbox._runner import run_check, run_program

__all__ = ["build_check_program", "check_program", "run_many"]


def build_check_program(program: str, test: str, entry_point: str) -> CheckProgram:
    """The HumanEval check: the solution runs contained, ``check(entry_point)`` in the checker."""
    return CheckProgram(program, test, entry_point)


def check_program(
    program: str, test: str, entry_point: str, *, timeout_s: float = 10.0, limits: Limits | None = None
) -> ExecResult:
    """Run one HumanEval sample against its tests; passed only on the separate checker's verdict."""
    return run_check(CheckProgram(program, test, entry_point), timeout_s=timeout_s, limits=limits)


def _run_one(item: str | CheckProgram, timeout_s: float, limits: Limits | None) -> ExecResult:
    if isinstance(item, CheckProgram):
        return run_check(item, timeout_s=timeout_s, limits=limits)
    return run_program(item, timeout_s=timeout_s, limits=limits)


def run_many(
    programs: Sequence[str | CheckProgram],
    *,
    workers: int | None = None,
    timeout_s: float = 10.0,
    limits: Limits | None = None,
) -> list[ExecResult]:
    """Run each program (plain or checked) in its own sandbox, ``workers`` at a time; results in order."""
    if not programs:
        return []
    n = workers or min(len(programs), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=max(1, n), thread_name_prefix="tunegate-sandbox") as pool:
        return list(pool.map(lambda item: _run_one(item, timeout_s, limits), programs))
