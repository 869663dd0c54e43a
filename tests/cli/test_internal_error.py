"""A bug is not a verdict: an unexpected exception exits 4 with its traceback, never 1 ("a gate failed")."""

from __future__ import annotations

import pytest
import typer

from tunegate.cli._app import EXIT_INTERNAL, guarded


def test_an_unexpected_exception_exits_4_with_its_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    @guarded
    def buggy() -> None:
        raise ValueError("boom")

    with pytest.raises(typer.Exit) as e:
        buggy()
    assert e.value.exit_code == EXIT_INTERNAL == 4
    err = capsys.readouterr().err
    assert "Traceback" in err and "ValueError: boom" in err and "internal error" in err


def test_typer_exits_pass_through_unchanged() -> None:
    @guarded
    def gate_failed() -> None:
        raise typer.Exit(1)

    with pytest.raises(typer.Exit) as e:
        gate_failed()
    assert e.value.exit_code == 1
