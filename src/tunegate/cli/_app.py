"""The typer application and the error boundary shared by every command.

Exit codes: 0 pass, 1 a gate failed, 2 usage or configuration error, 3 inconclusive, 130 Ctrl-C.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer
from rich.console import Console

from tunegate.errors import TunegateError

__all__ = ["app", "console", "err_console", "guarded", "progress_for"]

app = typer.Typer(
    name="tunegate",
    help="Did this fine-tune do what we wanted, without breaking anything? Paired base-vs-tuned evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def guarded(fn: F) -> F:
    """Turn user errors into one line and exit 2; Ctrl-C into exit 130."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        logging.basicConfig(
            level=os.environ.get("TUNEGATE_LOG", "WARNING"), format="%(levelname)s %(message)s"
        )
        try:
            return fn(*args, **kwargs)
        except TunegateError as e:
            err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt:
            err_console.print(
                "interrupted: finished results are stored; run the same command again to resume"
            )
            from tunegate.engine._loop import exit_process

            exit_process(130)  # at once, even with a backend call still running in a worker

    return wrapper  # type: ignore[return-value]


def progress_for(quiet: bool) -> Any:
    """Rich progress bars on a terminal, plain lines in a log, nothing when quiet."""
    from tunegate.engine import make_progress

    return make_progress("none" if quiet else "rich" if err_console.is_terminal else "plain")
