"""Two raters walk a study in headless Chromium (Debian's, through Playwright) against a real loopback
server: real clicks and keys, a revised vote, the progress bar; then the stored votes are checked."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from tests.preference.conftest import Study, build_study
from tunegate.preference import create_app

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian chromium")


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[Study, str]]:
    study = build_study(f"sqlite:///{tmp_path / 'b.db'}", n=4, overlap=2, per_rater=4, raters=2)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(study.ss), host="127.0.0.1", port=port, log_level="warning")
    )
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield study, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        th.join(10)
        study.ss.store.close()


def test_two_raters_click_type_revise_and_progress(served: tuple[Study, str]) -> None:
    from playwright.sync_api import sync_playwright

    study, url = served
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            # rater0: keyboard only (1/2/3/4 then Enter), with a reason typed on one item
            page = browser.new_context().new_page()
            page.goto(f"{url}/invite/{study.tokens['rater0']}")
            assert page.locator("#progress-text").inner_text() == "0 of 4 rated"
            assert page.locator("#answer-a h2").inner_text() == "Answer A"
            assert page.locator("#answer-a script, #answer-b script").count() == 0  # escaped, not run
            page.keyboard.press("1")
            assert page.locator("input[value=A]").is_checked()
            page.keyboard.press("Enter")
            page.wait_for_selector("text=1 of 4 rated")
            page.keyboard.press("2")
            page.fill("#reason", "B explains it")
            page.keyboard.press("Enter")  # Enter in the reason box is a newline, not a submit
            assert page.locator("#progress-text").inner_text() == "1 of 4 rated"
            page.keyboard.press("Control+Enter")
            page.wait_for_selector("text=2 of 4 rated")
            page.keyboard.press("3")
            page.keyboard.press("Enter")
            page.wait_for_selector("text=3 of 4 rated")
            # revise the last vote (tie -> both bad) with a click
            page.click("#revise")
            page.wait_for_selector("#revising")
            assert page.locator("input[value=tie]").is_checked()
            page.click("input[value=both_bad]")
            page.click("#submit")
            page.wait_for_selector("text=3 of 4 rated")
            page.keyboard.press("4")
            page.keyboard.press("Enter")
            page.wait_for_selector("text=All done")
            assert page.locator("#progress").get_attribute("value") == "4"

            # rater1: mouse only
            page1 = browser.new_context().new_page()
            page1.goto(f"{url}/invite/{study.tokens['rater1']}")
            for k in range(4):
                page1.click("input[value=B]")
                page1.click("#submit")
                page1.wait_for_selector(f"text={k + 1} of 4 rated")
            assert "All done" in page1.content()
            # a submit without a choice does nothing
        finally:
            browser.close()
    votes = study.ss.votes(study.id)
    by = {(v["rater"], v["choice"]) for v in votes}
    assert len(votes) == 8
    assert sorted(v["choice"] for v in votes if v["rater"] == "rater0") == ["A", "B", "both_bad", "both_bad"]
    assert {c for r, c in by if r == "rater1"} == {"B"}
    assert any(v["reason"].startswith("B explains it") for v in votes)
    revised = [v for v in votes if v["revision"] == 2]
    assert len(revised) == 1 and revised[0]["choice"] == "both_bad"
    assert len(study.ss.history(study.id)) == 9
