"""The Markdown PR comment, parsed by a CommonMark parser (markdown-it-py): hostile strings in every
user-controlled field add no heading, no table row, no link and no raw HTML."""

from __future__ import annotations

import dataclasses

from markdown_it import MarkdownIt
from markdown_it.token import Token

from tests.report.conftest import HOSTILE, summaries_task
from tunegate.report import render_markdown
from tunegate.runner import ComparisonResult

# a suite name that, unescaped, closes the heading's code span, starts a new line with a fake verdict
# heading and hides the rest of the comment in an HTML comment
EVIL_SUITE = "demo`\n\n## ✅ tunegate: **PASS**\n<!--"
EVIL_TASK = "hella|swag | extra | cells |\n| --- |"


def _parse(md: str) -> list[Token]:
    return MarkdownIt("commonmark").enable("table").parse(md)


def _hostile(result: ComparisonResult) -> ComparisonResult:
    tasks = tuple(
        dataclasses.replace(
            tc,
            task=f"{EVIL_TASK}{i}",
            metrics=tuple(dataclasses.replace(m, metric=f"{m.metric}|*x*") for m in tc.metrics),
            primary=f"{tc.primary}|*x*",
        )
        for i, tc in enumerate(result.tasks)
    )
    gates = tuple(
        dataclasses.replace(
            g,
            task=f"{EVIL_TASK}{1 if g.task == 'hellaswag' else 0}",
            metric=f"{g.metric}|*x*",
            reason=f"{g.reason}\n# fake heading\n[link](http://evil.example) {HOSTILE}",
        )
        for g in result.gates
    )
    return dataclasses.replace(
        result,
        suite=EVIL_SUITE,
        tasks=tasks,
        gates=gates,
        run_id="run`\n# id",
        base={"spec": "hf:/m|base\n## heading <!--", "fingerprint": "f"},
        tuned={"spec": "hf:/m?adapter=[x](javascript:alert(1))", "fingerprint": "e"},
        warnings=("--limit 20 |\n# not a heading <script>x</script>",),
    )


def _headings(tokens: list[Token]) -> list[Token]:
    return [t for t in tokens if t.type == "heading_open"]


def test_plain_report_structure(result: ComparisonResult) -> None:
    md = render_markdown(result, html_link="report.html")
    tokens = _parse(md)
    (h,) = _headings(tokens)
    assert h.tag == "h2" and "FAIL" in tokens[tokens.index(h) + 1].content
    assert sum(t.type == "tr_open" for t in tokens) == 1 + 4  # header + one row per metric
    # the gate column: each gated metric shows its gate with its outcome
    assert "| hellaswag | **acc\\_norm** | ❌ `max_drop: 0.02` |" in md
    # passing gates are listed briefly with the effect they could detect (points)
    assert "a gain of +6.0 or more would be shown" in md
    # every inconclusive gate ends with its next step
    assert "**Next step** for hellaswag: run 340 items (`limit: 340`)" in md
    assert "[Full HTML report](report.html)" in md
    links = [t for t in tokens if t.type == "inline" for c in (t.children or []) if c.type == "link_open"]
    assert len(links) == 1


def test_hostile_strings_add_no_heading_row_link_or_html(result: ComparisonResult) -> None:
    evil = _hostile(dataclasses.replace(result, tasks=(*result.tasks, summaries_task())))
    md = render_markdown(evil, html_link="out dir/re(port).html")
    tokens = _parse(md)
    headings = _headings(tokens)
    assert len(headings) == 1, md
    inline = tokens[tokens.index(headings[0]) + 1].children or []
    strong = [i for i, c in enumerate(inline) if c.type == "strong_open"]
    assert len(strong) == 1 and inline[strong[0] + 1].content == "FAIL"  # the name's **PASS** is text
    # the table: a header row and exactly one row per metric, each with 9 cells
    rows = [i for i, t in enumerate(tokens) if t.type == "tr_open"]
    assert len(rows) == 1 + 6
    for i in rows:
        j = next(k for k in range(i, len(tokens)) if tokens[k].type == "tr_close")
        assert sum(t.type in ("td_open", "th_open") for t in tokens[i:j]) == 9
    # no raw HTML of any kind reaches the output, and the only link is the report link
    assert not [t for t in tokens if t.type in ("html_block", "html_inline")]
    children = [c for t in tokens if t.type == "inline" for c in (t.children or [])]
    assert not [c for c in children if c.type == "html_inline"]
    links = [c for c in children if c.type == "link_open"]
    assert [c.attrs["href"] for c in links] == ["out%20dir/re%28port%29.html"]
    # the hostile text is still there, as literal text
    text = "".join(c.content for c in children if c.type == "text")
    assert "<!--" in text and "hella|swag" in text and "<script>" in text


def test_empty_suite_says_nothing_was_decided(result: ComparisonResult) -> None:
    md = render_markdown(dataclasses.replace(result, gates=(), verdict="PASS", warnings=()))
    assert "No gates in this suite" in md and "Full HTML report" not in md
    assert len(_headings(_parse(md))) == 1
