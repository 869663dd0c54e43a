"""Hostile and broken inputs on the command line: exit 2, exactly one line on stderr, no traceback, and
the runs already in the store unchanged (``history`` before = after)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ENV = {"COLUMNS": "250"}


def _tunegate(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tunegate", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **ENV, **(env or {})},
    )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> tuple[Path, str]:
    """A folder with a store holding one finished comparison."""
    root = tmp_path_factory.mktemp("bad")
    (root / "s.yaml").write_text("name: s\ntasks:\n  - task: hellaswag\n    limit: 2\n")
    db = f"sqlite:///{root / 's.db'}"
    model = f"hf:{tiny_model_dir}"
    ok = _tunegate(
        "compare",
        "--base",
        model,
        "--tuned",
        model,
        "--suite",
        str(root / "s.yaml"),
        "--db",
        db,
        "-q",
        "--allow-vacuous",  # an A/A run without gates: vacuous on purpose
        cwd=root,
    )
    assert ok.returncode == 0, ok.stderr
    return root, db


def _bomb(path: Path) -> str:
    rows = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        rows.append(
            f"{cur}: &{cur} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]"
        )
    path.write_text("name: bomb\n" + "\n".join(rows) + "\ntasks: [{task: hellaswag}]\n")
    return str(path)


def _non_utf8(path: Path) -> str:
    path.write_bytes(b"name: caf\xe9\ntasks:\n  - task: hellaswag\n")
    return str(path)


def _big(path: Path) -> str:
    path.write_text("name: big\n# " + "x" * (1 << 20) + "\ntasks: [{task: hellaswag}]\n")
    return str(path)


def _non_utf8_data(path: Path) -> str:
    data = path.with_suffix(".jsonl")
    data.write_bytes(b'{"q": "ok", "a": "ok"}\n{"q": "caf\xe9", "a": "x"}\n')
    path.write_text(
        f"name: s\ntasks:\n  - task: custom\n    options:\n      path: {data}\n"
        "      prompt: '{q}'\n      reference: a\n      metrics: [exact_match]\n"
    )
    return str(path)


CASES: list[tuple[str, Callable[[Path], list[str]], dict[str, str], str]] = [
    (
        "non-UTF-8 suite",
        lambda d: ["validate", _non_utf8(d / "u.yaml")],
        {},
        "not UTF-8 text: byte 0xe9 at byte offset 9",
    ),
    ("alias bomb", lambda d: ["validate", _bomb(d / "b.yaml")], {}, "aliases expand to more than"),
    (
        "suite over the size cap",
        lambda d: ["validate", _big(d / "big.yaml")],
        {},
        "more than the limit of 1 MiB",
    ),
    (
        "markup in a suite path",
        lambda d: ["validate", str(d / "[/]x[red]y[/red].yaml")],
        {},
        "[/]x[red]y[/red].yaml",
    ),
    (
        "markup in a model spec",
        lambda d: [
            "compare",
            "--base",
            "hf:/no/[/]such",
            "--tuned",
            "hf:/x",
            "--db",
            "{db}",
            "--suite",
            str(d / "s.yaml"),
        ],
        {},
        "/no/[/]such",
    ),
    (
        "concurrency nan",
        lambda d: ["history", "--db", "{db}"],
        {"TUNEGATE_OPENAI_CONCURRENCY": "nan"},
        "TUNEGATE_OPENAI_CONCURRENCY='nan'",
    ),
    (
        "timeout inf",
        lambda d: ["history", "--db", "{db}"],
        {"TUNEGATE_OPENAI_TIMEOUT": "inf"},
        "must be a finite number",
    ),
    (
        "timeout negative",
        lambda d: ["history", "--db", "{db}"],
        {"TUNEGATE_OPENAI_TIMEOUT": "-1"},
        "must be in (0, 86400]",
    ),
    (
        "attempts not a number",
        lambda d: ["history", "--db", "{db}"],
        {"TUNEGATE_OPENAI_ATTEMPTS": "many"},
        "is not a number",
    ),
    (
        "log level",
        lambda d: ["history", "--db", "{db}"],
        {"TUNEGATE_LOG": "LOUD"},
        "TUNEGATE_LOG='LOUD' must be one of",
    ),
    (
        "threads zero",
        lambda d: ["history", "--db", "{db}"],
        {"TUNEGATE_THREADS": "0"},
        "TUNEGATE_THREADS='0' must be in [1, 1024]",
    ),
    (
        "threads fraction",
        lambda d: ["history", "--db", "{db}"],
        {"TUNEGATE_THREADS": "1.5"},
        "TUNEGATE_THREADS='1.5' must be a whole number",
    ),
    (
        "sandbox flag",
        lambda d: ["history", "--db", "{db}"],
        {"TUNEGATE_SANDBOX_NO_NAMESPACES": "maybe"},
        "TUNEGATE_SANDBOX_NO_NAMESPACES",
    ),
]


@pytest.mark.parametrize(("make", "env", "needle"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_the_store_is_unchanged(
    seeded: tuple[Path, str],
    tmp_path: Path,
    make: Callable[[Path], list[str]],
    env: dict[str, str],
    needle: str,
) -> None:
    _root, db = seeded
    (tmp_path / "s.yaml").write_text("name: s\ntasks:\n  - task: hellaswag\n    limit: 2\n")
    before = _tunegate("history", "--db", db, cwd=tmp_path)
    assert before.returncode == 0, before.stderr
    args = [a.replace("{db}", db) for a in make(tmp_path)]
    res = _tunegate(*args, cwd=tmp_path, env=env)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    assert needle in lines[0]
    assert "ok" not in res.stdout
    assert _tunegate("history", "--db", db, cwd=tmp_path).stdout == before.stdout


def test_a_non_utf8_data_file_is_one_line_and_earlier_runs_are_unchanged(
    seeded: tuple[Path, str], tmp_path: Path, tiny_model_dir: Path
) -> None:
    _root, db = seeded
    before = _tunegate("history", "--db", db, cwd=tmp_path).stdout
    model = f"hf:{tiny_model_dir}"
    suite = _non_utf8_data(tmp_path / "d.yaml")
    res = _tunegate(
        "compare", "--base", model, "--tuned", model, "--suite", suite, "--db", db, "-q", cwd=tmp_path
    )
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert "d.jsonl: not UTF-8 text: byte 0xe9 at byte offset 33 (line 2)" in lines[0]
    after = _tunegate("history", "--db", db, cwd=tmp_path).stdout
    # the failed attempt is recorded as a new run; every earlier row is as it was
    assert set(before.splitlines()) <= set(after.splitlines())


def test_markup_in_stored_names_is_shown_as_typed(
    seeded: tuple[Path, str], tmp_path: Path, tiny_model_dir: Path
) -> None:
    """A suite named with rich markup and a model spec with ``[/]``: the run completes, --json is written,
    and the names appear verbatim in the terminal report and in ``history``."""
    _root, db = seeded
    name = "evil [/] [red]x[/red] :thumbs_up:"
    suite = tmp_path / "m.yaml"
    suite.write_text(f"name: {json.dumps(name)}\ntasks:\n  - task: hellaswag\n    limit: 2\n")
    model = f"hf:{tiny_model_dir}"
    tuned = f"hf:{tiny_model_dir}?name=[/]t[red]"
    out = tmp_path / "r.json"
    res = _tunegate(
        "compare",
        "--base",
        model,
        "--tuned",
        tuned,
        "--suite",
        str(suite),
        "--db",
        db,
        "--json",
        str(out),
        "-q",
        "--allow-vacuous",  # no gates: vacuous on purpose
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    assert json.loads(out.read_text())["suite"] == name
    assert repr(name) in res.stdout and "name=[/]t[red]" in res.stdout
    hist = _tunegate("history", "--db", db, cwd=tmp_path)
    assert hist.returncode == 0, hist.stderr
    assert name in hist.stdout and "name=[/]t[red]" in hist.stdout
