"""The task registry: built-in tasks register themselves here; plugins via ``tunegate.tasks``."""

from __future__ import annotations

from tunegate.registry import Registry
from tunegate.tasks._base import Task

__all__ = ["TASKS"]

TASKS: Registry[type[Task]] = Registry(
    "task",
    builtin_modules=(
        "tunegate.tasks.hellaswag",
        "tunegate.tasks.triviaqa",
        "tunegate.tasks.regression",
        "tunegate.tasks.mmlu",
        "tunegate.tasks.truthfulqa",
        "tunegate.tasks.gsm8k",
        "tunegate.tasks.humaneval",
        "tunegate.tasks.custom",
        "tunegate.tasks.safety",
    ),
)
