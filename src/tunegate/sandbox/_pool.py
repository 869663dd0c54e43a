"""HumanEval check programs and a thread pool that drives one subprocess per program."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from tunegate.sandbox._limits import ExecResult, Limits
from tunegate.sandbox._runner import run_program

__all__ = ["build_check_program", "check_program", "run_many"]


def build_check_program(program: str, test: str, entry_point: str) -> str:
    """The HumanEval check program: solution, the ``check`` function, then ``check(entry_point)``."""
    return program + "\n" + test + "\n" + f"check({entry_point})\n"


def check_program(
    program: str, test: str, entry_point: str, *, timeout_s: float = 10.0, limits: Limits | None = None
) -> ExecResult:
    """Run one HumanEval sample against its tests; passed only if ``check`` returned normally."""
    return run_program(build_check_program(program, test, entry_point), timeout_s=timeout_s, limits=limits)


def run_many(
    programs: Sequence[str],
    *,
    workers: int | None = None,
    timeout_s: float = 10.0,
    limits: Limits | None = None,
) -> list[ExecResult]:
    """Run each program in its own sandboxed process, ``workers`` at a time; results in input order."""
    if not programs:
        return []
    n = workers or min(len(programs), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=max(1, n), thread_name_prefix="tunegate-sandbox") as pool:
        return list(pool.map(lambda code: run_program(code, timeout_s=timeout_s, limits=limits), programs))
