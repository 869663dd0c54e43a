"""``tunegate diff``: paired deltas of two stored runs, read from the store, nothing recomputed."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tunegate.cli._diff import diff_scores
from tunegate.cli.main import app
from tunegate.store import ItemRow, ScoreRecord, Store, open_store

runner = CliRunner()


def _run(store: Store, kind: str, rows: list[ItemRow]) -> str:
    roles = {"base": "hf:base", "tuned": "hf:tuned"} if kind == "compare" else {"model": "hf:tuned"}
    with store.run(kind, suite="s", suite_hash="h", roles=roles, config={}) as run:
        run.put_items(rows)
    return run.id


def _rows(role: str, values: list[float], task: str = "hs", metric: str = "acc", start: int = 0):  # type: ignore[no-untyped-def]
    return [ItemRow(role, task, f"i{start + k}", {metric: v}) for k, v in enumerate(values)]


def _scores(rows: list[ItemRow]) -> list[ScoreRecord]:
    return [ScoreRecord("r", r.role, r.task, r.item, m, v) for r in rows for m, v in r.values.items()]


def test_diff_scores_pairs_items_and_reports_unpaired() -> None:
    a = _scores(_rows("tuned", [1, 0, 0, 1]))
    b = _scores(_rows("model", [1, 1, 1], start=1))
    b += [ScoreRecord("r", "model", "other", "i1", "acc", 1.0)]  # only in B
    (row,) = diff_scores(a, b, "tuned", "model")
    assert (row.task, row.metric, row.n, row.only_a, row.only_b) == ("hs", "acc", 3, 1, 0)
    assert row.mean_a == pytest.approx(1 / 3) and row.mean_b == 1.0
    assert row.delta == pytest.approx(2 / 3)
    assert row.ci_low <= row.delta <= row.ci_high
    assert row.p_value == pytest.approx(0.5)  # exact McNemar, 2 discordant pairs


def test_cli_diff_compare_run_roles_and_single_run(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'd.db'}"
    store = open_store(url)
    c = _run(store, "compare", _rows("base", [0] * 10) + _rows("tuned", [1] * 8 + [0] * 2))
    r = _run(store, "run", _rows("model", [1] * 10))
    res = runner.invoke(app, ["diff", c, r, "--db", url], terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "80.0" in res.output and "100.0" in res.output and "+20.0" in res.output
    assert "tuned: hf:tuned" in res.output and "model: hf:tuned" in res.output
    res = runner.invoke(app, ["diff", c[:6], r, "--role", "base", "--db", url], terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "+100.0" in res.output and "[+100.0, +100.0]" in res.output


def test_cli_diff_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'd.db'}"
    store = open_store(url)
    c = _run(store, "compare", _rows("base", [0, 1]) + _rows("tuned", [1, 1]))
    other = _run(store, "run", _rows("model", [1, 1], task="triviaqa"))
    empty = _run(store, "run", [])
    res = runner.invoke(app, ["diff", c, "nope", "--db", url])
    assert res.exit_code == 2 and "no run 'nope'" in res.output
    res = runner.invoke(app, ["diff", c, other, "--db", url])
    assert res.exit_code == 2 and "share no task/metric" in res.output
    res = runner.invoke(app, ["diff", c, empty, "--db", url])
    assert res.exit_code == 2 and "no stored 'model' scores" in res.output
    res = runner.invoke(app, ["diff", c, c, "--role", "both", "--db", url])
    assert res.exit_code == 2


def test_cli_diff_shows_unpaired_items(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'd.db'}"
    store = open_store(url)
    a = _run(store, "run", _rows("model", [1, 0, 1, 0]))
    b = _run(store, "run", _rows("model", [1, 1, 1], start=1))
    res = runner.invoke(app, ["diff", a, b, "--db", url], terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "unpaired" in res.output and "1/0" in res.output
