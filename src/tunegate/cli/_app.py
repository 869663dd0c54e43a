"""The typer application and the error boundary shared by every command.

Exit codes: 0 pass, 1 a gate failed, 2 usage or configuration error, 3 inconclusive, 130 Ctrl-C.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from tunegate._display import mask_secrets, printable
from tunegate._settings import check_environment, env_choice
from tunegate.errors import TunegateError

__all__ = ["app", "console", "err_console", "error_line", "guarded", "progress_for", "top_help", "user_text"]

_SUMMARY = "Did this fine-tune do what we wanted, without breaking anything? Paired base-vs-tuned evaluation."

_EXAMPLES = """\
[bold]Examples[/]

  tunegate compare --base builtin:gemma-3-270m \\
      --tuned 'builtin:gemma-3-270m?adapter=DIR' --suite demo \\
      --json result.json --markdown summary.md --html report.html
  tunegate validate examples/compare.yaml
  tunegate run --model hf:/path/to/model --suite demo
  tunegate history
  tunegate diff RUN_A RUN_B
  tunegate regress examples/regression.yaml --model MODEL --baseline last"""

_EXIT_CODES = """\
[bold]Exit codes[/]

    0  every gate passed
    1  a gate failed
    2  usage, configuration or input error
    3  inconclusive: too few items to decide a gate
    4  internal error (a bug in tunegate; the traceback is printed)
  130  interrupted (run the same command again to resume)"""


def top_help() -> str:
    """The top-level help: what tunegate does, built-in tasks and suites, exit codes and examples.

    Built lazily (only when help is shown): listing the tasks imports every task module.
    """
    from tunegate.suite import builtin_suites
    from tunegate.tasks import TASKS

    tasks = ", ".join(TASKS.names())
    suites = ", ".join(builtin_suites()) or "(none)"
    return (
        f"{_SUMMARY}\n\n[bold]Built-in tasks[/]: {tasks}\n\n[bold]Built-in suites[/]: {suites} "
        "(or a suite YAML file; see examples/)\n\n"
        f"{_EXIT_CODES}\n\n{_EXAMPLES}"
    )


class _Group(TyperGroup):
    """The command group, whose help text lists the registries' current contents."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self.help = top_help()
        super().format_help(ctx, formatter)


app = typer.Typer(
    name="tunegate",
    cls=_Group,
    help=_SUMMARY,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
# emoji=False: a ``:name:`` in a suite or model name is shown as typed. User strings go into a
# ``rich.text.Text`` (``user_text``), never into markup, so ``[/]`` or ``[red]`` in them is shown too.
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("tunegate")
        except PackageNotFoundError:  # run from a source tree that was never installed
            v = "unknown (not installed)"
        typer.echo(f"tunegate {v}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", help="print the version and exit", callback=_version, is_eager=True
    ),
) -> None:
    """Did this fine-tune do what we wanted, without breaking anything?"""


F = TypeVar("F", bound=Callable[..., Any])


def user_text(value: object, style: str = "") -> Text:
    """A user-controlled string as rich ``Text``: no markup, control characters made visible."""
    return Text(printable(value), style=style)


def error_line(message: object) -> Text:
    """``error: MESSAGE`` on one line, with URL passwords masked and nothing read as markup."""
    flat = " ".join(mask_secrets(str(message)).splitlines())
    return Text.assemble(("error:", "bold red"), " ", printable(flat))


#: exit code of an unexpected exception (a bug): distinct from 1, which means "a gate failed"
EXIT_INTERNAL = 4


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
            from tunegate.engine._loop import exit_process

            exit_process(130)  # at once, even with a backend call still running in a worker
        except Exception as e:  # a bug, not a verdict: never exit 1 ("a gate failed")
            if type(e).__module__.startswith(("typer", "click")):
                raise  # typer's own exits and usage errors
            import traceback

            traceback.print_exc()
            err_console.print(f"internal error (a bug in tunegate, please report it): exit {EXIT_INTERNAL}")
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper  # type: ignore[return-value]


def progress_for(quiet: bool) -> Any:
    """Rich progress bars on a terminal, plain lines in a log, nothing when quiet."""
    from tunegate.engine import make_progress

    return make_progress("none" if quiet else "rich" if err_console.is_terminal else "plain")
