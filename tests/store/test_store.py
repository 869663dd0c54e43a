"""The result store on SQLite and on a real PostgreSQL schema (the ``db_url`` fixture).

Each test would fail if the store lost, duplicated or mangled what it was given, if migrating were not
idempotent, or if a bad URL escaped as a raw SQLAlchemy traceback instead of a one-line StoreError.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tunegate.errors import StoreError
from tunegate.store import ItemRow, RunRecord, ScoreRecord, Store, open_store

TABLES = {"models", "responses", "runs", "scores", "items"}


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
        roles={"base": "hf:base", "tuned": "hf:tuned"},
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
        assert s.get_run(run).id == run
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
    assert s.get_run(run).status == "running"
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
    assert isinstance(row, RunRecord)
    assert row.status == "running"
    assert row.finished_at is None
    assert row.config == {"limit": 3}
    assert (row.kind, row.suite, row.spec("base"), row.spec("tuned")) == (
        "compare",
        "demo",
        "hf:base",
        "hf:tuned",
    )
    assert row.started_at.tzinfo is not None  # aware UTC on SQLite too
    result = {"verdict": "PASS", "tasks": [{"task": "t", "delta": -0.025, "label": "ü"}]}
    store.finish_run(run, status="completed", result=result, n_computed=7, n_cached=5)
    row = store.get_run(run)
    assert row.status == "completed"
    assert row.result == result
    assert row.verdict == "PASS"
    assert (row.n_computed, row.n_cached) == (7, 5)
    assert row.finished_at is not None and row.finished_at >= row.started_at


def test_get_run_by_unique_prefix(store: Store) -> None:
    runs = [_run(store) for _ in range(3)]
    for r in runs:
        # the shortest prefix that is unique among the three
        n = next(n for n in range(1, len(r) + 1) if sum(o.startswith(r[:n]) for o in runs) == 1)
        assert store.get_run(r[:n]).id == r


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
    assert [r.id for r in store.list_runs(suite="alpha")] == [a2, a1]
    assert [r.id for r in store.list_runs(suite="beta")] == [b1]
    assert store.list_runs(suite="gamma") == []
    assert {r.id for r in store.list_runs()} == {a1, b1, a2}
    assert len(store.list_runs(limit=2)) == 2


# -- per-item scores and texts ---------------------------------------------------------------------


def test_scores_round_trip(store: Store) -> None:
    run, other = _run(store), _run(store)
    rows = [
        ItemRow("base", "hellaswag", "17", {"acc": 1.0, "acc_norm": 0.0}),
        ItemRow("tuned", "hellaswag", "17", {"acc": 0.0, "acc_norm": 1.0}),
        ItemRow("base", "triviaqa", "3", {"f1": 0.4}, output="Zürich 東京"),
        ItemRow("tuned", "triviaqa", "3", {"f1": 0.25}, output=""),
    ]
    store.put_items(run, rows)
    store.put_items(other, [ItemRow("base", "t", "1", {"m": 0.5})])
    got = set(store.get_scores(run))
    want = {ScoreRecord(run, r.role, r.task, r.item, m, v) for r in rows for m, v in r.values.items()}
    assert got == want
    assert store.get_scores("nope") == []


def test_many_scores_are_written_in_chunks(store: Store) -> None:
    run = _run(store)
    store.put_items(run, [ItemRow("base", "t", str(i), {"acc": float(i % 2)}) for i in range(1100)])
    assert len(store.get_scores(run)) == 1100
    assert len(store.items(run)) == 1100


def test_items_give_input_reference_and_each_roles_answer(store: Store) -> None:
    run, other = _run(store), _run(store)
    prompt = 'Q: Where is 東京?\nA: "quoted" \\ ' + "x" * 5000  # long prompts are kept whole
    store.put_items(
        run,
        [
            ItemRow("base", "qa", "10", {"em": 0.0, "f1": 0.5}, "Kyoto, Japan", prompt, "Japan", ("k1",)),
            ItemRow("tuned", "qa", "10", {"em": 1.0, "f1": 1.0}, "Japan", prompt, "Japan", ("k2",)),
            ItemRow("base", "qa", "9", {"em": 1.0, "f1": 1.0}, "Paris", "Q: France?", "Paris", ("k3",)),
            ItemRow("tuned", "qa", "9", {"em": 1.0, "f1": 1.0}, "Paris", "Q: France?", "Paris", ("k4",)),
            ItemRow("base", "mc", "a", {"acc": 1.0}, "chose 0", "ctx", "0", ("k5", "k6")),
        ],
    )
    store.put_items(other, [ItemRow("base", "qa", "10", {"em": 1.0}, "other run")])
    items = store.items(run)
    assert [(i.task, i.item) for i in items] == [("mc", "a"), ("qa", "9"), ("qa", "10")]  # numeric order
    (mc, _, qa10) = items
    assert (qa10.run_id, qa10.input, qa10.reference) == (run, prompt, "Japan")
    assert set(qa10.answers) == {"base", "tuned"}
    assert (qa10.output("base"), qa10.output("tuned")) == ("Kyoto, Japan", "Japan")
    assert qa10.answers["tuned"].scores == {"em": 1.0, "f1": 1.0}
    assert qa10.score("base", "f1") == 0.5 and qa10.score("judge", "f1") is None
    assert qa10.answers["base"].response_keys == ("k1",)
    assert mc.answers["base"].response_keys == ("k5", "k6") and set(mc.answers) == {"base"}
    assert [i.item for i in store.items(run, task="qa")] == ["9", "10"]
    assert store.items(run, task="nope") == []
    assert store.items("nope") == []


def test_response_records_carry_request_and_response(store: Store) -> None:
    store.put_responses([("k1", "f" * 64, "generate", {"prompt": "hi"}, {"text": "hello"})])
    got = store.get_response_records(["k1", "missing"])
    assert set(got) == {"k1"}
    r = got["k1"]
    assert (r.key, r.fingerprint, r.kind) == ("k1", "f" * 64, "generate")
    assert (r.request, r.response) == ({"prompt": "hi"}, {"text": "hello"})
    assert r.created_at.tzinfo is not None


# -- run roles, parents and the lifecycle ------------------------------------------------------------


def test_a_run_has_any_roles_and_an_optional_parent(store: Store) -> None:
    parent = _run(store)
    roles = {"tuned": "hf:t", "attacker": "openai:a?base_url=http://x/v1", "judge": "hf:j"}
    with store.run("safety", suite="s", suite_hash="h", roles=roles, config={}, parent=parent[:6]) as r:
        r.put_items([ItemRow("judge", "attacks", "1", {"asr": 1.0}, "UNSAFE")])
    child = store.get_run(r.id)
    assert child.roles == roles and child.parent_id == parent  # a prefix is resolved to the full id
    assert [c.id for c in store.list_runs(parent=parent)] == [r.id]
    assert [c.id for c in store.list_runs(kind="safety")] == [r.id]
    assert store.items(r.id)[0].output("judge") == "UNSAFE"
    with pytest.raises(StoreError, match="no run"):
        store.start_run(kind="x", suite="s", suite_hash="h", roles={}, config={}, parent="zzzz")


def test_run_context_records_completed_failed_and_interrupted(store: Store) -> None:
    def start() -> Any:
        return store.run("compare", suite="s", suite_hash="h", roles={"base": "a"}, config={})

    with start() as ok:
        ok.counts = lambda: (3, 4)
        ok.finish({"verdict": "PASS"})
    with pytest.raises(RuntimeError), start() as bad:
        bad.finish({"verdict": "PASS"})
        raise RuntimeError("a bug")
    with pytest.raises(KeyboardInterrupt), start() as stopped:
        raise KeyboardInterrupt
    got = {r.id: r for r in store.list_runs()}
    assert (got[ok.id].status, got[ok.id].result, got[ok.id].n_computed, got[ok.id].n_cached) == (
        "completed",
        {"verdict": "PASS"},
        3,
        4,
    )
    assert (got[bad.id].status, got[bad.id].result) == ("failed", None)  # no half result is kept
    assert got[stopped.id].status == "interrupted"
    assert all(r.finished_at is not None for r in got.values())
    assert got[ok.id].pid == os.getpid() and got[ok.id].host == socket.gethostname()


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
