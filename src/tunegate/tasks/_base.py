"""The task contract: documents in, requests out, per-item scores back.

A task turns each document into requests (all of one kind), and scores one document from its
results. Extraction, per-item scoring and aggregation are separate: a task returns per-item values;
``tunegate.stats`` pairs and aggregates them with their uncertainty.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from tunegate.models import Request, Result

__all__ = ["Doc", "ItemScore", "MetricInfo", "Task", "TaskOptions"]

Dimension = Literal["task", "retention", "safety", "preference", "regression"]


@dataclass(frozen=True)
class Doc:
    """One evaluation item: a stable id and its raw fields."""

    id: str
    data: dict[str, Any]


@dataclass(frozen=True)
class MetricInfo:
    """A metric a task reports: right/wrong (binary) metrics get an exact McNemar test."""

    name: str
    binary: bool
    higher_is_better: bool = True


@dataclass(frozen=True)
class ItemScore:
    """Scores of one item, a readable form of what the model produced, and what it was asked.

    ``input`` is the question or prompt a reader needs to judge the item; ``reference`` the expected
    answer (both for reports; None when the task does not say).
    """

    values: dict[str, float]
    output: str | None = None
    input: str | None = None
    reference: str | None = None


@dataclass(frozen=True)
class TaskOptions:
    """Options every task accepts; task-specific ones come in ``extra``."""

    limit: int | None = None
    shots: int = 0
    seed: int = 1234
    data: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Task(ABC):
    """A benchmark or user task."""

    name: ClassVar[str]
    dimension: ClassVar[Dimension] = "retention"
    metrics: ClassVar[tuple[MetricInfo, ...]]
    #: the metric gates and headlines use unless told otherwise
    primary: ClassVar[str]
    #: task-specific option names accepted in ``TaskOptions.extra``
    extra_options: ClassVar[tuple[str, ...]] = ()
    #: the few-shot counts the task can do (None: any)
    allowed_shots: ClassVar[tuple[int, ...] | None] = None

    def __init__(self, options: TaskOptions | None = None) -> None:
        self.options = options or TaskOptions()

    @abstractmethod
    def all_docs(self) -> list[Doc]:
        """Every document of the task's data, in a fixed order."""

    def docs(self) -> list[Doc]:
        """The documents to evaluate: the first ``limit`` of :meth:`all_docs`."""
        docs = self.all_docs()
        return docs[: self.options.limit] if self.options.limit else docs

    @abstractmethod
    def requests(self, doc: Doc) -> list[Request]:
        """Requests for one document, all of one kind."""

    @abstractmethod
    def score(self, doc: Doc, results: Sequence[Result]) -> ItemScore:
        """Per-item scores from the results of :meth:`requests`."""

    def check_options(self) -> list[str]:
        """Problems with this task's option values, found without reading data or loading a model."""
        allowed = self.allowed_shots
        if allowed is not None and self.options.shots not in allowed:
            shown = ", ".join(str(k) for k in allowed)
            return [f"{self.name}: shots must be one of {shown}, got {self.options.shots}"]
        return []

    def attach(self, store: Any) -> None:  # noqa: B027 - optional hook, empty by default
        """Called by the runner with the run's store before scoring (for tasks that call models)."""

    def describe(self) -> dict[str, Any]:
        """What identifies this task's configuration (recorded with a run)."""
        o = self.options
        return {
            "task": self.name,
            "limit": o.limit,
            "shots": o.shots,
            "seed": o.seed,
            "data": o.data,
            **o.extra,
        }
