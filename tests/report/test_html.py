"""The HTML report's content (no browser): verdict first, warnings, scorecard, gates, flipped items."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re

from tunegate.report import render_html, result_from_json
from tunegate.report._html import FILTER_JS
from tunegate.runner import ComparisonResult


def test_verdict_comes_first_and_warnings_are_shown(result: ComparisonResult) -> None:
    html = render_html(result)
    body = html.split("<body>", 1)[1]
    assert body.index('id="verdict"') < body.index('id="scorecard"') < body.index('id="gates"')
    assert 'class="verdict FAIL"' in html and ">FAIL</span>" in html
    assert "--limit 20" in html and 'class="warning"' in html
    assert "1/3 gates passed" in html


def test_limit_warning_added_when_missing(result: ComparisonResult) -> None:
    html = render_html(dataclasses.replace(result, warnings=()))
    assert "--limit 20: only the first 20 items" in html


def test_scorecard_gates_and_flipped(result: ComparisonResult) -> None:
    html = render_html(result)
    assert html.count('class="notrun"') == 3 and html.count(">not run<") == 3
    assert "items needed" in html and ">340<" in html  # inconclusive gate's items needed
    assert ">+8.0<" in html  # detectable effect of the failed gate, ×100
    rows = re.findall(r'<tr data-task="([^"]*)" data-dir="([^"]*)">', html)
    assert sorted(rows) == sorted(
        [
            ("triviaqa", "improved"),
            ("triviaqa", "improved"),
            ("triviaqa", "regressed"),
            ("hellaswag", "regressed"),
            ("hellaswag", "regressed"),
        ]
    )
    assert '<option value="hellaswag">' in html and '<option value="triviaqa">' in html


def test_script_is_allowed_by_its_csp_hash(result: ComparisonResult) -> None:
    html = render_html(result)
    digest = base64.b64encode(hashlib.sha256(FILTER_JS.encode()).digest()).decode()
    assert f"script-src &#39;sha256-{digest}&#39;" in html  # attribute-escaped quotes
    assert f"<script>{FILTER_JS}</script>" in html


def test_json_round_trip_and_trend(result: ComparisonResult) -> None:
    data = json.loads(json.dumps(result.to_json()))
    assert result_from_json(data) == result
    older = [dataclasses.replace(result, run_id=f"old{i}", verdict="PASS").to_json() for i in range(3)]
    html = render_html(result, history=older)
    assert 'id="trend-chart"' in html and "last 4 runs" in html
    assert 'id="trend-chart"' not in render_html(result)


def test_pass_without_flips_or_gates(result: ComparisonResult) -> None:
    tasks = tuple(dataclasses.replace(t, flipped=()) for t in result.tasks)
    html = render_html(
        dataclasses.replace(result, tasks=tasks, gates=(), verdict="PASS", limit=None, warnings=())
    )
    assert 'class="verdict PASS"' in html and 'id="flipped"' not in html and 'class="warning"' not in html
