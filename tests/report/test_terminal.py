"""The terminal report outside a terminal: numbers are never wrapped at 80 columns, units are points."""

from __future__ import annotations

import dataclasses
import io
import re

from rich.console import Console

from tests.report.conftest import summaries_task
from tunegate.report import print_comparison
from tunegate.runner import ComparisonResult


def _render(result: ComparisonResult, *, terminal: bool) -> str:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=terminal, width=80, color_system=None)
    print_comparison(result, console)
    return buf.getvalue()


def test_log_output_keeps_every_number_whole(result: ComparisonResult) -> None:
    long = dataclasses.replace(
        result.tasks[1], task="hellaswag_with_a_rather_long_label_" + "x" * 30, flipped=()
    )
    r = dataclasses.replace(result, tasks=(result.tasks[0], long, summaries_task()))
    out = _render(r, terminal=False)
    for ci in ("[+5.0, +25.0]", "[-20.0, -1.0]", "[+1.0, +10.0]"):
        assert ci in out, out
    assert long.task in out  # the label is not folded either
    assert max(len(line) for line in out.splitlines()) > 80  # the table took its natural width
    # every gate line is whole and ends an inconclusive gate with its next step
    assert "next step: hellaswag: run 340 items (`limit: 340`) without `--limit 20`" in out


def test_scores_are_points_and_bleu_is_not_scaled_twice(result: ComparisonResult) -> None:
    out = _render(dataclasses.replace(result, tasks=(*result.tasks, summaries_task())), terminal=False)
    bleu = next(line for line in out.splitlines() if " bleu " in line)
    assert re.search(r"\b20\.0\b.*\b25\.5\b.*\+5\.5", bleu), bleu
    assert "2000.0" not in out
    assert out.count("--limit 20") == 2  # the warning once, and the next step of the inconclusive gate
