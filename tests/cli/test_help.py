"""The CLI explains itself: top-level help lists tasks, suites, exit codes and examples; --version;
every option of every command has a help text."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import typer

from tunegate.cli.main import app
from tunegate.suite import builtin_suites
from tunegate.tasks import TASKS


def _tunegate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tunegate", *args],
        capture_output=True,
        text=True,
        env={"COLUMNS": "100", "PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)},
    )


def test_top_level_help_lists_tasks_suites_exit_codes_and_examples() -> None:
    res = _tunegate("--help")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    for name in TASKS.names():
        assert name in out, name
    for name in builtin_suites():
        assert name in out
    for code, meaning in (
        ("0", "every gate passed"),
        ("1", "a gate failed"),
        ("2", "usage"),
        ("3", "inconclusive"),
        ("130", "interrupted"),
    ):
        assert any(line.split()[:1] == [code] and meaning in line for line in out.splitlines()), (code, out)
    assert "tunegate compare --base" in out and "tunegate validate examples/compare.yaml" in out
    # no arguments: the same help, not an error
    bare = _tunegate()
    assert "Built-in tasks" in bare.stdout + bare.stderr


def test_version() -> None:
    res = _tunegate("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"tunegate {version('tunegate')}"


def test_every_option_of_every_command_has_help() -> None:
    group = typer.main.get_command(app)
    assert hasattr(group, "commands")
    missing = [
        f"{name} {p.name}"
        for name, cmd in group.commands.items()
        for p in cmd.params
        if not getattr(p, "help", None)
    ]
    assert missing == []
    for name, cmd in group.commands.items():
        assert cmd.help, f"command {name} has no help"
