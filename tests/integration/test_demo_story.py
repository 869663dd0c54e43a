"""The demo's story on the real model, at a reduced size: the good adapter PASSes and the overtrained
one FAILs, decided by the statistics (drift gate on HellaSwag, regression suite), in one side-by-side
compare with one shared base. The full demo (`make demo`) adds TriviaQA 300, MMLU, safety, preference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tunegate.cli.main import app
from tunegate.suite import builtin_suites

pytestmark = pytest.mark.slow

BASE = "builtin:gemma-3-270m"
GOOD = "good=builtin:gemma-3-270m?adapter=builtin:triviaqa-lora"
OVER = "overtrained=builtin:gemma-3-270m?adapter=builtin:triviaqa-overtrained"


def test_good_passes_and_overtrained_fails(tmp_path: Path) -> None:
    regression = builtin_suites()["demo"].parent / "regression" / "demo.yaml"
    suite = tmp_path / "story.yaml"
    suite.write_text(
        "name: demo-story\ntasks:\n"
        "  - task: hellaswag\n    limit: 40\n    gates:\n      - {metric: gold_logprob, max_drop: 5.0}\n"
        f"  - task: regression\n    options: {{suite: '{regression}'}}\n"
        "    gates:\n      - {metric: pass, min_score: 1.0}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app,
        [
            "compare",
            "--base",
            BASE,
            "--tuned",
            GOOD,
            "--tuned",
            OVER,
            "--suite",
            str(suite),
            "-q",
            "--db",
            f"sqlite:///{tmp_path / 's.db'}",
            "--json",
            str(out / "d.json"),
            "--html",
            str(out / "d.html"),
        ],
    )
    assert res.exit_code == 1, res.output  # the worst verdict: the overtrained one fails
    doc = json.loads((out / "d.json").read_text(encoding="utf-8"))
    by_label = {c["label"]: c["result"] for c in doc["candidates"]}
    good, over = by_label["good"], by_label["overtrained"]
    assert good["verdict"] == "PASS", good["gates"]
    assert over["verdict"] == "FAIL"
    drift = {r: next(g for g in by_label[r]["gates"] if g["metric"] == "gold_logprob") for r in by_label}
    assert drift["good"]["outcome"] == "pass" and drift["overtrained"]["outcome"] == "fail"

    # the overtrained adapter loses far more log-likelihood on the gold endings than the good one
    def delta(r: dict, metric: str) -> float:  # type: ignore[type-arg]
        task = next(t for t in r["tasks"] if t["task"] == "hellaswag")
        return float(next(m for m in task["metrics"] if m["metric"] == metric)["delta"])

    assert delta(over, "gold_logprob") < -10.0 < -5.0 < delta(good, "gold_logprob")
    page = (out / "d.html").read_text(encoding="utf-8")
    assert (
        'data-candidate="good"' in page and 'class="verdict PASS"' in page and 'class="verdict FAIL"' in page
    )
