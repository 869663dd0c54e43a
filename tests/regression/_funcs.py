"""User functions for the ``python`` assertion in the known-answer cases."""

from __future__ import annotations

from typing import Any

from tunegate.regression import AssertionResult


def short(output: str, ctx: Any) -> bool:
    return len(output) < 10


def word_fraction(output: str, ctx: Any) -> float:
    return min(1.0, len(output.split()) / 4)


def full(output: str, ctx: Any) -> AssertionResult:
    return AssertionResult("42" in output, 0.7, "looked for 42")
