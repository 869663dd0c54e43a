"""How many threads torch's CPU kernels use, set once when a transformers model is loaded.

``TUNEGATE_THREADS`` if set, else ``OMP_NUM_THREADS`` if set, else the number of *physical* cores
this process may run on (its CPU affinity, counted once per core however many hardware threads each
has, and capped by a cgroup CPU quota). Hyper-threads share one core's vector units, so a thread
per logical CPU only adds contention. Two tunegate processes on one machine each take every core
by default and oversubscribe it (bench/README.md measures that): give each ``TUNEGATE_THREADS``.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

from tunegate._settings import env_whole

__all__ = ["configure_threads", "physical_cores"]

log = logging.getLogger(__name__)


def _cpus() -> set[int]:
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return set(range(os.cpu_count() or 1))


def _quota() -> int | None:
    """CPUs allowed by a cgroup v2 quota (``cpu.max``), or None when unlimited or unknown."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return max(1, math.ceil(int(quota) / int(period)))


def physical_cores() -> int:
    """Physical cores among the CPUs this process may use (at least 1)."""
    cpus = _cpus()
    cores = set()
    for cpu in cpus:
        topo = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add(
                (topo / "physical_package_id").read_text().strip()
                + ":"
                + (topo / "core_id").read_text().strip()
            )
        except OSError:
            cores.add(f"cpu{cpu}")  # no topology (containers, other OSes): one core per CPU
    n = len(cores) or 1
    quota = _quota()
    return min(n, quota) if quota else n


def _default() -> int:
    omp = os.environ.get("OMP_NUM_THREADS", "").strip()
    if omp.isdigit() and int(omp) > 0:
        return int(omp)
    return physical_cores()


def configure_threads() -> int:
    """Set torch's intra-op thread count (see the module docstring) and return it."""
    import torch

    n = env_whole("TUNEGATE_THREADS", _default())
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    log.info("torch uses %d CPU threads", n)
    return n
