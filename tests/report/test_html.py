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
    # the passing gate's detectable effect, in points: min_gain 0 + 0.06 -> +6.0
    assert "a gain of +6.0 or more would be shown" in html
    step = "Next step: hellaswag: run 340 items (<code>limit: 340</code>) without <code>--limit 20</code>"
    assert step in html
    rows = re.findall(r'<tr data-task="([^"]*)" data-dir="([^"]*)" data-kind="flip">', html)
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
    # a run against another base model is never on the trend
    other = dataclasses.replace(result, run_id="other", base={"spec": "hf:other", "fingerprint": "0" * 16})
    html = render_html(result, history=[*older, other.to_json()])
    assert "last 4 runs" in html and 'data-run="other"' not in html


def test_pass_without_flips_or_gates(result: ComparisonResult) -> None:
    tasks = tuple(dataclasses.replace(t, flipped=()) for t in result.tasks)
    html = render_html(
        dataclasses.replace(result, tasks=tasks, gates=(), verdict="PASS", limit=None, warnings=())
    )
    assert 'class="verdict PASS"' in html and 'id="flipped"' not in html and 'class="warning"' not in html


def test_flipped_items_show_input_reference_and_empty_output(result: ComparisonResult) -> None:
    html = render_html(result)
    assert "Question: Which city is the capital of France?" in html
    assert '<td class="reference"><pre class="out">1066</pre>' in html
    assert '<td class="base-output"><pre class="out">(empty)</pre>' in html  # "" is shown as (empty)


def test_continuous_metric_lists_largest_changes_and_bleu_is_not_scaled_twice(
    result: ComparisonResult,
) -> None:
    from tests.report.conftest import summaries_task

    html = render_html(dataclasses.replace(result, tasks=(*result.tasks, summaries_task())))
    changes = re.findall(r'data-task="summaries" data-dir="([^"]*)" data-kind="change"', html)
    assert sorted(changes) == ["improved", "regressed", "regressed"]
    assert "rougeL: 80.0 → 10.0 (-70.0)" in html  # per-item scores in points, with the change
    # BLEU is on 0-100 already: 20.0 -> 25.5, never 2000.0
    row = re.search(r"<td>bleu</td>.*?</tr>", html, flags=re.S)
    assert row is not None and ">20.0<" in row.group(0) and ">25.5<" in row.group(0)
    assert "2000.0" not in html and "2550.0" not in html
