"""How a task shows an item's input and reference in the store (``ItemScore.input``/``reference``)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["choice_input"]


def choice_input(context: str, choices: Sequence[str]) -> str:
    """A multiple-choice item's input: the context as sent, then each choice on a numbered line."""
    return context + "\n\n" + "\n".join(f"({i}) {c}" for i, c in enumerate(choices))
