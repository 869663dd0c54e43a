"""Hostile model outputs, gate reasons and names never reach a report as raw HTML."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from tests.report.conftest import HOSTILE
from tunegate.report import render_html, render_markdown, write_html
from tunegate.runner import ComparisonResult


def _scripts(html: str) -> list[str]:
    return re.findall(r"<script\b[^>]*>(.*?)</script>", html, flags=re.S)


def test_html_escapes_model_outputs(result: ComparisonResult) -> None:
    html = render_html(result)
    assert HOSTILE not in html
    assert "<img src=x" not in html and "<b>cat</b>" not in html
    assert "&lt;script&gt;window.__pwned = 1;" in html
    assert "the dog &amp; &lt;b&gt;cat&lt;/b&gt;" in html
    assert "&lt;script&gt;alert(&#39;gate&#39;)&lt;/script&gt;" in html  # gate reason
    # the only script element is the report's own filter script
    assert len(_scripts(html)) == 1 and "__pwned" not in _scripts(html)[0]


def test_html_escapes_names_in_attributes_and_svg(result: ComparisonResult) -> None:
    import dataclasses

    evil = '"><script>alert(2)</script>'
    tasks = (dataclasses.replace(result.tasks[0], task=evil), result.tasks[1])
    html = render_html(dataclasses.replace(result, tasks=tasks, suite=evil))
    assert evil not in html
    assert len(_scripts(html)) == 1


def test_markdown_does_not_carry_raw_outputs(result: ComparisonResult) -> None:
    md = render_markdown(result)
    assert "<script>window.__pwned" not in md and "onerror" not in md


def test_html_file_is_self_contained(result: ComparisonResult, tmp_path: Path) -> None:
    path = tmp_path / "r" / "report.html"
    write_html(result, path)
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    # no external resource: nothing loaded by src/href except data: URLs and in-page anchors
    for url in re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html):
        assert url.startswith(("data:", "#")), url
    assert "@import" not in html and "url(" not in html
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html)
    assert csp is not None and "default-src 'none'" in unescape(csp.group(1))  # no network loads
    assert "<svg" in html and 'id="delta-chart"' in html


# -- hostile strings in every user-controlled field: terminal, HTML, JUnit ---------------------------

EVIL = "[/] [red]x[/red] <script>alert(9)</script> ]]> & \x1b[2J\x07 :thumbs_up: |\n<!-- c"


def _hostile(result: ComparisonResult) -> ComparisonResult:
    import dataclasses

    tasks = tuple(
        dataclasses.replace(
            tc,
            task=f"{tc.task} {EVIL}",
            flipped=tuple(dataclasses.replace(f, base_output=EVIL, tuned_output=EVIL) for f in tc.flipped),
        )
        for tc in result.tasks
    )
    gates = tuple(
        dataclasses.replace(g, task=f"{g.task} {EVIL}", reason=f"{g.reason} {EVIL}") for g in result.gates
    )
    return dataclasses.replace(
        result,
        suite=f"suite {EVIL}",
        base={**result.base, "spec": f"hf:/m {EVIL}"},
        tuned={**result.tuned, "spec": f"hf:/m?name={EVIL}"},
        tasks=tasks,
        gates=gates,
        warnings=(f"warn {EVIL}",),
    )


def test_terminal_report_shows_hostile_names_as_typed(result: ComparisonResult) -> None:
    import io

    from rich.console import Console

    from tunegate.report import print_comparison

    buf = io.StringIO()
    print_comparison(_hostile(result), Console(file=buf, width=400, color_system=None, emoji=True))
    out = buf.getvalue()
    assert "[/] [red]x[/red]" in out  # markup shown, not applied (and no MarkupError)
    assert ":thumbs_up:" in out  # not turned into an emoji
    assert "\x1b" not in out and "\x07" not in out  # no terminal control sequence gets through
    assert "\\x1b[2J\\x07" in out
    assert "<script>alert(9)</script>" in out  # a terminal has no HTML: shown as typed


def test_html_report_escapes_every_hostile_field(result: ComparisonResult) -> None:
    html = render_html(_hostile(result))
    assert "<script>alert(9)</script>" not in html and "<!-- c" not in html
    assert "&lt;script&gt;alert(9)&lt;/script&gt;" in html
    assert len(_scripts(html)) == 1


def test_junit_report_is_well_formed_and_keeps_hostile_fields(result: ComparisonResult) -> None:
    import xml.etree.ElementTree as ET

    from tunegate.report import render_junit

    xml = render_junit(_hostile(result))
    root = ET.fromstring(xml)  # well-formed despite "]]>", "&", "<" and control characters
    (suite,) = root.iter("testsuite")
    assert "[/] [red]x[/red] <script>alert(9)</script> ]]> &" in (suite.get("name") or "")
    props = {p.get("name"): p.get("value") or "" for p in root.iter("property")}
    assert props["tuned"].startswith("hf:/m?name=[/] [red]x[/red]")
    names = [c.get("classname") or "" for c in root.iter("testcase")]
    assert all(EVIL.split("\x1b")[0] in n for n in names)
