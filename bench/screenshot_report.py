"""Render the HTML report of a JSON result file and screenshot it with headless Chromium (for docs).

    python bench/screenshot_report.py result.json --out docs/report.png [--html report.html]

Needs ``playwright`` (the dev extra) and Chromium at /usr/bin/chromium (scripts/install-browser.sh).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from tunegate.report import result_from_json, write_html

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def screenshot(html: Path, out: Path, *, width: int, chromium: str, full_page: bool) -> list[str]:
    """Screenshot ``html`` into ``out`` (PNG); returns the page's console errors."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            page = browser.new_context(offline=True, viewport={"width": width, "height": 900}).new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(html.resolve().as_uri())
            page.wait_for_load_state("load")
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=full_page)
        finally:
            browser.close()
    return errors


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "result",
        type=Path,
        help="a tunegate.result/v1 JSON file (tunegate compare --json), or an HTML report to shoot as it is",
    )
    ap.add_argument("--out", type=Path, default=Path("report.png"), help="PNG to write")
    ap.add_argument("--html", type=Path, help="also keep the rendered HTML here")
    ap.add_argument(
        "--history", type=Path, nargs="*", default=[], help="earlier result JSON files, oldest first"
    )
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--viewport-only", action="store_true", help="only the first screen, not the full page")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    a = ap.parse_args(argv)

    if a.result.suffix == ".html":  # e.g. the side-by-side index of make demo (out/demo.html)
        errors = screenshot(
            a.result, a.out, width=a.width, chromium=a.chromium, full_page=not a.viewport_only
        )
        for e in errors:
            print(f"console error: {e}", file=sys.stderr)
        print(f"wrote {a.out} ({a.out.stat().st_size} bytes)")
        return 1 if errors else 0
    result = result_from_json(json.loads(a.result.read_text(encoding="utf-8")))
    history = [json.loads(p.read_text(encoding="utf-8")) for p in a.history]
    with tempfile.TemporaryDirectory() as tmp:
        html = a.html or Path(tmp) / "report.html"
        write_html(result, html, history=history)
        errors = screenshot(html, a.out, width=a.width, chromium=a.chromium, full_page=not a.viewport_only)
    for e in errors:
        print(f"console error: {e}", file=sys.stderr)
    print(f"wrote {a.out} ({a.out.stat().st_size} bytes)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
