"""Progress display as an interface: rich bars for people, nothing for tests and pipes."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

__all__ = ["NullProgress", "Progress", "RichProgress", "make_progress"]


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
        return self._p.add_task(description, total=total, rate="")

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


def make_progress(kind: str) -> Progress:
    """``rich`` (default on a terminal), or ``none``."""
    return RichProgress() if kind == "rich" else NullProgress()
