"""The HTML report in a real headless Chromium: loads cleanly, shows the verdict, filters flipped items.

Needs Debian's chromium (``scripts/install-browser.sh``) and the ``playwright`` package. Without them
the tests skip with the reason, except in CI (``CI=true``) where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.report.conftest import make_result
from tunegate.report import write_html

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("TUNEGATE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is missing: pip install -e '.[dev]'")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _unavailable(f"{CHROMIUM} is missing: run scripts/install-browser.sh (as root)")
    with sync_playwright() as pw:
        try:
            b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        except Exception as e:  # a broken install: say why
            _unavailable(f"cannot launch {CHROMIUM}: {str(e).splitlines()[0]}")
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Iterator[Any]:
    path = tmp_path / "report.html"
    write_html(make_result(), path)
    ctx = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    pg.goto(path.as_uri())
    pg.wait_for_load_state("load")
    pg.errors = errors
    yield pg
    ctx.close()


def test_loads_without_console_errors_and_shows_verdict(page: Any) -> None:
    assert page.errors == []
    assert page.locator("#verdict-word").inner_text() == "FAIL"
    assert page.locator("#verdict").is_visible()
    # the verdict banner is at the top of the page
    assert page.locator("#verdict").bounding_box()["y"] < 100
    assert "--limit 20" in page.locator(".warning").first.inner_text()
    assert page.locator("#scorecard tbody tr.notrun").count() == 3
    assert page.locator("#delta-chart").is_visible()


def test_hostile_output_is_text_not_code(page: Any) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("#flipped img").count() == 0
    cell = page.locator('#flipped tr[data-task="triviaqa"] pre.out').filter(has_text="__pwned")
    assert "<script>window.__pwned = 1;" in cell.first.inner_text()
    assert page.errors == []


def test_filter_by_task_hides_other_tasks(page: Any) -> None:
    rows = page.locator("#flipped tbody tr")
    assert rows.count() == 5
    assert page.locator("#flip-count").inner_text() == "5 of 5 shown"
    page.select_option("#flip-task", "hellaswag")
    for i in range(rows.count()):
        row = rows.nth(i)
        assert row.is_visible() == (row.get_attribute("data-task") == "hellaswag")
    assert page.locator("#flip-count").inner_text() == "2 of 5 shown"
    page.select_option("#flip-task", "triviaqa")
    page.select_option("#flip-dir", "improved")
    visible = [rows.nth(i).get_attribute("data-dir") for i in range(rows.count()) if rows.nth(i).is_visible()]
    assert visible == ["improved", "improved"]
    page.select_option("#flip-task", "")
    page.select_option("#flip-dir", "")
    assert page.locator("#flip-count").inner_text() == "5 of 5 shown"
    assert page.errors == []


def test_screenshot_shows_flipped_input_and_reference(page: Any, tmp_path: Path) -> None:
    row = page.locator('#flipped tr[data-task="triviaqa"]').filter(has_text="tqa-1")
    question, reference = row.locator("td.input pre"), row.locator("td.reference pre")
    row.scroll_into_view_if_needed()
    assert question.is_visible() and reference.is_visible()
    assert "Which city is the capital of France?" in question.inner_text()
    assert reference.inner_text() == "Paris"
    for cell in (question, reference):  # laid out with a real size, inside the viewport's width
        box = cell.bounding_box()
        assert (
            box is not None and box["width"] > 40 and box["height"] > 10 and box["x"] + box["width"] <= 1280
        )
    empty = page.locator('#flipped tr[data-task="triviaqa"]').filter(has_text="tqa-2")
    assert empty.locator("td.base-output pre").inner_text() == "(empty)"
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    flipped = tmp_path / "flipped.png"
    page.locator("#flipped").screenshot(path=str(flipped))
    for path in (shot, flipped):
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    assert page.errors == []
