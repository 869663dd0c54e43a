"""``ray:SPEC?workers=N`` — any backend, replicated on Ray actors; the engine shards the requests.

    ray:builtin:gemma-3-270m?workers=2                     a local Ray cluster (started on first use)
    ray:hf:/models/m?dtype=bfloat16&workers=8&gpus=1&address=ray://head:10001

Each actor loads one replica of the inner spec (the spec with ``workers``, ``address``, ``gpus``,
``cpus`` and ``threads`` taken out). The engine stays the only door: it plans the sub-batches exactly
as the inner backend would (the plan and batch sizes come from a replica), keeps one sub-batch per
worker in flight, and writes each sub-batch to the store on the driver as it arrives. Each sub-batch
runs whole on one replica, so every answer is the one a single process gives, item for item. The
fingerprint is the inner spec's: the cache does not depend on the number of workers (or on Ray).

A worker that dies mid-run (a node lost, ``ray.kill``) is replaced by a fresh replica and its
sub-batch, never answered, is sent again; nothing is stored twice. Without ``address`` (or
``TUNEGATE_RAY_ADDRESS``) a local cluster starts: ``num_cpus`` = ``TUNEGATE_RAY_CPUS`` (default 2),
loopback only, no dashboard, its session files under ``TUNEGATE_RAY_TMP`` (default a fresh folder
under the system temp dir; never a stale ``/tmp/ray`` session). On an existing cluster tunegate and the
inner backend's packages must be installed on every node.
"""

from __future__ import annotations

import logging
import os
import queue
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from tunegate.errors import BackendError, DependencyError, ModelSpecError
from tunegate.models._backend import Backend
from tunegate.models._registry import BACKENDS
from tunegate.models._requests import (
    GenerateRequest,
    GenerateResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Request,
    Result,
    RollingRequest,
    RollingResult,
)
from tunegate.models._spec import ModelSpec, parse_model_spec

__all__ = ["RayBackend", "ray_spec", "shutdown_local_cluster"]

log = logging.getLogger(__name__)

#: options of ``ray:`` itself; every other option belongs to the inner spec
RAY_OPTIONS = ("workers", "address", "gpus", "cpus", "threads")
_KINDS = ("loglikelihood", "loglikelihood_rolling", "generate")
#: times one sub-batch is re-sent after the worker holding it died
MAX_RESENDS = 3
_INIT_LOCK = threading.Lock()
_STOP = threading.Event()  # ends the thread that started the cluster
_STARTED_LOCAL: list[str] = []  # temp dirs of the local clusters this process started


def _ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise DependencyError("the ray: backend needs Ray: pip install 'tunegate[ray]' (ray==2.60.0)") from e
    return ray


def ray_spec(spec: str, workers: int, address: str | None = None) -> str:
    """Wrap a spec string for ``--ray-workers`` / ``--ray-address``: ``ray:SPEC?workers=N[&address=A]``."""
    if workers < 1:
        raise ModelSpecError(f"--ray-workers must be at least 1, not {workers}")
    if spec.startswith("ray:"):
        raise ModelSpecError(f"{spec!r} is already a ray: spec; drop --ray-workers or the ray: prefix")
    extra = f"workers={workers}" + (f"&address={address}" if address else "")
    return "ray:" + spec + ("&" if "?" in spec else "?") + extra


def _split(spec: ModelSpec) -> tuple[ModelSpec, dict[str, str]]:
    """The inner spec and the ``ray:`` options."""
    inner = parse_model_spec(spec.target)
    if inner.scheme == "ray":
        raise ModelSpecError(f"{spec}: a ray: spec cannot wrap another ray: spec")
    own = {k: v for k, v in spec.options if k in RAY_OPTIONS}
    rest = tuple(sorted(inner.options + tuple((k, v) for k, v in spec.options if k not in RAY_OPTIONS)))
    return replace(inner, options=rest), own


def _int(own: dict[str, str], key: str, default: int | None, spec: ModelSpec) -> int | None:
    if key not in own:
        return default
    try:
        value = int(own[key])
    except ValueError:
        value = 0
    if value < 1:
        raise ModelSpecError(f"{spec}: {key}={own[key]!r} must be a whole number >= 1")
    return value


def _float(own: dict[str, str], key: str, spec: ModelSpec) -> float | None:
    if key not in own:
        return None
    try:
        value = float(own[key])
    except ValueError:
        value = -1.0
    if value < 0:
        raise ModelSpecError(f"{spec}: {key}={own[key]!r} must be a number >= 0")
    return value


def _connect(address: str | None) -> int | None:
    """Join ``address`` or start a local cluster (once per process); the local CPU count or None."""
    ray = _ray()
    with _INIT_LOCK:
        if ray.is_initialized():
            return None if not _STARTED_LOCAL else int(ray.cluster_resources().get("CPU", 1))
        address = address or os.environ.get("TUNEGATE_RAY_ADDRESS") or None
        quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
        if address:
            try:
                _init_on_keeper(ray, address=address, **quiet)
            except ConnectionError as e:
                raise BackendError(
                    f"cannot reach the Ray cluster at {address!r} ({e}); is it up, and is this the address "
                    "`ray start --head` printed (or ray://HOST:10001)?"
                ) from None
            return None
        cpus = int(os.environ.get("TUNEGATE_RAY_CPUS", "2"))
        tmp = os.environ.get("TUNEGATE_RAY_TMP") or tempfile.mkdtemp(prefix="tg-ray-")
        os.makedirs(tmp, exist_ok=True)
        # address="local": always a new cluster, never one a stale /tmp/ray session points at;
        # 127.0.0.1: a sandbox without a route must not pick an unreachable interface address
        _init_on_keeper(
            ray, address="local", num_cpus=cpus, _temp_dir=tmp, _node_ip_address="127.0.0.1", **quiet
        )
        _STARTED_LOCAL.append(tmp)
        return cpus


def _init_on_keeper(ray: Any, **kwargs: Any) -> None:
    """``ray.init`` on a thread that lives as long as the process.

    Ray's local processes (GCS, raylet) die with the *thread* that started them (Linux's parent-death
    signal is per thread), and the engine loads models on short-lived worker threads.
    """
    started = threading.Event()
    failed: list[BaseException] = []

    def keep() -> None:
        try:
            ray.init(**kwargs)
        except BaseException as e:  # handed to the caller
            failed.append(e)
        finally:
            started.set()
        _STOP.wait()

    _STOP.clear()
    threading.Thread(target=keep, name="tunegate-ray", daemon=True).start()
    started.wait()
    if failed:
        raise failed[0]


def shutdown_local_cluster() -> None:
    """Stop the local cluster this process started (tests, benchmarks); a joined cluster is left up."""
    ray = _ray()
    with _INIT_LOCK:
        if ray.is_initialized():
            ray.shutdown()
        _STARTED_LOCAL.clear()
        _STOP.set()


class _Replica:
    """The actor: one replica of the inner backend."""

    def __init__(self, spec: str, threads: int | None) -> None:
        if threads:
            try:
                import torch

                torch.set_num_threads(threads)
            except ImportError:  # pragma: no cover - a backend without torch
                pass
        from tunegate.models._factory import Model

        self.backend = Model(spec).backend
        self.calls = 0

    def describe(self) -> dict[str, int]:
        return {k: self.backend.batch_size(k) for k in _KINDS}

    def plan(self, requests: Sequence[Request], missing: Sequence[int], size: int) -> list[list[int]]:
        return self.backend.plan(requests, missing, size)

    def call(self, kind: str, requests: Sequence[Any]) -> list[Result]:
        self.calls += 1
        return self.backend.call(kind, requests)

    def pid(self) -> int:
        return os.getpid()


class RayBackend(Backend):
    """The inner backend on ``workers`` Ray actors; one sub-batch per idle actor."""

    def __init__(
        self,
        inner: ModelSpec,
        workers: int,
        address: str | None = None,
        gpus: float | None = None,
        cpus: float | None = None,
        threads: int | None = None,
    ) -> None:
        ray = _ray()
        local_cpus = _connect(address)
        if threads is None and local_cpus is not None:
            threads = max(1, local_cpus // workers)  # a local cluster: the cores shared out
        self.inner, self.workers, self._threads = str(inner), workers, threads
        opts: dict[str, Any] = {"max_restarts": 0}
        if gpus is not None:
            opts["num_gpus"] = gpus
        if cpus is not None:
            opts["num_cpus"] = cpus
        if threads:
            opts["runtime_env"] = {"env_vars": {"OMP_NUM_THREADS": str(threads)}}
        self._actor_cls = ray.remote(_Replica).options(**opts)
        self.actors: list[Any] = [self._spawn() for _ in range(workers)]
        self._sizes: dict[str, int] = ray.get(self.actors[0].describe.remote())
        ray.get([a.describe.remote() for a in self.actors[1:]])  # every replica loaded before the run
        self._idle: queue.Queue[Any] = queue.Queue()
        for a in self.actors:
            self._idle.put(a)
        self.default_batch_size = max(self._sizes.values())
        #: what happened: sub-batches answered, sent again after a worker died, workers replaced
        self.answered = 0
        self.resent = 0
        self.replaced = 0
        self._count_lock = threading.Lock()

    def _spawn(self) -> Any:
        return self._actor_cls.remote(self.inner, self._threads)

    @property
    def max_in_flight(self) -> int:  # type: ignore[override]
        return self.workers * max(self._sizes.values())

    def batch_size(self, kind: str) -> int:
        return self._sizes.get(kind, self.default_batch_size)

    def plan(self, requests: Sequence[Request], missing: Sequence[int], size: int) -> list[list[int]]:
        """The inner backend's plan, computed by a replica (its tokenizer decides it)."""
        ray = _ray()
        for _ in range(MAX_RESENDS + 1):
            actor = self._idle.get()
            try:
                out: list[list[int]] = ray.get(actor.plan.remote(list(requests), list(missing), size))
            except ray.exceptions.RayActorError:
                self._idle.put(self._replace(actor))
                continue
            self._idle.put(actor)
            return out
        raise BackendError(f"ray:{self.inner}: workers kept dying while planning the run")

    def _replace(self, dead: Any) -> Any:
        fresh = self._spawn()
        with self._count_lock:
            self.replaced += 1
            self.actors = [fresh if a is dead else a for a in self.actors]
        log.warning("ray:%s: a worker died; started a replacement", self.inner)
        return fresh

    def call(self, kind: str, requests: Sequence[Any]) -> list[Result]:
        """One sub-batch on the next idle replica; re-sent (on a fresh replica) if its worker dies."""
        ray = _ray()
        batch = list(requests)
        for attempt in range(MAX_RESENDS + 1):
            actor = self._idle.get()
            try:
                answers: list[Result] = ray.get(actor.call.remote(kind, batch))
            except ray.exceptions.RayActorError as e:
                self._idle.put(self._replace(actor))
                if attempt == MAX_RESENDS:
                    raise BackendError(
                        f"ray:{self.inner}: workers died {attempt + 1} times on one batch"
                    ) from e
                with self._count_lock:
                    self.resent += 1
                continue
            except ray.exceptions.RayTaskError as e:  # the inner backend raised: its error, as is
                self._idle.put(actor)
                raise e.as_instanceof_cause() from None
            self._idle.put(actor)
            with self._count_lock:
                self.answered += 1
            return answers
        raise AssertionError("unreachable")  # pragma: no cover

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        return self.call("loglikelihood", requests)  # type: ignore[return-value]

    def loglikelihood_rolling(self, requests: Sequence[RollingRequest]) -> list[RollingResult]:
        return self.call("loglikelihood_rolling", requests)  # type: ignore[return-value]

    def generate(self, requests: Sequence[GenerateRequest]) -> list[GenerateResult]:
        return self.call("generate", requests)  # type: ignore[return-value]

    def close(self) -> None:
        ray = _ray()
        if ray.is_initialized():
            for a in self.actors:
                ray.kill(a)
        self.actors = []


class RayLoader:
    """``ray:SPEC?workers=N[&address=A&gpus=G&cpus=C&threads=T]``."""

    def fingerprint(self, spec: ModelSpec) -> str:
        inner, own = _split(spec)
        _int(own, "workers", 2, spec), _int(own, "threads", None, spec), _float(own, "gpus", spec)
        return BACKENDS.get(inner.scheme).fingerprint(inner)  # the cache ignores the worker count

    def load(self, spec: ModelSpec) -> Backend:
        inner, own = _split(spec)
        BACKENDS.get(inner.scheme).fingerprint(inner)  # a bad inner spec fails here, not in a worker
        workers = _int(own, "workers", 2, spec)
        threads = _int(own, "threads", None, spec)
        assert workers is not None
        return RayBackend(
            inner,
            workers,
            address=own.get("address"),
            gpus=_float(own, "gpus", spec),
            cpus=_float(own, "cpus", spec),
            threads=threads,
        )


BACKENDS.add("ray", RayLoader())
