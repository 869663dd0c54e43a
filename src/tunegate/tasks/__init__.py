"""Tasks: built-in benchmarks (one module each) and user tasks declared in a suite.

Task.docs() -> Doc -> Task.requests(doc) -> engine -> results -> Task.score(doc, results) -> ItemScore
"""

from tunegate.tasks._base import CHOICE_SIGNALS, Doc, ItemScore, MetricInfo, Task, TaskOptions
from tunegate.tasks._registry import TASKS

__all__ = ["CHOICE_SIGNALS", "TASKS", "Doc", "ItemScore", "MetricInfo", "Task", "TaskOptions"]
