"""The HTML report of a compare shows a trend chart built from the earlier runs of the same suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_second_run_report_has_a_trend(tmp_path: Path, tiny_model_dir: Path) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text("name: checkpoints\ntasks:\n  - task: hellaswag\n    limit: 3\n")
    base = [sys.executable, "-m", "tunegate", "compare", "--base", f"hf:{tiny_model_dir}"]
    args = [
        "--tuned",
        f"hf:{tiny_model_dir}",
        "--suite",
        str(suite),
        "-q",
        "--allow-vacuous",  # a gate-less A/A smoke run: exit 3 without it
        "--db",
        f"sqlite:///{tmp_path}/s.db",
    ]
    for name in ("first", "second"):
        res = subprocess.run(
            [*base, *args, "--html", str(tmp_path / f"{name}.html")], capture_output=True, text=True
        )
        assert res.returncode == 0, res.stderr
    assert "trend-chart" not in (tmp_path / "first.html").read_text()
    assert "trend-chart" in (tmp_path / "second.html").read_text()
    listing = subprocess.run(
        [sys.executable, "-m", "tunegate", "history", "--db", f"sqlite:///{tmp_path}/s.db"],
        capture_output=True,
        text=True,
    )
    assert listing.returncode == 0 and listing.stdout.count("PASS") == 2
