"""The terminal report: a rich table per comparison, verdict first.

Outside a terminal (a CI log, a pipe) the table is printed at its natural width instead of being
wrapped at rich's default of 80 columns, and number columns never wrap, so no number is split.
Every user-controlled string (suite, model specs, task labels, gate reasons, warnings) goes into a
``rich.text.Text``, never into markup: a ``[/]`` or ``[red]`` in a name is shown as typed.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape as _escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from tunegate._display import printable
from tunegate.report._format import ci_label, fmt_ci, fmt_delta, fmt_p, fmt_score
from tunegate.report._gates import gate_views
from tunegate.runner import ComparisonResult

__all__ = ["print_comparison"]

_STYLE = {"PASS": "bold green", "FAIL": "bold red", "INCONCLUSIVE": "bold yellow"}


def escape(value: object) -> str:
    """A user string for markup: ``[...]`` shown as typed, control characters made visible."""
    return _escape(printable(value))


def _print_table(console: Console, table: Table) -> None:
    if console.is_terminal:
        console.print(table)
        return
    natural = Measurement.get(console, console.options.update(width=10_000), table).maximum
    width = console.width
    console.width = max(width, natural)
    try:
        console.print(table)
    finally:
        console.width = width


def print_comparison(result: ComparisonResult, console: Console | None = None) -> None:
    """Print the warnings, the verdict, the per-task table and the gates (numbers in points)."""
    console = console or Console(emoji=False)
    # User strings must not turn into emoji either (":thumbs_up:"), also on a caller's console;
    # rich has no per-string switch for table cells, so emoji codes are off while we print.
    emoji, console._emoji = console._emoji, False
    try:
        _print_comparison(result, console)
    finally:
        console._emoji = emoji


def _print_reference(result: ComparisonResult, console: Console, wrap: bool) -> None:
    """Tuned vs the suite's reference (report only), one row per metric; skipped tasks say why."""
    assert result.reference is not None
    label = str(result.reference.get("label") or result.reference.get("spec"))
    table = Table(  # a Text title: a "[red]" in a model spec is shown as typed, not read as markup
        title=Text(
            f"against the reference {printable(label)} (delta = tuned − reference, "
            f"{ci_label(result.alpha)}; report only, no gate)"
        )
    )
    for col in ("task", "metric", "n", "reference", "tuned", "delta", ci_label(result.alpha), "p"):
        left = col in ("task", "metric")
        table.add_column(col, justify="left" if left else "right", no_wrap=not left)
    for tc in result.tasks:
        ref = tc.reference
        if ref is None:
            continue
        if not ref.metrics:
            table.add_row(escape(tc.task), "no reference (see the warning)", "", "", "", "", "", "")
            continue
        for m in ref.metrics:
            table.add_row(*_metric_cells(tc.task, tc.primary, m))
    _print_table(console, table)
    for row in result.scorecard:
        if row.status == "ok" and row.vs_reference is not None:
            assert row.vs_reference_ci_low is not None and row.vs_reference_ci_high is not None
            assert row.tuned is not None and row.reference is not None
            name = row.metric.rsplit("/", 1)[-1] if row.metric and len(row.tasks) == 1 else None
            console.print(
                f"  {escape(row.label)}: tuned {fmt_score(row.tuned, name)} vs reference "
                f"{fmt_score(row.reference, name)}: {fmt_delta(row.vs_reference, name)} "
                f"{fmt_ci(row.vs_reference_ci_low, row.vs_reference_ci_high, name)}",
                soft_wrap=wrap,
                highlight=False,
            )


def _metric_cells(task: str, primary: str, m: Any) -> tuple[str, ...]:
    """One row of a paired table: task, metric (``*`` primary), n, base, tuned, delta, CI, p."""
    return (
        escape(task),
        escape(m.metric) + (" *" if m.metric == primary else ""),
        str(m.n),
        fmt_score(m.base, m.metric),
        fmt_score(m.tuned, m.metric),
        fmt_delta(m.delta, m.metric),
        fmt_ci(m.ci_low, m.ci_high, m.metric),
        fmt_p(m.p_value),
    )


def _print_comparison(result: ComparisonResult, console: Console) -> None:
    wrap = not console.is_terminal  # soft_wrap: long lines are not broken mid-number in a log
    for w in result.warnings:
        console.print(f"[bold yellow]WARNING[/]: {escape(w)}", soft_wrap=wrap)
    console.print(
        f"[{_STYLE[result.verdict]}]{result.verdict}[/]  suite {escape(repr(result.suite))}, "
        f"run {escape(result.run_id)}"
    )
    console.print(
        f"  base:  {escape(str(result.base['spec']))}\n  tuned: {escape(str(result.tuned['spec']))}",
        soft_wrap=wrap,
    )
    if result.reference is not None:
        console.print(f"  reference: {escape(str(result.reference.get('label')))}", soft_wrap=wrap)
    table = Table(
        title="paired comparison (scores in points, 0–1 metrics ×100; delta = tuned − base, "
        f"{ci_label(result.alpha)})"
    )
    for col in ("task", "metric", "n", "base", "tuned", "delta", ci_label(result.alpha), "p"):
        left = col in ("task", "metric")
        table.add_column(col, justify="left" if left else "right", no_wrap=not left)
    for tc in result.tasks:
        for m in tc.metrics:
            table.add_row(*_metric_cells(tc.task, tc.primary, m))
    _print_table(console, table)
    console.print(
        "  * primary metric; p: exact McNemar for right/wrong metrics, paired sign-flip otherwise",
        soft_wrap=wrap,
    )
    if result.reference is not None:
        _print_reference(result, console, wrap)
    for v in gate_views(result):
        g = v.gate
        style = {"pass": "green", "fail": "red", "inconclusive": "yellow"}[g.outcome]
        line = f"  [{style}]{g.outcome.upper():>12}[/] {escape(g.task)}/{escape(g.metric)} {v.bound}: "
        line += f"{escape(v.estimate)}; {v.outcome_text}"
        if v.detectable and g.outcome == "pass":
            line += f"; {v.detectable}"
        if v.next_step:
            line += f"\n{'':>15}next step: {escape(g.task)}: {v.next_step}"
        console.print(line, soft_wrap=wrap)
        console.print(f"{'':>15}[dim]statistics (metric units): {escape(g.reason)}[/]", soft_wrap=wrap)
    eng = result.engine
    if eng:
        parts = [f"{role}: {s['computed']} computed, {s['cached']} from cache" for role, s in eng.items()]
        console.print("  requests — " + "; ".join(parts), soft_wrap=wrap)
