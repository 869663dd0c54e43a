"""The Markdown summary: short, verdict first, for a pull-request comment."""

from __future__ import annotations

from tunegate.report._format import fmt_ci, fmt_delta, fmt_p, fmt_score
from tunegate.runner import ComparisonResult

__all__ = ["render_markdown"]

_ICON = {"PASS": "✅", "FAIL": "❌", "INCONCLUSIVE": "⚠️"}


def render_markdown(result: ComparisonResult) -> str:
    """A Markdown summary of a comparison."""
    lines = [
        f"## {_ICON[result.verdict]} tunegate: **{result.verdict}** — suite `{result.suite}`",
        "",
        f"base `{result.base['spec']}` → tuned `{result.tuned['spec']}` (run `{result.run_id}`)",
        "",
    ]
    for w in result.warnings:
        lines += [f"> **Warning:** {w}", ""]
    bad = [g for g in result.gates if g.outcome != "pass"]
    if bad:
        lines += [
            f"- **{g.outcome}** `{g.task}/{g.metric}` ({g.kind} {g.threshold:g}): {g.reason}" for g in bad
        ]
        lines.append("")
    lines += [
        "| task | metric | n | base | tuned | Δ | 95% CI | p |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for tc in result.tasks:
        for m in tc.metrics:
            name = f"**{m.metric}**" if m.metric == tc.primary else m.metric
            lines.append(
                f"| {tc.task} | {name} | {m.n} | {fmt_score(m.base)} | {fmt_score(m.tuned)} | "
                f"{fmt_delta(m.delta)} | {fmt_ci(m.ci_low, m.ci_high)} | {fmt_p(m.p_value)} |"
            )
    lines.append("")
    ok = sum(g.outcome == "pass" for g in result.gates)
    lines.append(
        f"{ok}/{len(result.gates)} gates passed. Scores ×100; Δ = tuned − base, paired bootstrap CI."
    )
    return "\n".join(lines) + "\n"
