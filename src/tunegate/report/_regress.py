"""The reports of ``tunegate regress`` (``tunegate.regress/v1``): a rich table, Markdown and JUnit XML.

Each renders the stored record, :class:`~tunegate.regression.RegressReport` (``result.report()`` of a
live run, or ``RegressReport.from_json`` of a ``--json`` file or a stored run), so a past run renders
exactly as it did when it ran.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tunegate._display import printable
from tunegate.regression._record import CaseReport, RegressReport

__all__ = ["print_regression", "regress_summary", "render_regress_markdown", "write_regress_junit"]

_STYLE = {"passed": "green", "flaky": "yellow", "failed": "bold red"}
_ICON = {"passed": "✅", "flaky": "⚠️", "failed": "❌"}
_CATEGORIES = ("newly failing", "fixed", "still failing", "passing", "new")


def regress_summary(r: RegressReport) -> str:
    """``N case(s): P passed, F flaky, X failed (pass rate R%)``."""
    s = r.summary
    return (
        f"{s.cases} case(s): {s.passed} passed, {s.flaky} flaky, {s.failed} failed "
        f"(pass rate {100 * s.pass_rate:.0f}%)"
    )


def _passed(c: CaseReport) -> str:
    """Repeats whose every assertion passed, out of the repeats."""
    return f"{sum(all(a.passed for a in rs) for rs in c.assertions)}/{len(c.assertions)}"


def _notes(c: CaseReport) -> str:
    return "; ".join(x for x in (c.reference_verdict, c.reason) if x)


def _baseline(r: RegressReport) -> bool:
    return r.baseline_run is not None


def print_regression(r: RegressReport, console: Console | None = None) -> None:
    """Print one row per case, the summary, and the notes."""
    console = console or Console(emoji=False)
    table = Table(title=Text(printable(f"regression suite {r.suite!r} on {r.model}")))
    table.add_column("case")
    table.add_column("status")
    table.add_column("passed", justify="right")
    if _baseline(r):
        table.add_column(Text(printable(f"vs {r.baseline_run}")))
    if r.reference is not None:
        table.add_column("reference")
    table.add_column("why", overflow="fold")
    for c in r.cases:
        row = [Text(printable(c.id)), Text(c.status, _STYLE[c.status]), Text(_passed(c))]
        if _baseline(r):
            row.append(Text(printable(c.baseline or "new")))
        if r.reference is not None:
            row.append(Text(c.reference or ""))
        row.append(Text(printable(_notes(c))))
        table.add_row(*row)
    console.print(table)
    console.print(regress_summary(r), highlight=False)
    for note in r.notes:
        console.print(Text.assemble(("note:", "yellow"), " ", printable(note)), highlight=False)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_regress_markdown(r: RegressReport) -> str:
    """A Markdown summary suitable for a pull-request comment."""
    verdict = "❌ failing cases" if r.summary.failed else "✅ all cases met their threshold"
    lines = [
        f"## tunegate regress: `{r.suite}` — {verdict}",
        "",
        f"Model: `{r.model}`  ",
        regress_summary(r),
        "",
    ]
    if r.reference:
        lines.insert(3, f"Reference: `{r.reference}`  ")
    head = ["case", "status", "passed"]
    if _baseline(r):
        head.append(f"vs `{r.baseline_run}`")
    if r.reference is not None:
        head.append("reference")
    head.append("why")
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in r.cases:
        row = [f"`{c.id}`", f"{_ICON[c.status]} {c.status}", _passed(c)]
        if _baseline(r):
            row.append(c.baseline or "new")
        if r.reference is not None:
            row.append(c.reference or "")
        row.append(_md(_notes(c)))
        lines.append("| " + " | ".join(row) + " |")
    if _baseline(r):
        cats = [c.baseline or "new" for c in r.cases]
        lines += ["", "vs baseline: " + ", ".join(f"{cats.count(k)} {k}" for k in _CATEGORIES)]
    if r.notes:
        lines += ["", *[f"- {_md(n)}" for n in r.notes]]
    return "\n".join(lines) + "\n"


def _junit_tree(r: RegressReport) -> ET.ElementTree:
    suite = ET.Element(
        "testsuite",
        name=r.suite,
        tests=str(r.summary.cases),
        failures=str(r.summary.failed),
        errors="0",
        skipped="0",
    )
    for c in r.cases:
        tc = ET.SubElement(suite, "testcase", classname=f"tunegate.{r.suite}", name=c.id)
        if c.status == "failed":
            fail = ET.SubElement(tc, "failure", message=c.reason[:500], type="AssertionFailed")
            fail.text = _notes(c) + "\n\noutput:\n" + (c.outputs[0] if c.outputs else "")
        elif c.status == "flaky":
            props = ET.SubElement(tc, "properties")
            ET.SubElement(props, "property", name="flaky", value=_passed(c))
            out = ET.SubElement(tc, "system-out")
            out.text = f"flaky: {c.reason}"
    root = ET.Element("testsuites")
    root.append(suite)
    return ET.ElementTree(root)


def write_regress_junit(r: RegressReport, path: Path) -> None:
    """JUnit XML at ``path``: one testsuite, one testcase per case; failures carry the reason, flaky
    cases a property."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _junit_tree(r).write(path, encoding="utf-8", xml_declaration=True)
