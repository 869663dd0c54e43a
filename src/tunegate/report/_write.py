"""Write a comparison's files: versioned JSON, self-contained HTML, Markdown linking it, JUnit XML."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from tunegate.report._html import write_html
from tunegate.report._json import write_json
from tunegate.report._junit import write_junit
from tunegate.report._markdown import render_markdown
from tunegate.report._trend import trend_history

if TYPE_CHECKING:
    from tunegate.runner import ComparisonResult
    from tunegate.store import Store


def write_reports(
    result: ComparisonResult,
    store: Store,
    *,
    json_out: Path | None = None,
    html: Path | None = None,
    markdown: Path | None = None,
    junit: Path | None = None,
) -> None:
    """Write each requested file; the HTML carries the store's trend, the Markdown links the HTML."""
    if json_out:
        write_json(result, json_out)
    if html:
        write_html(result, html, history=trend_history(store, result))
    if markdown:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        link = os.path.relpath(html.resolve(), markdown.parent.resolve()) if html else None
        markdown.write_text(render_markdown(result, html_link=link), encoding="utf-8")
    if junit:
        write_junit(result, junit)
