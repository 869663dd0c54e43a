"""One run lifecycle for every controller: ``with store.run(kind, ...) as run:``.

Entering inserts a ``running`` row with this process's pid and host and starts a heartbeat (a daemon
thread that stamps ``heartbeat_at`` every :data:`HEARTBEAT_S` seconds). Leaving records the outcome:

* the block finished               -> ``completed`` (with the result set by ``run.finish(result)``)
* Ctrl-C (KeyboardInterrupt) or a cancelled task (asyncio.CancelledError) -> ``interrupted``
* any other exception              -> ``failed``

A process killed outright (``kill -9``, OOM killer, power loss) cannot record anything, so its row
stays ``running``. Such rows are found when runs are read (``Store.get_run``/``list_runs``): a run is
*stale* when its host is this host and its pid is gone (or a zombie), or -- on any host -- when its
heartbeat is older than :data:`STALE_AFTER_S` (which also covers a reused pid and runs on other
machines). A stale run is shown as ``interrupted`` and, where the store is writable, saved so.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tunegate.store._records import ItemRow, RunStatus

if TYPE_CHECKING:
    from tunegate.store._store import Store

__all__ = ["HEARTBEAT_S", "STALE_AFTER_S", "RunHandle", "is_stale", "this_host"]

#: seconds between two heartbeats of a live run
HEARTBEAT_S = 30.0
#: a run whose heartbeat is older than this is considered dead (ten missed heartbeats)
STALE_AFTER_S = 300.0


def this_host() -> str:
    return socket.gethostname()[:255]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    try:  # a killed child its parent has not reaped yet is a zombie: dead for our purposes
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)  # SQLite hands back naive UTC datetimes


def is_stale(
    *,
    pid: int | None,
    host: str | None,
    heartbeat_at: dt.datetime | None,
    started_at: dt.datetime,
    now: dt.datetime,
) -> bool:
    """Whether a ``running`` row belongs to a process that is gone (see the module docstring)."""
    if pid is not None and host == this_host() and not _pid_alive(pid):
        return True
    last = _aware(heartbeat_at or started_at)
    return (now - last).total_seconds() > STALE_AFTER_S


class _Heartbeat(threading.Thread):
    def __init__(self, beat: Callable[[], None], every: float) -> None:
        super().__init__(name="tunegate-heartbeat", daemon=True)
        self._beat, self._every = beat, every
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self._every):
            try:
                self._beat()
            except Exception:  # a missed heartbeat is harmless; the run itself reports store errors
                continue


class RunHandle:
    """A run in progress: its id, and what is recorded when the ``with`` block ends."""

    def __init__(self, store: Store, run_id: str) -> None:
        self.store = store
        self.id = run_id
        self.result: Mapping[str, Any] | None = None
        #: returns (computed, cached) request counts; read when the run ends, whatever its outcome
        self.counts: Callable[[], tuple[int, int]] = lambda: (0, 0)
        self._heartbeat = _Heartbeat(lambda: store._beat(run_id), HEARTBEAT_S)

    def put_items(self, rows: Iterable[ItemRow]) -> None:
        """Store per-item scores and texts of this run."""
        self.store.put_items(self.id, rows)

    def finish(self, result: Mapping[str, Any] | None) -> None:
        """Set the result stored with the run when the block completes."""
        self.result = result

    def __enter__(self) -> RunHandle:
        self._heartbeat.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._heartbeat.stop.set()
        status: RunStatus
        if kind is None:
            status = "completed"
        elif issubclass(kind, KeyboardInterrupt | asyncio.CancelledError):
            status = "interrupted"
        else:
            status = "failed"
        try:
            computed, cached = self.counts()
        except Exception:
            computed, cached = 0, 0
        self.store.finish_run(
            self.id,
            status=status,
            result=self.result if status == "completed" else None,
            n_computed=computed,
            n_cached=cached,
        )
