"""Several fine-tunes against one base, side by side: one index page (HTML and Markdown), one JSON and
one JUnit file for the whole comparison, next to each candidate's own full reports.

``tunegate compare --tuned good=SPEC --tuned overtrained=SPEC`` writes, for ``--html out/demo.html``,
``out/demo-good.html`` and ``out/demo-overtrained.html`` (the single-run report, unchanged) and the
index ``out/demo.html``: the verdict of each candidate, every gated or primary metric with base,
tuned, delta and interval per candidate, and each candidate's delta chart.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from tunegate.report._format import ci_label, fmt_ci, fmt_delta, fmt_p, fmt_score
from tunegate.report._html import _csp, _env, delta_chart
from tunegate.report._junit import render_junit
from tunegate.report._markdown import md_text
from tunegate.report._scorecard import scorecard
from tunegate.report._write import write_reports

if TYPE_CHECKING:
    from tunegate.runner import ComparisonResult
    from tunegate.store import Store

__all__ = ["Candidate", "candidate_paths", "worst_exit_code", "write_side_by_side"]

SCHEMA = "tunegate.comparisons/v1"
_SEVERITY = {"pass": 0, "inconclusive": 1, "fail": 2}
_VERDICT_ORDER = {"PASS": 0, "INCONCLUSIVE": 1, "FAIL": 2}


@dataclass(frozen=True)
class Candidate:
    """One fine-tune's comparison with the base, under the label the user gave it."""

    label: str
    result: ComparisonResult


def worst_exit_code(results: Sequence[ComparisonResult]) -> int:
    """The exit code of the worst verdict: any FAIL -> 1, else any INCONCLUSIVE -> 3, else 0."""
    worst = max(results, key=lambda r: _VERDICT_ORDER[r.verdict])
    return worst.exit_code


def candidate_paths(path: Path | None, label: str) -> Path | None:
    """``out/demo.html`` -> ``out/demo-LABEL.html`` (None stays None)."""
    if path is None:
        return None
    return path.with_name(f"{path.stem}-{label}{path.suffix}")


def _rows(cands: Sequence[Candidate]) -> list[dict[str, Any]]:
    """One row per (task, metric) that is gated or primary in any candidate, first-seen order."""
    keys: list[tuple[str, str]] = []
    for c in cands:
        for tc in c.result.tasks:
            gated = {g.metric for g in c.result.gates if g.task == tc.task}
            for m in tc.metrics:
                if (m.metric == tc.primary or m.metric in gated) and (tc.task, m.metric) not in keys:
                    keys.append((tc.task, m.metric))
    rows = []
    for task, metric in keys:
        cells: list[dict[str, Any] | None] = []
        base = None
        for c in cands:
            found = next((t for t in c.result.tasks if t.task == task), None)
            mc = next((x for x in found.metrics if x.metric == metric), None) if found else None
            gates = [g for g in c.result.gates if g.task == task and g.metric == metric]
            outcome: str | None = None
            if gates:
                outcome = max((str(g.outcome) for g in gates), key=lambda o: _SEVERITY[o])
            if mc is None:
                cells.append(None)
                continue
            base = base if base is not None else fmt_score(mc.base, metric)
            cells.append(
                {
                    "tuned": fmt_score(mc.tuned, metric),
                    "delta": fmt_delta(mc.delta, metric),
                    "ci": fmt_ci(mc.ci_low, mc.ci_high, metric),
                    "p": fmt_p(mc.p_value),
                    "n": mc.n,
                    "gate": outcome,
                    "bounds": ", ".join(f"{g.kind} {g.threshold:g}" for g in gates),
                }
            )
        dimension = next((t.dimension for c in cands for t in c.result.tasks if t.task == task), "task")
        rows.append({"task": task, "metric": metric, "dimension": dimension, "base": base, "cells": cells})
    return rows


def render_side_by_side_html(cands: Sequence[Candidate], links: Sequence[str | None]) -> str:
    """The index page: verdicts, the metric table with one column group per candidate, the charts."""
    first = cands[0].result
    return (
        _env()
        .get_template("side_by_side.html.j2")
        .render(
            cands=cands,
            links=links,
            base=first.base.get("spec", ""),
            suite=first.suite,
            ci=ci_label(first.alpha),
            csp=_csp(),
            rows=_rows(cands),
            cards=[scorecard(c.result) for c in cands],
            charts=[Markup(delta_chart(c.result)) for c in cands],
        )
    )


def render_side_by_side_markdown(cands: Sequence[Candidate], links: Sequence[str | None]) -> str:
    """The index as Markdown for a pull request: verdicts, then the metric table (no model outputs)."""
    first = cands[0].result
    ci = ci_label(first.alpha)
    lines = [
        f"## tunegate: {len(cands)} fine-tunes vs base {md_text(first.base.get('spec', ''))}"
        f" (suite {md_text(first.suite)})",
        "",
        "| candidate | verdict | gates passed | report |",
        "|---|---|---|---|",
    ]
    for c, link in zip(cands, links, strict=True):
        passed = sum(g.outcome == "pass" for g in c.result.gates)
        report = f"[full report]({link})" if link else "–"
        lines.append(
            f"| **{md_text(c.label)}** {md_text(c.result.tuned.get('spec', ''))} | **{c.result.verdict}** "
            f"| {passed}/{len(c.result.gates)} | {report} |"
        )
    head = "| task / metric | base | " + " | ".join(
        f"{md_text(c.label)}: tuned | Δ {ci} | gate" for c in cands
    )
    lines += ["", head + " |", "|---|---|" + "---|---|---|" * len(cands)]
    for r in _rows(cands):
        cells = []
        for cell in r["cells"]:
            if cell is None:
                cells.append("– | – | –")
            else:
                gate = f"{cell['gate'].upper()} ({cell['bounds']})" if cell["gate"] else "–"
                cells.append(f"{cell['tuned']} | {cell['delta']} {cell['ci']} | {gate}")
        lines.append(
            f"| {md_text(r['task'])} / {md_text(r['metric'])} | {r['base']} | " + " | ".join(cells) + " |"
        )
    note = "Rates in points (0-100), log-likelihoods in nats; Δ = tuned − base, paired item by item."
    lines += ["", note, ""]
    return "\n".join(lines)


def render_side_by_side_junit(cands: Sequence[Candidate]) -> str:
    """One JUnit document with one ``<testsuite>`` per candidate (each as ``render_junit`` makes it)."""
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", {"name": "tunegate"})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for c in cands:
        doc = ET.fromstring(render_junit(c.result).split("\n", 1)[1])
        for suite in doc.findall("testsuite"):
            suite.set("name", f"{suite.get('name')}[{c.label}]")
            for k in totals:
                totals[k] += int(suite.get(k, "0"))
            root.append(suite)
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("time", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_side_by_side(
    cands: Sequence[Candidate],
    store: Store,
    *,
    json_out: Path | None = None,
    html: Path | None = None,
    markdown: Path | None = None,
    junit: Path | None = None,
) -> None:
    """Each candidate's own reports (``NAME-LABEL.ext``) and the combined index files (``NAME.ext``)."""
    links: list[str | None] = []
    for c in cands:
        own_html = candidate_paths(html, c.label)
        write_reports(
            c.result,
            store,
            json_out=candidate_paths(json_out, c.label),
            html=own_html,
            markdown=candidate_paths(markdown, c.label),
            junit=candidate_paths(junit, c.label),
        )
        links.append(own_html.name if own_html else None)
    if json_out:
        doc = {
            "schema": SCHEMA,
            "base": cands[0].result.base,
            "exit_code": worst_exit_code([c.result for c in cands]),
            "candidates": [{"label": c.label, "result": c.result.to_json()} for c in cands],
        }
        _atomic_write(json_out, json.dumps(doc, indent=2, sort_keys=True, allow_nan=False) + "\n")
    if html:
        _atomic_write(html, render_side_by_side_html(cands, links))
    if markdown:
        md_links = [
            os.path.relpath((html.parent / link).resolve(), markdown.parent.resolve())
            if html and link
            else None
            for link in links
        ]
        _atomic_write(markdown, render_side_by_side_markdown(cands, md_links))
    if junit:
        _atomic_write(junit, render_side_by_side_junit(cands))
