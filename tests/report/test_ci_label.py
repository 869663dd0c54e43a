"""A gate's alpha names the interval the reports print: alpha 0.01 is a 99% CI, not a "95%" one."""

from __future__ import annotations

import dataclasses
import io

from rich.console import Console

from tunegate.report import print_comparison, render_html, render_markdown
from tunegate.report._format import ci_label
from tunegate.runner import ComparisonResult


def test_ci_label_follows_alpha() -> None:
    assert ci_label(0.05) == "95% CI"
    assert ci_label(0.01) == "99% CI"


def test_every_report_labels_the_interval_at_the_result_alpha(result: ComparisonResult) -> None:
    strict = dataclasses.replace(result, alpha=0.01)
    buf = io.StringIO()
    print_comparison(strict, Console(file=buf, width=300, color_system=None))
    for text in (buf.getvalue(), render_markdown(strict), render_html(strict)):
        assert "99% CI" in text and "95% CI" not in text
