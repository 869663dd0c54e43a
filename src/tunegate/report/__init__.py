"""Reports of a comparison: terminal table, Markdown for pull requests, versioned JSON."""

from tunegate.report._json import write_json
from tunegate.report._markdown import render_markdown
from tunegate.report._terminal import print_comparison

__all__ = ["print_comparison", "render_markdown", "write_json"]
