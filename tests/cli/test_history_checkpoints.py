"""``tunegate history --checkpoints``: a training's checkpoint runs in step order, on SQLite and on
PostgreSQL, made by real compare and regress runs on scripted ``mock:`` models; the HTML trend of a
checkpoint run is drawn against the training step; migration 0005 fills the new columns."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tunegate.cli.main import app
from tunegate.regression import parse_regression_suite, run_regression
from tunegate.report import render_html, trend_history
from tunegate.report._checkpoints import checkpoint_runs, checkpoint_table, turning_points
from tunegate.runner import CompareConfig, compare_models
from tunegate.store import Store, open_store
from tunegate.suite import load_suite
from tunegate.tasks import TASKS, TaskOptions

N = 4
SUITE = f"""name: ckpt
tasks:
  - task: triviaqa
    limit: {N}
    gates: [{{min_gain: 0.0}}]
  - task: hellaswag
    limit: {N}
    gates: [{{max_drop: 0.02}}]
"""
#: step -> (TriviaQA items answered right, nats the gold HellaSwag ending loses vs base)
CHECKPOINTS = {100: ({0}, 0.0), 200: ({0, 1, 2}, 0.5), 300: ({0, 1, 2, 3}, 2.0)}


def _script(path: Path, right: set[int], gold_drop: float) -> str:
    tq = TASKS.get("triviaqa")(TaskOptions(limit=N))
    hs = TASKS.get("hellaswag")(TaskOptions(limit=N))
    lines = []
    for i, d in enumerate(tq.docs()):
        text = " " + str(d.data["answer"]) if i in right else " no idea"
        lines.append({"prompt": tq.requests(d)[0].prompt, "text": text})  # type: ignore[attr-defined]
    for d in hs.docs():
        gold = int(str(d.data["label"]))
        for j, r in enumerate(hs.requests(d)):
            lp = (-1.0 - gold_drop) if j == gold else -3.0
            lines.append({"context": r.context, "continuation": r.continuation, "logprob": lp})  # type: ignore[attr-defined]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return f"mock:{path}"


def _training(
    store: Store, tmp_path: Path, training: str, steps: dict[int, tuple[set[int], float]]
) -> list[str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    suite = tmp_path / "s.yaml"
    suite.write_text(SUITE)
    base = _script(tmp_path / "base.jsonl", set(), 0.0)
    ids = []
    for step, (right, drop) in steps.items():
        folder = tmp_path / training / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        tuned = _script(folder / "model.jsonl", right, drop)
        cfg = CompareConfig(suite=load_suite(suite), base=base, tuned=tuned, step=step, training=training)
        ids.append(compare_models(cfg, store).run_id)
    return ids


def test_history_checkpoints_lists_a_training_in_step_order(db_url: str, tmp_path: Path) -> None:
    store = open_store(db_url)
    # saved out of order; a second training and an ordinary run must not show up
    ids = _training(store, tmp_path, "run-a", {s: CHECKPOINTS[s] for s in (200, 100, 300)})
    _training(store, tmp_path / "b", "run-b", {100: ({0, 1}, 0.0)})
    runs = checkpoint_runs(store, "run-a")
    assert [r.step for r in runs] == [100, 200, 300] and {r.training for r in runs} == {"run-a"}
    # a checkpoint run's id stands for its training; the newest training is the default
    assert [r.id for r in checkpoint_runs(store, ids[0][:8])] == [r.id for r in runs]
    assert {r.training for r in checkpoint_runs(store)} == {"run-b"}

    (tab,) = checkpoint_table(runs)
    assert tab.tasks == ("triviaqa", "hellaswag") and tab.drift_tasks == ("hellaswag",)
    deltas = [r.deltas["triviaqa"].delta for r in tab.rows]
    assert deltas == pytest.approx([1 / 4, 3 / 4, 4 / 4])  # base answers none right
    drift = [r.drift["hellaswag"].delta for r in tab.rows]
    assert drift == pytest.approx([0.0, -0.5, -2.0])  # gold_logprob, nats
    assert [r.checkpoint for r in tab.rows] == ["model.jsonl"] * 3
    assert turning_points(tab)[0].startswith("triviaqa: best at step 300")

    res = CliRunner().invoke(
        app, ["history", "--checkpoints", "--run", "run-a", "--db", db_url], env={"COLUMNS": "250"}
    )
    assert res.exit_code == 0, res.output
    out = res.output
    assert "checkpoints of training run-a" in out and "hellaswag drift Δgold_logprob" in out
    rows = [line for line in out.splitlines() if re.match(r"^\W*(100|200|300)\b", line)]
    assert [re.match(r"^\W*(\d+)", r).group(1) for r in rows] == ["100", "200", "300"]  # type: ignore[union-attr]
    assert "+25.0" in rows[0] and "+75.0" in rows[1] and "+100.0" in rows[2]
    assert "-2.0" in rows[2]  # the drift of the last checkpoint, in nats
    assert all(v in r for r, v in zip(rows, ("INCONCLUSIVE",) * 3, strict=True))

    missing = CliRunner().invoke(app, ["history", "--checkpoints", "--run", "nope", "--db", db_url])
    assert missing.exit_code == 2 and "no training or run 'nope'" in missing.output
    store.close()


def test_regress_checkpoints_show_pass_rates(db_url: str, tmp_path: Path) -> None:
    store = open_store(db_url)
    suite = parse_regression_suite(
        {
            "name": "rg",
            "cases": [
                {"id": "a", "prompt": "p1", "assert": [{"type": "contains", "value": "yes"}]},
                {"id": "b", "prompt": "p2", "assert": [{"type": "contains", "value": "yes"}]},
            ],
        }
    )
    for step, answers in ((10, ("yes", "yes")), (20, ("yes", "no"))):
        m = tmp_path / f"m{step}.jsonl"
        m.write_text(
            "".join(
                json.dumps({"prompt": p, "text": a}) + "\n"
                for p, a in zip(("p1", "p2"), answers, strict=True)
            )
        )
        run_regression(suite, f"mock:{m}", store, step=step, training="t-reg", config={"checkpoint": str(m)})
    (tab,) = checkpoint_table(checkpoint_runs(store, "t-reg"))
    assert [(r.step, r.pass_rate, r.verdict) for r in tab.rows] == [(10, 1.0, "PASS"), (20, 0.5, "FAIL")]
    assert turning_points(tab) == ["first failing case at step 20 (pass rate 50%)"]
    res = CliRunner().invoke(
        app, ["history", "--checkpoints", "--run", "t-reg", "--db", db_url], env={"COLUMNS": "200"}
    )
    assert res.exit_code == 0 and "50%" in res.output and "pass rate" in res.output, res.output
    store.close()


def test_trend_of_a_checkpoint_run_is_drawn_by_training_step(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    steps = {100: CHECKPOINTS[100], 200: CHECKPOINTS[200], 400: CHECKPOINTS[300]}
    ids = _training(store, tmp_path, "run-t", steps)
    current = store.get_run(ids[1])  # the middle checkpoint's report
    from tunegate.runner import ComparisonResult

    result = ComparisonResult.from_json(current.result or {})
    points = trend_history(store, result)
    assert [p.step for p in points] == [100, 200, 400]
    html = render_html(result, history=points)
    assert "Checkpoints of this training by step" in html and "training step</text>" in html
    found = re.findall(r'data-step="(\d+)"><title>[^<]*</title><text x="([\d.]+)"', html)
    assert [s for s, _ in found] == ["100", "200", "400"]
    xs = [float(x) for _, x in found]
    assert (xs[1] - xs[0]) * 2 == pytest.approx(xs[2] - xs[1], abs=0.2)  # placed by step, not by index
    assert ">step 200</text>" in html


def test_migration_0005_fills_step_and_training_from_older_rows(db_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from tunegate.store._store import _MIGRATIONS

    engine = sa.create_engine(db_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
    runs = sa.table(
        "runs",
        *(sa.column(c) for c in ("id", "kind", "suite", "suite_hash", "status", "n_computed", "n_cached")),
        sa.column("roles", sa.JSON),
        sa.column("config", sa.JSON),
        sa.column("started_at", sa.DateTime(timezone=True)),
    )
    t0 = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    base = {
        "kind": "regress",
        "suite": "s",
        "suite_hash": "h",
        "status": "completed",
        "n_computed": 0,
        "n_cached": 0,
    }
    with engine.begin() as conn:
        conn.execute(
            sa.insert(runs),
            [
                {
                    **base,
                    "id": "a1",
                    "roles": {},
                    "started_at": t0,
                    "config": {"checkpoint": "/out/checkpoint-2", "step": 2},
                },
                {
                    **base,
                    "id": "a2",
                    "roles": {},
                    "started_at": t0,
                    "config": {"checkpoint": "/w/checkpoint-9", "watch": True},
                },
                {**base, "id": "a3", "roles": {}, "started_at": t0, "config": {"limit": None}},
            ],
        )
    engine.dispose()
    store = open_store(db_url)
    got = {r.id: (r.step, r.training) for r in store.list_runs(limit=10)}
    assert got == {"a1": (2, "/out"), "a2": (None, "/w"), "a3": (None, None)}
    assert [r.id for r in store.list_runs(checkpoints=True)] == ["a1"]
    store.close()
