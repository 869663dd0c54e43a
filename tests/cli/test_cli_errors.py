"""Bad input on the command line: one line, no traceback, exit code 2, nothing stored is damaged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _tunegate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tunegate", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["compare", "--base", "nope:/x", "--tuned", "hf:/y"], "unknown model scheme"),
        (["compare", "--base", "hf:/no/such/model", "--tuned", "hf:/no/such/model"], "no such model folder"),
        (
            ["compare", "--base", "hf:/x", "--tuned", "hf:/x", "--suite", "missing.yaml"],
            "suite file not found",
        ),
        (["validate", "dmeo"], 'Did you mean "demo"'),
        (
            [
                "compare",
                "--base",
                "hf:/x",
                "--tuned",
                "hf:/x",
                "--db",
                "postgresql://postgres@127.0.0.1:1/test",
            ],
            "cannot open database",
        ),
    ],
)
def test_user_errors_are_one_line_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    res = _tunegate(*args, cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert needle in res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert res.stderr.strip().startswith("error:")


def test_validate_ok(tmp_path: Path) -> None:
    res = _tunegate("validate", "demo", cwd=tmp_path)
    assert res.returncode == 0 and "ok" in res.stdout


def test_bad_input_does_not_damage_the_store(tmp_path: Path, tiny_model_dir: Path) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\ntasks:\n  - task: hellaswag\n    limit: 2\n")
    db = f"sqlite:///{tmp_path / 's.db'}"
    ok = _tunegate(
        "compare",
        "--base",
        f"hf:{tiny_model_dir}",
        "--tuned",
        f"hf:{tiny_model_dir}",
        "--suite",
        str(suite),
        "--db",
        db,
        "-q",
        "--allow-vacuous",  # a gate-less A/A smoke run: exit 3 without it
        cwd=tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    import sqlalchemy as sa

    def counts() -> tuple[int, int]:
        with sa.create_engine(db).connect() as c:
            return (
                c.execute(sa.text("select count(*) from responses")).scalar_one(),
                c.execute(sa.text("select count(*) from runs")).scalar_one(),
            )

    before = counts()
    suite.write_text("name: s\ntasks:\n  - task: hellaswag\n    limit: 2\n    bogus: 1\n")
    bad = _tunegate(
        "compare",
        "--base",
        f"hf:{tiny_model_dir}",
        "--tuned",
        f"hf:{tiny_model_dir}",
        "--suite",
        str(suite),
        "--db",
        db,
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and "bogus" in bad.stderr
    assert counts() == before
