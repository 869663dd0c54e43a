"""The terminal report of ``tunegate run`` (``tunegate.run/v1``): one model's scores with their CIs."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tunegate._display import printable
from tunegate.report._format import ci_label, points
from tunegate.runner import RunResult

__all__ = ["print_run"]


def print_run(result: RunResult, console: Console | None = None) -> None:
    """One row per task and metric: n, the score and its interval, in points (0–1 metrics ×100; a
    metric already on a 0–100 scale, BLEU or chrF, as it is)."""
    console = console or Console(emoji=False)
    ci = ci_label(result.tasks[0].alpha if result.tasks else 0.05)
    title = f"{result.model['spec']} on suite {result.suite!r} (scores in points, 0–1 metrics ×100; {ci})"
    table = Table(title=Text(printable(title)))
    for col in ("task", "metric", "n", "score", ci):
        table.add_column(col)
    for row in result.tasks:
        table.add_row(
            Text(printable(row.task)),
            Text(printable(row.metric)),
            str(row.n),
            f"{points(row.mean, row.metric):.1f}",
            Text(printable(f"[{points(row.ci_low, row.metric):.1f}, {points(row.ci_high, row.metric):.1f}]")),
        )
    console.print(table)
