"""Every report of every result: terminal tables, Markdown for pull requests, versioned JSON, HTML, JUnit XML.

``tunegate compare`` (``tunegate.result/v1``): :func:`print_comparison`, :func:`render_markdown`,
:func:`write_html`, :func:`write_junit`; ``tunegate run`` (``tunegate.run/v1``): :func:`print_run`;
``tunegate regress`` (``tunegate.regress/v1``): :func:`print_regression`,
:func:`render_regress_markdown`, :func:`write_regress_junit`. :func:`write_json` writes any of them,
:func:`read_result` reads any of them back; :func:`write_reports` writes a comparison's files.
"""

from tunegate.report._html import render_html, result_from_json, write_html
from tunegate.report._json import AnyResult, read_result, write_json
from tunegate.report._junit import render_junit, write_junit
from tunegate.report._markdown import render_markdown
from tunegate.report._regress import (
    print_regression,
    regress_summary,
    render_regress_markdown,
    write_regress_junit,
)
from tunegate.report._run import print_run
from tunegate.report._scorecard import DIMENSIONS, ScorecardRow, scorecard
from tunegate.report._terminal import print_comparison
from tunegate.report._trend import TrendPoint, trend_history
from tunegate.report._write import write_reports

__all__ = [
    "DIMENSIONS",
    "AnyResult",
    "ScorecardRow",
    "TrendPoint",
    "print_comparison",
    "print_regression",
    "print_run",
    "read_result",
    "regress_summary",
    "render_html",
    "render_junit",
    "render_markdown",
    "render_regress_markdown",
    "result_from_json",
    "scorecard",
    "trend_history",
    "write_html",
    "write_json",
    "write_junit",
    "write_regress_junit",
    "write_reports",
]
