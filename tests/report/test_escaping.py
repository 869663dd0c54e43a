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
