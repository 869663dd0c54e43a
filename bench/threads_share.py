"""Two tunegate processes on one machine: greedy generation wall time, default threads vs pinned.

    .venv/bin/python bench/threads_share.py [--prompts 50] [--procs 2] [--threads default,1]

Each process loads ``builtin:gemma-3-270m`` and generates the first ``--prompts`` prompts of
``lm_eval_compare.py``'s ``gen`` workload (greedy, <= 64 new tokens, stop at a newline) through the
engine on a throwaway store. For each thread setting (``default``: tunegate's choice, the physical
cores; a number: ``TUNEGATE_THREADS``) it runs one process alone, then ``--procs`` at once, and
prints each process's wall time (model load included).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def worker(n: int) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    import torch
    from lm_eval_compare import SPEC, gen_requests, write_data

    from tunegate.engine import Engine
    from tunegate.models import Model
    from tunegate.store import open_store

    write_data()
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(Model(SPEC), open_store(f"sqlite:///{tmp}/s.db"))
        engine.run(gen_requests()[:n])
    print(torch.get_num_threads())


def run(procs: int, threads: str, n: int) -> list[tuple[float, str]]:
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)
    env.pop("TUNEGATE_THREADS", None)
    if threads != "default":
        env["TUNEGATE_THREADS"] = threads
    t = time.perf_counter()
    ps = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", str(n)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(procs)
    ]
    ended: dict[int, float] = {}
    while len(ended) < len(ps):
        for k, p in enumerate(ps):
            if k not in ended and p.poll() is not None:
                ended[k] = time.perf_counter() - t
        time.sleep(0.1)
    return [(ended[k], p.communicate()[0].strip()) for k, p in enumerate(ps)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=50)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--threads", default="default,1")
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker is not None:
        return worker(a.worker)
    for threads in a.threads.split(","):
        for procs in (1, a.procs):
            res = run(procs, threads, a.prompts)
            walls = ", ".join(f"{w:.1f} s" for w, _ in res)
            print(
                f"threads {threads:>7} (torch: {res[0][1]}), {procs} process(es) at once: {walls}", flush=True
            )


if __name__ == "__main__":
    main()
