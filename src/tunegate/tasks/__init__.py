"""Tasks: built-in benchmarks (one module each) and user tasks declared in a suite.

Task.docs() -> Doc -> Task.requests(doc) -> engine -> results -> Task.score(doc, results) -> ItemScore
"""

from tunegate.tasks._base import Doc, ItemScore, MetricInfo, Task, TaskOptions
from tunegate.tasks._registry import TASKS

__all__ = ["TASKS", "Doc", "ItemScore", "MetricInfo", "Task", "TaskOptions"]
