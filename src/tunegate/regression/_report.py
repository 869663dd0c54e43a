"""Reports of a regression run: a rich table, JUnit XML (one testcase per case) and Markdown."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tunegate._display import printable
from tunegate.regression._run import CaseResult, RegressionResult

__all__ = ["print_regression", "render_markdown", "write_junit"]

_STYLE = {"passed": "green", "flaky": "yellow", "failed": "bold red"}
_ICON = {"passed": "✅", "flaky": "⚠️", "failed": "❌"}


def _summary(r: RegressionResult) -> str:
    return (
        f"{len(r.cases)} case(s): {r.count('passed')} passed, {r.count('flaky')} flaky, "
        f"{r.count('failed')} failed (pass rate {100 * r.pass_rate:.0f}%)"
    )


def _notes(r: RegressionResult, c: CaseResult) -> str:
    return "; ".join(x for x in (r.reference_verdict(c), c.reason) if x)


def print_regression(r: RegressionResult, console: Console) -> None:
    """Print one row per case, the summary, and the notes."""
    table = Table(title=Text(printable(f"regression suite {r.suite!r} on {r.model}")))
    table.add_column("case")
    table.add_column("status")
    table.add_column("passed", justify="right")
    if r.baseline is not None:
        table.add_column(Text(printable(f"vs {r.baseline_run}")))
    if r.reference_cases is not None:
        table.add_column("reference")
    table.add_column("why", overflow="fold")
    for c in r.cases:
        row = [Text(printable(c.id)), Text(c.status, _STYLE[c.status]), Text(f"{c.n_passed}/{len(c.checks)}")]
        if r.baseline is not None:
            row.append(Text(printable(r.baseline_category(c))))
        if r.reference_cases is not None:
            ref = r.reference_cases.get(c.id)
            row.append(Text(ref.status if ref else ""))
        row.append(Text(printable(_notes(r, c))))
        table.add_row(*row)
    console.print(table)
    console.print(_summary(r), highlight=False)
    for note in r.notes:
        console.print(Text.assemble(("note:", "yellow"), " ", printable(note)), highlight=False)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(r: RegressionResult) -> str:
    """A Markdown summary suitable for a pull-request comment."""
    verdict = "❌ failing cases" if r.count("failed") else "✅ all cases met their threshold"
    lines = [f"## tunegate regress: `{r.suite}` — {verdict}", "", f"Model: `{r.model}`  ", _summary(r), ""]
    if r.reference:
        lines.insert(3, f"Reference: `{r.reference}`  ")
    head = ["case", "status", "passed"]
    if r.baseline is not None:
        head.append(f"vs `{r.baseline_run}`")
    if r.reference_cases is not None:
        head.append("reference")
    head.append("why")
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in r.cases:
        row = [f"`{c.id}`", f"{_ICON[c.status]} {c.status}", f"{c.n_passed}/{len(c.checks)}"]
        if r.baseline is not None:
            row.append(r.baseline_category(c))
        if r.reference_cases is not None:
            ref = r.reference_cases.get(c.id)
            row.append(ref.status if ref else "")
        row.append(_md(_notes(r, c)))
        lines.append("| " + " | ".join(row) + " |")
    if r.baseline is not None:
        cats = [r.baseline_category(c) for c in r.cases]
        lines += [
            "",
            "vs baseline: "
            + ", ".join(
                f"{cats.count(k)} {k}" for k in ("newly failing", "fixed", "still failing", "passing", "new")
            ),
        ]
    if r.notes:
        lines += ["", *[f"- {_md(n)}" for n in r.notes]]
    return "\n".join(lines) + "\n"


def write_junit(r: RegressionResult, path: Path) -> None:
    """JUnit XML: one testsuite, one testcase per case; failures carry the reason, flaky cases a property."""
    suite = ET.Element(
        "testsuite",
        name=r.suite,
        tests=str(len(r.cases)),
        failures=str(r.count("failed")),
        errors="0",
        skipped="0",
    )
    for c in r.cases:
        tc = ET.SubElement(suite, "testcase", classname=f"tunegate.{r.suite}", name=c.id)
        if c.status == "failed":
            fail = ET.SubElement(tc, "failure", message=c.reason[:500], type="AssertionFailed")
            fail.text = _notes(r, c) + "\n\noutput:\n" + (c.outputs[0] if c.outputs else "")
        elif c.status == "flaky":
            props = ET.SubElement(tc, "properties")
            ET.SubElement(props, "property", name="flaky", value=f"{c.n_passed}/{len(c.checks)}")
            out = ET.SubElement(tc, "system-out")
            out.text = f"flaky: {c.reason}"
    root = ET.Element("testsuites")
    root.append(suite)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
