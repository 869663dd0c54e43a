"""The Markdown summary: short, verdict first, for a pull-request comment.

Layout: the verdict heading (the only heading), the models, warnings, the gates that need attention
(each with its next step), the passing gates in one line each with the effect they could detect, the
table (with a gate column) and a link to the HTML report. Every interpolated string is escaped with
:func:`md_text`, so a suite name, task label, model spec or gate reason cannot add a heading, a table
row, a link or raw HTML: CommonMark lets any ASCII punctuation be backslash-escaped, and line breaks
become spaces (a table cell and a heading are one line each).
"""

from __future__ import annotations

import re
from urllib.parse import quote

from tunegate.report._format import ci_label, fmt_ci, fmt_delta, fmt_p, fmt_score
from tunegate.report._gates import GateView, gate_views
from tunegate.runner import ComparisonResult

__all__ = ["md_text", "render_markdown"]

_ICON = {"PASS": "✅", "FAIL": "❌", "INCONCLUSIVE": "⚠️"}
_GATE_ICON = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️"}
_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
_BREAKS = re.compile(r"[\r\n\v\f\x85\u2028\u2029]+")


def md_text(value: object) -> str:
    """``value`` as literal inline Markdown text: punctuation escaped, on one line."""
    text = _BREAKS.sub(" ", str(value)).replace("\x00", "\ufffd")
    return _PUNCT.sub(r"\\\1", text)


def _code(fixed: str) -> str:
    """A code span around text built by tunegate (numbers and fixed words, never user input)."""
    return f"`{fixed}`"


def _gate_name(v: GateView) -> str:
    return f"{md_text(v.gate.task)}/{md_text(v.gate.metric)} {_code(v.bound)}"


def _attention(v: GateView) -> list[str]:
    g = v.gate
    line = f"- {_GATE_ICON[g.outcome]} **{g.outcome}** {_gate_name(v)}: {v.estimate}; {v.outcome_text}."
    step = v.next_step
    if step is not None:
        line += f" **Next step** for {md_text(g.task)}: {step}."
    return [line, f"  - statistics (in the metric's own units): {md_text(g.reason)}"]


def _passed(v: GateView) -> str:
    extra = f"; {v.detectable}" if v.detectable else ""
    return f"- {_GATE_ICON['pass']} {_gate_name(v)}: {v.estimate}{extra}"


def _reference_lines(result: ComparisonResult) -> list[str]:
    """The tuned-vs-reference table (report only), or nothing without a reference."""
    if result.reference is None:
        return []
    label = md_text(result.reference.get("label") or result.reference.get("spec"))
    lines = [
        f"**Against the reference** {label} (Δ = tuned − reference, paired; report only, no gate)",
        "",
        f"| task | metric | n | reference | tuned | Δ | {ci_label(result.alpha)} | p |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for tc in result.tasks:
        ref = tc.reference
        if ref is None:
            continue
        if not ref.metrics:
            lines.append(f"| {md_text(tc.task)} | no reference: {md_text(ref.skipped or '')} | | | | | | |")
            continue
        for m in ref.metrics:
            name = f"**{md_text(m.metric)}**" if m.metric == tc.primary else md_text(m.metric)
            lines.append(
                f"| {md_text(tc.task)} | {name} | {m.n} | {fmt_score(m.base, m.metric)} | "
                f"{fmt_score(m.tuned, m.metric)} | {fmt_delta(m.delta, m.metric)} | "
                f"{fmt_ci(m.ci_low, m.ci_high, m.metric)} | {fmt_p(m.p_value)} |"
            )
    return [*lines, ""]


def render_markdown(result: ComparisonResult, *, html_link: str | None = None) -> str:
    """A Markdown summary of a comparison. ``html_link``: where the HTML report is, relative to this file."""
    views = gate_views(result)
    lines = [
        f"## {_ICON[result.verdict]} tunegate: **{result.verdict}** — suite {md_text(result.suite)}",
        "",
        f"base {md_text(result.base.get('spec', ''))} → tuned {md_text(result.tuned.get('spec', ''))} "
        f"(run {md_text(result.run_id)})",
        "",
    ]
    for w in result.warnings:
        lines += [f"> **Warning:** {md_text(w)}", ""]
    bad = [v for v in views if v.gate.outcome != "pass"]
    good = [v for v in views if v.gate.outcome == "pass"]
    if bad:
        lines += ["**Needs attention**", ""]
        for v in bad:
            lines += _attention(v)
        lines.append("")
    if good:
        lines += [f"**Passed** ({len(good)})", ""]
        lines += [_passed(v) for v in good]
        lines.append("")
    if not views:
        lines += ["No gates in this suite: nothing was decided.", ""]
    by_metric: dict[tuple[str, str], list[GateView]] = {}
    for v in views:
        by_metric.setdefault((v.gate.task, v.gate.metric), []).append(v)
    lines += [
        f"| task | metric | gate | n | base | tuned | Δ | {ci_label(result.alpha)} | p |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for tc in result.tasks:
        for m in tc.metrics:
            name = f"**{md_text(m.metric)}**" if m.metric == tc.primary else md_text(m.metric)
            gates = " ".join(
                f"{_GATE_ICON[v.gate.outcome]} {_code(v.bound)}"
                for v in by_metric.get((tc.task, m.metric), [])
            )
            lines.append(
                f"| {md_text(tc.task)} | {name} | {gates or '–'} | {m.n} | {fmt_score(m.base, m.metric)} | "
                f"{fmt_score(m.tuned, m.metric)} | {fmt_delta(m.delta, m.metric)} | "
                f"{fmt_ci(m.ci_low, m.ci_high, m.metric)} | {fmt_p(m.p_value)} |"
            )
    lines.append("")
    lines += _reference_lines(result)
    ok = len(good)
    lines.append(
        f"{ok}/{len(views)} gates passed. Scores in points (0–100; 0–1 metrics ×100); "
        "Δ = tuned − base with its paired bootstrap CI; bold: the primary metric."
    )
    if html_link:
        lines += ["", f"[Full HTML report]({quote(html_link, safe='/')}): scorecard, charts, flipped items."]
    return "\n".join(lines) + "\n"
