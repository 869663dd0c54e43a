"""The result store on SQLite and on a real PostgreSQL schema (the ``db_url`` fixture).

Each test would fail if the store lost, duplicated or mangled what it was given, if migrating were not
idempotent, or if a bad URL escaped as a raw SQLAlchemy traceback instead of a one-line StoreError.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tunegate.errors import StoreError
from tunegate.store import Store, open_store

TABLES = {"models", "responses", "runs", "scores", "comparisons"}


@pytest.fixture()
def store(db_url: str) -> Iterator[Store]:
    s = open_store(db_url)
    try:
        yield s
    finally:
        s.close()


def _head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from tunegate.store._store import _MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head
    return head


def _revision(store: Store) -> list[str]:
    with store.engine.connect() as c:
        return [r[0] for r in c.execute(sa.text("SELECT version_num FROM alembic_version"))]


def _row(
    key: str, payload: dict[str, Any], fp: str = "f" * 64
) -> tuple[str, str, str, dict[str, Any], dict[str, Any]]:
    return (key, fp, "loglikelihood", {"kind": "loglikelihood", "q": key}, payload)


def _run(store: Store, suite: str = "s") -> str:
    return store.start_run(
        kind="compare",
        suite=suite,
        suite_hash="h" * 64,
        base="hf:base",
        tuned="hf:tuned",
        config={"limit": 3},
    )


# -- migrations ------------------------------------------------------------------------------------


def test_migrations_create_every_table_on_an_empty_database(store: Store) -> None:
    names = set(sa.inspect(store.engine).get_table_names())
    assert names >= TABLES
    assert _revision(store) == [_head()]


def test_migrating_an_already_migrated_database_is_a_no_op_and_keeps_data(db_url: str) -> None:
    s1 = open_store(db_url)
    s1.put_responses([_row("k1", {"logprob": -1.5, "is_greedy": True})])
    run = _run(s1)
    s1.close()
    for _ in range(2):  # twice more: each open must find the schema at head and leave it alone
        s = open_store(db_url)
        assert _revision(s) == [_head()]
        assert s.get_responses(["k1"]) == {"k1": {"logprob": -1.5, "is_greedy": True}}
        assert s.get_run(run)["id"] == run
        assert s.count_responses() == 1
        s.close()


def test_reopening_a_migrated_database_does_not_run_alembic_upgrade(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_store(db_url).close()
    from alembic import command

    def boom(*a: Any, **k: Any) -> None:
        raise AssertionError("upgrade ran on a database already at head")

    monkeypatch.setattr(command, "upgrade", boom)
    open_store(db_url).close()


def test_existing_sqlite_file_with_data_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)  # a file that already holds someone's table
    con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    con.execute("INSERT INTO notes (body) VALUES ('keep me')")
    con.commit()
    con.close()
    url = f"sqlite:///{path}"
    s = open_store(url)
    s.put_responses([_row("k", {"x": 1})])
    run = _run(s)
    s.close()
    s = open_store(url)  # and reopening the store keeps the store's own rows
    assert s.get_responses(["k"]) == {"k": {"x": 1}}
    assert s.get_run(run)["status"] == "running"
    s.close()
    con = sqlite3.connect(path)
    assert con.execute("SELECT body FROM notes").fetchall() == [("keep me",)]
    con.close()


# -- the response cache ----------------------------------------------------------------------------


def test_responses_round_trip_unicode_and_nested_json(store: Store) -> None:
    payload = {
        "text": 'Grüße, 東京 — naïve café 🚀\n\ttab "quoted" \\ backslash',
        "nested": {"list": [1, 2.5, None, True, {"deep": ["ß", []]}], "empty": {}},
        "logprob": -12.345678901234,
        "n_tokens": 7,
    }
    store.put_responses([("k" * 64, "f" * 64, "generate", {"prompt": "東京?"}, payload)])
    got = store.get_responses(["k" * 64, "missing"])
    assert got == {"k" * 64: payload}
    with store.engine.connect() as c:
        req = c.execute(sa.text("SELECT request FROM responses")).scalar_one()
    if isinstance(req, str):  # SQLite hands JSON back as text through a raw query
        import json

        req = json.loads(req)
    assert req == {"prompt": "東京?"}


def test_inserting_the_same_key_twice_keeps_one_row(store: Store) -> None:
    store.put_responses([_row("dup", {"v": 1})])
    store.put_responses([_row("dup", {"v": 2}), _row("other", {"v": 3})])  # must not raise
    assert store.count_responses() == 2
    assert store.get_responses(["dup", "other"]) == {"dup": {"v": 1}, "other": {"v": 3}}


def test_the_same_key_twice_in_one_call_keeps_one_row(store: Store) -> None:
    store.put_responses([_row("dup", {"v": 1}), _row("dup", {"v": 1})])  # "duplicates win once"
    assert store.count_responses() == 1
    assert store.get_responses(["dup"]) == {"dup": {"v": 1}}


def test_get_responses_with_more_keys_than_one_chunk(store: Store) -> None:
    n = 1234  # > 2 chunks of 500
    keys = [f"{i:064d}" for i in range(n)]
    store.put_responses([_row(k, {"i": i}) for i, k in enumerate(keys)])
    asked = keys + [f"x{i:063d}" for i in range(10)]  # and some misses
    got = store.get_responses(asked)
    assert len(got) == n
    assert all(got[k] == {"i": i} for i, k in enumerate(keys))


def test_count_responses_by_fingerprint(store: Store) -> None:
    store.put_responses([_row("a", {}, fp="1" * 64), _row("b", {}, fp="1" * 64), _row("c", {}, fp="2" * 64)])
    assert store.count_responses() == 3
    assert store.count_responses("1" * 64) == 2
    assert store.count_responses("2" * 64) == 1
    assert store.count_responses("3" * 64) == 0


def test_remember_model_is_idempotent(store: Store) -> None:
    store.remember_model("m" * 64, "hf:a")
    store.remember_model("m" * 64, "hf:b")  # the first spec wins, no error
    with store.engine.connect() as c:
        rows = c.execute(sa.text("SELECT fingerprint, spec FROM models")).all()
    assert [tuple(r) for r in rows] == [("m" * 64, "hf:a")]


# -- runs ------------------------------------------------------------------------------------------


def test_start_finish_and_get_run(store: Store) -> None:
    run = _run(store, suite="demo")
    row = store.get_run(run)
    assert row["status"] == "running"
    assert row["finished_at"] is None
    assert row["config"] == {"limit": 3}
    assert (row["kind"], row["suite"], row["base"], row["tuned"]) == (
        "compare",
        "demo",
        "hf:base",
        "hf:tuned",
    )
    result = {"verdict": "PASS", "tasks": [{"task": "t", "delta": -0.025, "label": "ü"}]}
    store.finish_run(run, status="completed", result=result, n_computed=7, n_cached=5)
    row = store.get_run(run)
    assert row["status"] == "completed"
    assert row["result"] == result
    assert (row["n_computed"], row["n_cached"]) == (7, 5)
    assert row["finished_at"] is not None


def test_get_run_by_unique_prefix(store: Store) -> None:
    runs = [_run(store) for _ in range(3)]
    for r in runs:
        # the shortest prefix that is unique among the three
        n = next(n for n in range(1, len(r) + 1) if sum(o.startswith(r[:n]) for o in runs) == 1)
        assert store.get_run(r[:n])["id"] == r


def test_get_run_with_ambiguous_prefix_raises(store: Store) -> None:
    runs: list[str] = []
    while True:  # 17 random hex ids always share a first character
        runs.append(_run(store))
        firsts = [r[0] for r in runs]
        shared = [c for c in set(firsts) if firsts.count(c) > 1]
        if shared:
            break
    with pytest.raises(StoreError, match="ambiguous"):
        store.get_run(shared[0])


def test_get_unknown_run_raises(store: Store) -> None:
    _run(store)
    with pytest.raises(StoreError, match="no run"):
        store.get_run("zzzz-not-a-run")


def test_get_run_prefix_is_literal_not_a_like_pattern(store: Store) -> None:
    run = _run(store)
    # "%" and "_" are SQL LIKE wildcards; as run-id prefixes they match nothing (ids are hex)
    for pattern in ("%", "_", "_" * len(run)):
        with pytest.raises(StoreError, match="no run"):
            store.get_run(pattern)


def test_list_runs_filters_by_suite_newest_first(store: Store) -> None:
    a1 = _run(store, suite="alpha")
    b1 = _run(store, suite="beta")
    a2 = _run(store, suite="alpha")
    assert [r["id"] for r in store.list_runs(suite="alpha")] == [a2, a1]
    assert [r["id"] for r in store.list_runs(suite="beta")] == [b1]
    assert store.list_runs(suite="gamma") == []
    assert {r["id"] for r in store.list_runs()} == {a1, b1, a2}
    assert len(store.list_runs(limit=2)) == 2


# -- scores and comparisons -------------------------------------------------------------------------


def test_scores_round_trip(store: Store) -> None:
    run, other = _run(store), _run(store)
    rows = [
        ("base", "hellaswag", "17", "acc", 1.0, None),
        ("tuned", "hellaswag", "17", "acc", 0.0, None),
        ("base", "triviaqa", "3", "f1", 0.4, "Zürich 東京"),
        ("tuned", "triviaqa", "3", "f1", 0.25, ""),
    ]
    store.put_scores(run, rows)
    store.put_scores(other, [("base", "t", "1", "m", 0.5, None)])
    got = {
        (r["role"], r["task"], r["item"], r["metric"], r["value"], r["output"]) for r in store.get_scores(run)
    }
    assert got == set(rows)
    assert all(r["run_id"] == run for r in store.get_scores(run))
    assert store.get_scores("nope") == []


def test_many_scores_are_written_in_chunks(store: Store) -> None:
    run = _run(store)
    rows = [("base", "t", str(i), "acc", float(i % 2), None) for i in range(1100)]
    store.put_scores(run, rows)
    assert len(store.get_scores(run)) == 1100


def test_comparisons_round_trip(store: Store) -> None:
    run, other = _run(store), _run(store)
    data = {
        "metric": "acc_norm",
        "base": 0.5,
        "tuned": 0.525,
        "delta": 0.025,
        "ci_low": -0.01,
        "ci_high": 0.06,
        "p_value": None,
        "discordant": [3, 4],
        "note": "naïve",
    }
    store.put_comparisons(run, [("hellaswag", "acc_norm", data), ("hellaswag", "acc", {"delta": 0.0})])
    store.put_comparisons(other, [("x", "y", {"delta": 1.0})])
    store.put_comparisons(other, [])  # nothing to write is fine
    got = {(r["task"], r["metric"]): r["data"] for r in store.get_comparisons(run)}
    assert got == {("hellaswag", "acc_norm"): data, ("hellaswag", "acc"): {"delta": 0.0}}


# -- bad URLs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["postgresql://postgres@127.0.0.1:1/test", "nosuchdb://x", "sqlite:////nonexistent-dir/sub/store.db"],
)
def test_bad_url_raises_one_line_store_error(url: str) -> None:
    with pytest.raises(StoreError) as ei:
        open_store(url)
    msg = str(ei.value)
    assert msg.strip()
    assert "\n" not in msg.strip(), msg
