"""Progress display as an interface: rich bars for people, nothing for tests and pipes."""

from __future__ import annotations

import sys
import time
from contextlib import AbstractContextManager
from typing import Any, Protocol

__all__ = ["NullProgress", "PlainProgress", "Progress", "RichProgress", "make_progress"]


class Progress(Protocol):
    """Receives progress of long work; ``task`` returns a handle passed back to ``advance``."""

    def task(self, description: str, total: int) -> Any: ...

    def advance(self, handle: Any, n: int = 1) -> None: ...

    def __enter__(self) -> Progress: ...

    def __exit__(self, *exc: object) -> None: ...


class NullProgress:
    """Shows nothing."""

    def task(self, description: str, total: int) -> Any:
        return None

    def advance(self, handle: Any, n: int = 1) -> None:
        pass

    def __enter__(self) -> NullProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class RichProgress:
    """A rich progress bar per task: items done, rate, time left."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._p = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[cyan]{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            transient=False,
        )
        self._cm: AbstractContextManager[Any] = self._p

    def task(self, description: str, total: int) -> Any:
        from rich.markup import escape  # the column renders the description as markup

        return self._p.add_task(escape(description), total=total, rate="")

    def advance(self, handle: Any, n: int = 1) -> None:
        self._p.advance(handle, n)
        task = self._p.tasks[handle]
        if task.speed:
            self._p.update(handle, rate=f"{task.speed:.1f} req/s")

    def __enter__(self) -> RichProgress:
        self._cm.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._cm.__exit__(None, None, None)


class PlainProgress:
    """One line per tenth of each task on stderr: for logs and CI, where bars cannot redraw."""

    def __init__(self) -> None:
        self._tasks: list[list[Any]] = []  # [description, total, done, start time, last tenth]

    def task(self, description: str, total: int) -> Any:
        self._tasks.append([description, total, 0, time.monotonic(), -1])
        return len(self._tasks) - 1

    def advance(self, handle: Any, n: int = 1) -> None:
        t = self._tasks[handle]
        t[2] += n
        tenth = (10 * t[2]) // max(1, t[1])
        if tenth != t[4]:
            t[4] = tenth
            elapsed = time.monotonic() - t[3]
            rate = t[2] / elapsed if elapsed > 0 else 0.0
            eta = (t[1] - t[2]) / rate if rate else 0.0
            print(f"{t[0]}: {t[2]}/{t[1]} ({rate:.1f}/s, eta {eta:.0f} s)", file=sys.stderr, flush=True)

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def make_progress(kind: str) -> Progress:
    """``rich`` (bars, on a terminal), ``plain`` (lines, for logs) or ``none``."""
    if kind == "rich":
        return RichProgress()
    return PlainProgress() if kind == "plain" else NullProgress()
