"""Fixtures of the task tests: one tiny model per session, an engine with a fresh store per test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tunegate.engine import Engine
from tunegate.models import Model
from tunegate.runner import TaskScores, evaluate_task
from tunegate.store import open_store
from tunegate.tasks import Task


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path) -> Model:
    return Model(f"hf:{tiny_model_dir}")


@pytest.fixture()
def run_tiny(tiny_model: Model, tmp_path: Path) -> Callable[[Task, int], TaskScores]:
    """Evaluate the first ``n`` documents of a task with the tiny model."""

    def run(task: Task, n: int = 2) -> TaskScores:
        engine = Engine(tiny_model, open_store(f"sqlite:///{tmp_path}/s.db"))
        return evaluate_task(engine, "tiny", task, task.docs()[:n])

    return run
