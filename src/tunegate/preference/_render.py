"""Safe rendering of queries and answers: Markdown and code, never raw HTML.

markdown-it-py in CommonMark mode with ``html`` off (raw tags come out escaped), images off (nothing
is fetched from elsewhere: the app works offline and no answer can beacon), and markdown-it's own
link validation (no ``javascript:``/``data:`` links).
"""

from __future__ import annotations

from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup, escape

__all__ = ["render_markdown", "render_query"]

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).disable("image")


def render_markdown(text: str) -> Markup:
    return Markup(_md.render(text))


def render_query(query: Any) -> Markup:
    """A prompt string as Markdown; chat messages as one block per turn with its role."""
    if isinstance(query, str):
        return render_markdown(query)
    parts = []
    for m in query:
        role = escape(str(m.get("role", "user")))
        parts.append(
            Markup('<div class="turn"><div class="role">{}</div>{}</div>').format(
                role, render_markdown(str(m.get("content", "")))
            )
        )
    return Markup("").join(parts)
