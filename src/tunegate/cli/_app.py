"""The typer application and the error boundary shared by every command.

Exit codes: 0 pass, 1 a gate failed, 2 usage or configuration error, 3 inconclusive, 130 Ctrl-C.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from tunegate._display import mask_secrets, printable
from tunegate._settings import check_environment, env_choice
from tunegate.errors import TunegateError

__all__ = ["app", "console", "err_console", "error_line", "guarded", "progress_for", "user_text"]

app = typer.Typer(
    name="tunegate",
    help="Did this fine-tune do what we wanted, without breaking anything? Paired base-vs-tuned evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# emoji=False: a ``:name:`` in a suite or model name is shown as typed. User strings go into a
# ``rich.text.Text`` (``user_text``), never into markup, so ``[/]`` or ``[red]`` in them is shown too.
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)

F = TypeVar("F", bound=Callable[..., Any])


def user_text(value: object, style: str = "") -> Text:
    """A user-controlled string as rich ``Text``: no markup, control characters made visible."""
    return Text(printable(value), style=style)


def error_line(message: object) -> Text:
    """``error: MESSAGE`` on one line, with URL passwords masked and nothing read as markup."""
    flat = " ".join(mask_secrets(str(message)).splitlines())
    return Text.assemble(("error:", "bold red"), " ", printable(flat))


def guarded(fn: F) -> F:
    """Turn user errors into one line and exit 2; Ctrl-C into exit 130."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            check_environment()
            logging.basicConfig(
                level=env_choice("TUNEGATE_LOG", "WARNING"), format="%(levelname)s %(message)s"
            )
            return fn(*args, **kwargs)
        except TunegateError as e:
            err_console.print(error_line(e), highlight=False, soft_wrap=True)
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt:
            err_console.print(
                "interrupted: finished results are stored; run the same command again to resume"
            )
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def progress_for(quiet: bool) -> Any:
    """Rich progress bars on a terminal, plain lines in a log, nothing when quiet."""
    from tunegate.engine import make_progress

    return make_progress("none" if quiet else "rich" if err_console.is_terminal else "plain")
