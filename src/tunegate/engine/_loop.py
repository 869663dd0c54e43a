"""One event loop for every model call of the process, in a daemon thread.

Async backends (HTTP clients) are bound to the loop they were first used on, so all engine work runs
on this one loop, whoever asks. :func:`run_sync` is the door for synchronous callers: it waits for a
coroutine and, on Ctrl-C, cancels it (in-flight requests are dropped; what finished is already
stored) and re-raises ``KeyboardInterrupt`` at once. :func:`in_worker` runs a blocking backend call in
a daemon thread, so an interrupted local computation never holds the process open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["engine_loop", "exit_process", "in_worker", "on_engine_loop", "run_sync"]

T = TypeVar("T")

_LOOP: asyncio.AbstractEventLoop | None = None
_LOCK = threading.Lock()
_BUSY: set[threading.Thread] = set()  # worker threads still inside a backend call
#: how long an interrupted caller waits for cancelled work to wind down (a store write to finish)
CANCEL_GRACE_S = 0.5


def engine_loop() -> asyncio.AbstractEventLoop:
    """The engine's event loop (started on first use)."""
    global _LOOP
    with _LOCK:
        if _LOOP is None or _LOOP.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=_serve, args=(loop,), name="tunegate-engine", daemon=True).start()
            _LOOP = loop
        return _LOOP


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    """Run ``loop`` until it is stopped. A ``KeyboardInterrupt`` or ``SystemExit`` raised inside a
    task (a progress display, a backend) escapes ``run_forever`` although the task already holds it;
    the loop keeps serving so the waiting caller receives it, instead of every caller hanging."""
    while not loop.is_closed():
        try:
            loop.run_forever()
            return
        except (KeyboardInterrupt, SystemExit):
            continue


def on_engine_loop() -> bool:
    try:
        return asyncio.get_running_loop() is _LOOP
    except RuntimeError:
        return False


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the engine loop and wait for it; Ctrl-C cancels it and re-raises."""
    if on_engine_loop():
        coro.close()
        raise RuntimeError("run_sync was called from the engine loop; await the coroutine instead")
    fut = asyncio.run_coroutine_threadsafe(coro, engine_loop())
    try:
        return fut.result()
    except KeyboardInterrupt:
        fut.cancel()
        # cancelled, failed or still winding down: we are leaving either way
        with contextlib.suppress(BaseException):
            fut.result(timeout=CANCEL_GRACE_S)
        raise


async def in_worker(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a new daemon thread, awaited without blocking the loop."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[T] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if fut.done():
            return
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)

    def work() -> None:
        me = threading.current_thread()
        _BUSY.add(me)
        try:
            value = fn(*args)
        except BaseException as e:  # handed to the awaiting coroutine
            outcome: tuple[bool, Any] = (False, e)
        else:
            outcome = (True, value)
        finally:
            _BUSY.discard(me)
        with contextlib.suppress(RuntimeError):  # the loop is gone (the process is exiting)
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=work, name="tunegate-backend", daemon=True).start()
    return await fut


def exit_process(code: int) -> None:
    """Exit with ``code``. With a backend call still running in a worker (Ctrl-C during a local
    forward pass) the interpreter's normal shutdown would wait on, or abort in, native threads
    (torch's), so the process leaves at once: output flushed, finished results already stored."""
    if not any(t.is_alive() for t in _BUSY):
        sys.exit(code)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
