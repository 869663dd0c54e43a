"""The terminal report: a rich table per comparison, verdict first."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from tunegate.report._format import fmt_ci, fmt_delta, fmt_p, fmt_score
from tunegate.runner import ComparisonResult

__all__ = ["print_comparison"]

_STYLE = {"PASS": "bold green", "FAIL": "bold red", "INCONCLUSIVE": "bold yellow"}


def print_comparison(result: ComparisonResult, console: Console | None = None) -> None:
    """Print the verdict, the per-task table and the gates."""
    console = console or Console()
    for w in result.warnings:
        console.print(f"[bold yellow]WARNING[/]: {w}")
    console.print(
        f"[{_STYLE[result.verdict]}]{result.verdict}[/]  suite {result.suite!r}, run {result.run_id}"
    )
    console.print(f"  base:  {result.base['spec']}\n  tuned: {result.tuned['spec']}")
    table = Table(title="paired comparison (scores ×100; delta = tuned − base, 95% CI by paired bootstrap)")
    for col in ("task", "metric", "n", "base", "tuned", "delta", "95% CI", "p"):
        table.add_column(col, justify="left" if col in ("task", "metric") else "right")
    for tc in result.tasks:
        for m in tc.metrics:
            table.add_row(
                tc.task,
                m.metric + (" *" if m.metric == tc.primary else ""),
                str(m.n),
                fmt_score(m.base),
                fmt_score(m.tuned),
                fmt_delta(m.delta),
                fmt_ci(m.ci_low, m.ci_high),
                fmt_p(m.p_value),
            )
    console.print(table)
    console.print("  * primary metric; p: exact McNemar for right/wrong metrics, paired sign-flip otherwise")
    for g in result.gates:
        style = {"pass": "green", "fail": "red", "inconclusive": "yellow"}[g.outcome]
        console.print(
            f"  [{style}]{g.outcome.upper():>12}[/] {g.task}/{g.metric} {g.kind}={g.threshold:g}: {g.reason}"
        )
    eng = result.engine
    if eng:
        parts = [f"{role}: {s['computed']} computed, {s['cached']} from cache" for role, s in eng.items()]
        console.print("  requests — " + "; ".join(parts))
