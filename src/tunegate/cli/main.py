"""Entry point of the ``tunegate`` command. Each command module registers itself on import."""

from __future__ import annotations

from tunegate.cli import _ab, _compare, _diff, _history, _judge, _regress, _report, _safety  # noqa: F401
from tunegate.cli._app import app

__all__ = ["main"]


def main() -> None:
    """Run the CLI."""
    app()


if __name__ == "__main__":
    main()
