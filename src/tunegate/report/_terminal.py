"""The terminal report: a rich table per comparison, verdict first.

Every user-controlled string (suite, model specs, task labels, gate reasons, warnings) goes into a
``rich.text.Text``, never into markup: a ``[/]`` or ``[red]`` in a name is shown as typed.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tunegate._display import printable
from tunegate.report._format import fmt_ci, fmt_delta, fmt_p, fmt_score
from tunegate.runner import ComparisonResult

__all__ = ["print_comparison"]

_STYLE = {"PASS": "bold green", "FAIL": "bold red", "INCONCLUSIVE": "bold yellow"}


def _t(value: object) -> Text:
    return Text(printable(value))


def print_comparison(result: ComparisonResult, console: Console | None = None) -> None:
    """Print the verdict, the per-task table and the gates."""
    console = console or Console(emoji=False)
    for w in result.warnings:
        console.print(Text.assemble(("WARNING", "bold yellow"), ": ", printable(w)))
    console.print(
        Text.assemble(
            (result.verdict, _STYLE.get(result.verdict, "bold")),
            f"  suite {printable(repr(result.suite))}, run {printable(result.run_id)}",
        )
    )
    console.print(_t(f"  base:  {result.base['spec']}\n  tuned: {result.tuned['spec']}"))
    table = Table(title="paired comparison (scores ×100; delta = tuned − base, 95% CI by paired bootstrap)")
    for col in ("task", "metric", "n", "base", "tuned", "delta", "95% CI", "p"):
        table.add_column(col, justify="left" if col in ("task", "metric") else "right")
    for tc in result.tasks:
        for m in tc.metrics:
            table.add_row(
                _t(tc.task),
                _t(m.metric + (" *" if m.metric == tc.primary else "")),
                str(m.n),
                fmt_score(m.base),
                fmt_score(m.tuned),
                fmt_delta(m.delta),
                _t(fmt_ci(m.ci_low, m.ci_high)),
                fmt_p(m.p_value),
            )
    console.print(table)
    console.print("  * primary metric; p: exact McNemar for right/wrong metrics, paired sign-flip otherwise")
    for g in result.gates:
        style = {"pass": "green", "fail": "red", "inconclusive": "yellow"}.get(g.outcome, "")
        console.print(
            Text.assemble(
                "  ",
                (f"{g.outcome.upper():>12}", style),
                printable(f" {g.task}/{g.metric} {g.kind}={g.threshold:g}: {g.reason}"),
            )
        )
    eng = result.engine
    if eng:
        parts = [f"{role}: {s['computed']} computed, {s['cached']} from cache" for role, s in eng.items()]
        console.print(_t("  requests — " + "; ".join(parts)))
