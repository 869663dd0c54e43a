"""Entry point of the ``tunegate`` command."""

from __future__ import annotations

from tunegate.cli import _compare, _history  # noqa: F401  (commands register on import)
from tunegate.cli._app import app

__all__ = ["main"]


def main() -> None:
    """Run the CLI."""
    app()


if __name__ == "__main__":
    main()
