"""The trend chart takes only earlier completed runs of the same suite definition and the same base,
from a real SQLite store, and labels each run with its tuned model and date."""

from __future__ import annotations

import dataclasses
import re
import time
from pathlib import Path

from tests.report.conftest import make_result
from tunegate.report import render_html, trend_history
from tunegate.runner import ComparisonResult
from tunegate.store import open_store


def _store_run(
    store, result: ComparisonResult, suite_hash: str, status: str = "completed"
) -> ComparisonResult:  # type: ignore[no-untyped-def]
    run_id = store.start_run(
        kind="compare",
        suite=result.suite,
        suite_hash=suite_hash,
        roles={"base": result.base["spec"], "tuned": result.tuned["spec"]},
        config={},
    )
    stored = dataclasses.replace(result, run_id=run_id)
    store.finish_run(run_id, status=status, result=stored.to_json(), n_computed=0, n_cached=0)
    time.sleep(0.01)  # distinct start times
    return stored


def test_trend_keeps_same_suite_hash_and_base_only(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/t.db")
    r = make_result()
    other_base = {"spec": "hf:/models/other", "fingerprint": "0" * 16, "loaded": True}

    def tuned(name: str) -> dict[str, object]:
        return {"spec": f"hf:/models/base?adapter=/ckpt/{name}", "fingerprint": name, "loaded": True}

    kept = [_store_run(store, dataclasses.replace(r, tuned=tuned(f"checkpoint-{i}")), "H") for i in (1, 2)]
    _store_run(store, dataclasses.replace(r, base=other_base, tuned=tuned("foreign")), "H")  # other base
    _store_run(store, dataclasses.replace(r, tuned=tuned("edited-suite")), "H2")  # same name, other suite
    _store_run(store, dataclasses.replace(r, tuned=tuned("crashed")), "H", status="failed")
    current = _store_run(store, dataclasses.replace(r, tuned=tuned("checkpoint-3")), "H")

    points = trend_history(store, current)
    assert [p.result.run_id for p in points] == [k.run_id for k in kept] + [current.run_id]
    assert all(p.started is not None for p in points)

    html = render_html(current, history=points)
    chart = re.search(r'<svg[^>]*id="trend-chart".*?</svg>', html, flags=re.S)
    assert chart is not None and "last 3 runs" in html
    svg = chart.group(0)
    labels = re.findall(r'class="tick run-model">([^<]*)<', svg)
    assert labels == ["checkpoint-1", "checkpoint-2", "checkpoint-3"]
    today = points[-1].started.strftime("%Y-%m-%d")  # type: ignore[union-attr]
    assert re.findall(r'class="tick run-date">([^<]*)<', svg) == [today] * 3
    for foreign in ("foreign", "edited-suite", "crashed"):
        assert foreign not in svg


def test_no_earlier_run_no_trend(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/t.db")
    current = _store_run(store, make_result(), "H")
    points = trend_history(store, current)
    assert len(points) == 1 and 'id="trend-chart"' not in render_html(current, history=points)
