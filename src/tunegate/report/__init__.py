"""Reports of a comparison: terminal table, Markdown for pull requests, versioned JSON, HTML, JUnit XML."""

from tunegate.report._html import render_html, result_from_json, write_html
from tunegate.report._json import write_json
from tunegate.report._junit import render_junit, write_junit
from tunegate.report._markdown import render_markdown
from tunegate.report._scorecard import DIMENSIONS, ScorecardRow, scorecard
from tunegate.report._terminal import print_comparison
from tunegate.report._trend import TrendPoint, trend_history

__all__ = [
    "DIMENSIONS",
    "ScorecardRow",
    "TrendPoint",
    "print_comparison",
    "render_html",
    "render_junit",
    "render_markdown",
    "result_from_json",
    "scorecard",
    "trend_history",
    "write_html",
    "write_json",
    "write_junit",
]
