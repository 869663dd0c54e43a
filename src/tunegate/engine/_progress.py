"""Progress display as an interface: rich bars for people, plain lines for logs, nothing for tests.

The engine calls ``advance`` once per finished sub-batch (with the tokens it generated, so generation
shows tokens/s) and ``note`` for one-off lines such as what model is being loaded.
"""

from __future__ import annotations

import sys
import time
from contextlib import AbstractContextManager
from typing import Any, Protocol

__all__ = ["NullProgress", "PlainProgress", "Progress", "RichProgress", "make_progress"]


class Progress(Protocol):
    """Receives progress of long work; ``task`` returns a handle passed back to ``advance``."""

    def task(self, description: str, total: int) -> Any: ...

    def advance(self, handle: Any, n: int = 1, tokens: int = 0) -> None: ...

    def note(self, text: str) -> None: ...

    def __enter__(self) -> Progress: ...

    def __exit__(self, *exc: object) -> None: ...


class NullProgress:
    """Shows nothing."""

    def task(self, description: str, total: int) -> Any:
        return None

    def advance(self, handle: Any, n: int = 1, tokens: int = 0) -> None:
        pass

    def note(self, text: str) -> None:
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

        self._tokens: dict[Any, tuple[int, float]] = {}

    def task(self, description: str, total: int) -> Any:
        from rich.markup import escape  # the column renders the description as markup

        handle = self._p.add_task(escape(description), total=total, rate="")
        self._tokens[handle] = (0, time.monotonic())
        return handle

    def advance(self, handle: Any, n: int = 1, tokens: int = 0) -> None:
        self._p.advance(handle, n)
        task = self._p.tasks[handle]
        rate = f"{task.speed:.1f} req/s" if task.speed else ""
        if tokens:
            total, start = self._tokens[handle]
            total += tokens
            self._tokens[handle] = (total, start)
            rate += f", {total / max(time.monotonic() - start, 1e-9):.1f} tok/s"
        if rate:
            self._p.update(handle, rate=rate)

    def note(self, text: str) -> None:
        self._p.console.print(text, highlight=False)

    def __enter__(self) -> RichProgress:
        self._cm.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._cm.__exit__(None, None, None)


class PlainProgress:
    """Lines on stderr for logs and CI, where bars cannot redraw: one per tenth of each task, and one
    per sub-batch whenever :attr:`every_s` seconds passed without a line (so a slow generation task
    is never silent)."""

    every_s = 10.0

    def __init__(self) -> None:
        # [description, total, done, start time, last tenth, tokens, time of the last line]
        self._tasks: list[list[Any]] = []

    def task(self, description: str, total: int) -> Any:
        now = time.monotonic()
        self._tasks.append([description, total, 0, now, -1, 0, now])
        return len(self._tasks) - 1

    def advance(self, handle: Any, n: int = 1, tokens: int = 0) -> None:
        t = self._tasks[handle]
        t[2] += n
        t[5] += tokens
        now = time.monotonic()
        tenth = (10 * t[2]) // max(1, t[1])
        if tenth != t[4] or now - t[6] >= self.every_s:
            t[4], t[6] = tenth, now
            elapsed = now - t[3]
            rate = t[2] / elapsed if elapsed > 0 else 0.0
            eta = (t[1] - t[2]) / rate if rate else 0.0
            tok = f", {t[5] / elapsed:.1f} tok/s" if t[5] and elapsed > 0 else ""
            print(f"{t[0]}: {t[2]}/{t[1]} ({rate:.1f}/s{tok}, eta {eta:.0f} s)", file=sys.stderr, flush=True)

    def note(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def make_progress(kind: str) -> Progress:
    """``rich`` (bars, on a terminal), ``plain`` (lines, for logs) or ``none``."""
    if kind == "rich":
        return RichProgress()
    return PlainProgress() if kind == "plain" else NullProgress()
