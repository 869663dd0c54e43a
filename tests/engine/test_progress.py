"""Plain progress lines for logs: counts, rate and time left, about once per tenth of a task."""

from __future__ import annotations

import pytest

from tunegate.engine import make_progress


def test_plain_progress_prints_tenths(capsys: pytest.CaptureFixture[str]) -> None:
    with make_progress("plain") as p:
        h = p.task("base: hellaswag", total=20)
        for _ in range(20):
            p.advance(h)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 11  # 0/10 .. 10/10
    assert lines[-1].startswith("base: hellaswag: 20/20 (") and "eta 0 s" in lines[-1]


def test_none_progress_is_silent(capsys: pytest.CaptureFixture[str]) -> None:
    with make_progress("none") as p:
        p.advance(p.task("x", total=3), 3)
    assert capsys.readouterr().err == ""
