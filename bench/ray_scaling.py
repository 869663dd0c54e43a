"""Wall time of the same engine run on one process and on N Ray workers, and Ray's start-up cost.

One workload (log-likelihood requests and greedy generations on the embedded Gemma 3 270M), run by
the engine into a fresh SQLite store: first in this process (``builtin:gemma-3-270m``), then on
``ray:builtin:gemma-3-270m?workers=N`` on a local cluster of ``--cpus`` CPUs. Both use the same
``--batch-size`` (one sub-batch = one unit of work for a worker; the default hf: batch of 128 would
be a single sub-batch). Prints JSON: cluster start, replica load, run walls, speed-up, and whether
every answer is identical.

    .venv/bin/python bench/ray_scaling.py [--workers 2] [--cpus 2] [--n-ll 96] [--n-gen 8]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from tunegate.engine import Engine
from tunegate.models import GenerateRequest, LoglikelihoodRequest, Model
from tunegate.store import open_store

SPEC = "builtin:gemma-3-270m"


def _workload(n_ll: int, n_gen: int) -> tuple[list[LoglikelihoodRequest], list[GenerateRequest]]:
    ll = [
        LoglikelihoodRequest(f"Question {i}: what is {i} plus {i * 3 % 17}?\nAnswer:", f" {i + i * 3 % 17}")
        for i in range(n_ll)
    ]
    gen = [
        GenerateRequest(f"Write one sentence about the number {i}.", max_new_tokens=16) for i in range(n_gen)
    ]
    return ll, gen


def _run(spec: str, ll: list, gen: list, batch: int, tmp: Path, name: str) -> tuple[float, float, list]:  # type: ignore[type-arg]
    model = Model(spec)
    t0 = time.perf_counter()
    _ = model.backend  # load (replicas on every worker for ray:)
    load = time.perf_counter() - t0
    store = open_store(f"sqlite:///{tmp / (name + '.db')}")
    eng = Engine(model, store, batch_size=batch)
    t0 = time.perf_counter()
    out = eng.run(ll) + eng.run(gen)
    wall = time.perf_counter() - t0
    store.close()
    return load, wall, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--n-ll", type=int, default=96)
    ap.add_argument("--n-gen", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=8)
    args = ap.parse_args()
    ll, gen = _workload(args.n_ll, args.n_gen)
    tmp = Path(tempfile.mkdtemp(prefix="tg-raybench-"))
    os.environ.setdefault("TUNEGATE_RAY_TMP", str(tmp / "ray"))
    os.environ["TUNEGATE_RAY_CPUS"] = str(args.cpus)
    load1, wall1, out1 = _run(SPEC, ll, gen, args.batch_size, tmp, "single")

    import ray

    from tunegate.models._ray import _connect, shutdown_local_cluster

    t0 = time.perf_counter()
    _connect(None)
    start = time.perf_counter() - t0
    spec = f"ray:{SPEC}?workers={args.workers}"
    loadn, walln, outn = _run(spec, ll, gen, args.batch_size, tmp, "ray")
    shutdown_local_cluster()
    print(
        json.dumps(
            {
                "requests": {"loglikelihood": len(ll), "generate": len(gen), "batch_size": args.batch_size},
                "cpus": args.cpus,
                "workers": args.workers,
                "ray": ray.__version__,
                "single_process": {"load_s": round(load1, 2), "run_s": round(wall1, 2)},
                "ray_workers": {
                    "cluster_start_s": round(start, 2),
                    "replicas_load_s": round(loadn, 2),
                    "run_s": round(walln, 2),
                },
                "speedup_run": round(wall1 / walln, 2),
                "speedup_with_startup": round((load1 + wall1) / (start + loadn + walln), 2),
                "identical": out1 == outn,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
