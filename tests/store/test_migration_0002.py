"""Upgrading a 0001 store that holds data to 0002, on SQLite and PostgreSQL: nothing is lost.

The 0001 rows are written with the 0001 table shapes (as the 0001 code wrote them), the store is then
opened by today's code (which migrates it), and every model, response, run, score, output and
comparison must be readable through the new records.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from tunegate.store import _schema, open_store
from tunegate.store._store import _MIGRATIONS

T0 = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

_md = sa.MetaData()
_runs = sa.Table(
    "runs",
    _md,
    sa.Column("id", sa.String(32)),
    sa.Column("kind", sa.String(16)),
    sa.Column("suite", sa.String(200)),
    sa.Column("suite_hash", sa.String(64)),
    sa.Column("base", sa.Text),
    sa.Column("tuned", sa.Text),
    sa.Column("status", sa.String(16)),
    sa.Column("config", sa.JSON),
    sa.Column("result", sa.JSON),
    sa.Column("n_computed", sa.Integer),
    sa.Column("n_cached", sa.Integer),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
)
_scores = sa.Table(
    "scores",
    _md,
    *(sa.Column(c, sa.String(200)) for c in ("run_id", "role", "task", "item", "metric")),
    sa.Column("value", sa.Float),
    sa.Column("output", sa.Text),
)
_comparisons = sa.Table(
    "comparisons",
    _md,
    *(sa.Column(c, sa.String(200)) for c in ("run_id", "task", "metric")),
    sa.Column("data", sa.JSON),
)
_responses = sa.Table(
    "responses",
    _md,
    *(sa.Column(c, sa.String(64)) for c in ("key", "fingerprint", "kind")),
    sa.Column("request", sa.JSON),
    sa.Column("response", sa.JSON),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)
_models = sa.Table(
    "models",
    _md,
    sa.Column("fingerprint", sa.String(64)),
    sa.Column("spec", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)

COMPARE_RESULT = {
    "schema": "tunegate.result/v1",
    "verdict": "PASS",
    "tasks": [{"task": "hs", "metrics": [{"metric": "acc", "delta": 0.5}]}],
}


def _alembic(db_url: str, revision: str, *, down: bool = False) -> None:
    from alembic import command
    from alembic.config import Config

    engine = sa.create_engine(db_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)
    engine.dispose()


def _run(rid: str, kind: str, base: str | None, tuned: str, status: str, result: Any) -> dict[str, Any]:
    return {
        "id": rid,
        "kind": kind,
        "suite": "demo",
        "suite_hash": "h" * 64,
        "base": base,
        "tuned": tuned,
        "status": status,
        "config": {"limit": 2, "note": "ü"},
        "result": result,
        "n_computed": 5,
        "n_cached": 7,
        "started_at": T0,
        "finished_at": T0 + dt.timedelta(minutes=1),
    }


def _fill_0001(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    with engine.begin() as c:
        c.execute(sa.insert(_models), [{"fingerprint": "f" * 64, "spec": "hf:base", "created_at": T0}])
        c.execute(
            sa.insert(_responses),
            [
                {
                    "key": "k" * 64,
                    "fingerprint": "f" * 64,
                    "kind": "generate",
                    "request": {"prompt": "東京?"},
                    "response": {"text": "Tokyo"},
                    "created_at": T0,
                }
            ],
        )
        c.execute(
            sa.insert(_runs),
            [
                _run("c1", "compare", "hf:base", "hf:tuned", "completed", COMPARE_RESULT),
                _run("r1", "run", None, "hf:solo", "completed", {"tasks": []}),
                _run("g1", "regress", None, "hf:tuned", "completed", {"schema": "tunegate.regress/1"}),
                _run("x1", "compare", "hf:base", "hf:tuned", "failed", None),
            ],
        )
        c.execute(
            sa.insert(_scores),
            [
                {"run_id": "c1", "role": r, "task": "hs", "item": i, "metric": m, "value": v, "output": o}
                for r, i, o in (("base", "1", "chose 0"), ("tuned", "1", "chose 1"), ("base", "2", None))
                for m, v in (("acc", 1.0), ("acc_norm", 0.0))
            ]
            + [
                {
                    "run_id": "r1",
                    "role": "model",
                    "task": "qa",
                    "item": "7",
                    "metric": "f1",
                    "value": 0.5,
                    "output": "Zürich",
                },
            ],
        )
        c.execute(
            sa.insert(_comparisons),
            [
                {"run_id": "c1", "task": "hs", "metric": "acc", "data": {"metric": "acc", "delta": 0.5}},
                {"run_id": "x1", "task": "hs", "metric": "acc", "data": {"metric": "acc", "delta": -1.0}},
            ],
        )
    engine.dispose()


def test_upgrading_a_0001_store_with_data_keeps_everything(db_url: str) -> None:
    _alembic(db_url, "0001")
    _fill_0001(db_url)
    store = open_store(db_url)  # migrates to the head (0002, then 0003)
    with store.engine.connect() as c:
        assert (
            c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
            == _schema.SCHEMA_REVISION
        )
    names = set(sa.inspect(store.engine).get_table_names())
    assert "comparisons" not in names and "items" in names

    assert store.get_responses(["k" * 64]) == {"k" * 64: {"text": "Tokyo"}}
    assert store.get_response_records(["k" * 64])["k" * 64].request == {"prompt": "東京?"}
    with store.engine.connect() as c:
        assert c.execute(sa.text("SELECT spec FROM models")).scalar_one() == "hf:base"

    runs = {r.id: r for r in store.list_runs()}
    assert set(runs) == {"c1", "r1", "g1", "x1"}
    assert runs["c1"].roles == {"base": "hf:base", "tuned": "hf:tuned"}
    assert runs["r1"].roles == {"model": "hf:solo"}  # the score role a 0001 `run` used
    assert runs["g1"].roles == {"tuned": "hf:tuned"}
    for r in runs.values():
        assert (r.suite, r.suite_hash, r.n_computed, r.n_cached) == ("demo", "h" * 64, 5, 7)
        assert r.config == {"limit": 2, "note": "ü"} and r.parent_id is None
        assert r.started_at == T0 and r.finished_at == T0 + dt.timedelta(minutes=1)
    assert runs["c1"].result == COMPARE_RESULT and runs["c1"].verdict == "PASS"
    assert runs["x1"].status == "failed"
    # the comparison of a run without a result survives in that run's result; the other was a copy
    assert runs["x1"].result == {
        "comparisons": [{"task": "hs", "metric": "acc", "data": {"metric": "acc", "delta": -1.0}}]
    }

    assert len(store.get_scores("c1")) == 6 and len(store.get_scores("r1")) == 1
    items = {(i.task, i.item): i for i in store.items("c1")}
    assert items[("hs", "1")].output("base") == "chose 0"
    assert items[("hs", "1")].output("tuned") == "chose 1"
    assert items[("hs", "1")].answers["tuned"].scores == {"acc": 1.0, "acc_norm": 0.0}
    assert items[("hs", "2")].output("base") is None and set(items[("hs", "2")].answers) == {"base"}
    (solo,) = store.items("r1")
    assert (
        solo.output("model") == "Zürich" and solo.input is None and solo.answers["model"].response_keys == ()
    )
    store.close()


def test_downgrading_0002_and_upgrading_again_keeps_the_data(db_url: str) -> None:
    _alembic(db_url, "0001")
    _fill_0001(db_url)
    _alembic(db_url, "0002")
    _alembic(db_url, "0001", down=True)
    engine = sa.create_engine(db_url)
    with engine.connect() as c:
        rows = {
            r.id: (r.base, r.tuned) for r in c.execute(sa.select(_runs.c.id, _runs.c.base, _runs.c.tuned))
        }
        outputs = {
            (r.run_id, r.role, r.item, r.metric): r.output for r in c.execute(sa.select(_scores)).all()
        }
    engine.dispose()
    assert rows["c1"] == ("hf:base", "hf:tuned") and rows["r1"] == (None, "hf:solo")
    assert (
        outputs[("c1", "tuned", "1", "acc_norm")] == "chose 1"
        and outputs[("r1", "model", "7", "f1")] == "Zürich"
    )
    store = open_store(db_url)
    assert store.get_run("c1").roles == {"base": "hf:base", "tuned": "hf:tuned"}
    assert store.items("c1")[0].output("base") == "chose 0"
    store.close()
