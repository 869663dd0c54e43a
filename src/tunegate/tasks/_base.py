"""The task contract: documents in, requests out, per-item scores back.

A task turns each document into requests (all of one kind), and scores one document from its
results. Extraction, per-item scoring and aggregation are separate: a task returns per-item values;
``tunegate.stats`` pairs and aggregates them with their uncertainty.

A task may declare a **second round**, for other models (roles) that work on the first answers: a
judge grading them, an attacker's next turn. The runner asks every document's first round, then
calls :meth:`Task.second_round` for each document, answers all the returned
:class:`~tunegate.models.RoleRequest` together (one batched, cached engine call per role, model and
kind, shown in the same progress display) and scores with :meth:`Task.score_rounds`::

    def second_round(self, doc, results):
        answer = results[0].text
        return [RoleRequest("judge", GenerateRequest(f"Is this polite? {answer}"), model="hf:judge")]

    def score_rounds(self, doc, results, second):
        return ItemScore({"polite": float("YES" in second[0].text)})

A task never builds an engine or touches the store.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from tunegate.models import Request, Result, RoleRequest

__all__ = ["CHOICE_SIGNALS", "Doc", "ItemScore", "MetricInfo", "RoleRequest", "Task", "TaskOptions"]

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
    #: the registered paired estimator (``tunegate.stats.estimate``) gates use for this metric
    estimator: str = "paired_mean"
    #: a registered corpus statistic (``tunegate.stats.corpus_statistic``, e.g. ``"ece"``): the metric is
    #: computed over the whole run from the per-item values it reads, not averaged over items
    corpus: str | None = None


#: drift and calibration metrics every multiple-choice task reports beside accuracy
#: (per item from :func:`tunegate.metrics.choice_signals`; ``ece`` over the run)
CHOICE_SIGNALS: tuple[MetricInfo, ...] = (
    MetricInfo("gold_logprob", binary=False),
    MetricInfo("gold_prob", binary=False),
    MetricInfo("brier", binary=False, higher_is_better=False),
    MetricInfo("ece", binary=False, higher_is_better=False, corpus="ece"),
)


@dataclass(frozen=True)
class ItemScore:
    """Scores of one item, a readable form of what the model produced, the item's input (its prompt,
    or its messages as JSON, before any chat template) and its reference answer.

    ``cluster``: items sharing a label are not independent (an MMLU subject, a passage behind several
    questions); the statistics resample and compute standard errors by cluster.
    """

    values: dict[str, float]
    output: str | None = None
    input: str | None = None
    reference: str | None = None
    cluster: str | None = None


@dataclass(frozen=True)
class TaskOptions:
    """Options every task accepts; task-specific ones come in ``extra``.

    ``held_out``: ids of items that must never be used as few-shot examples (the items another model
    is evaluated on, when a suite's ``reference: {shots: K}`` prompts the base model); a task whose
    few-shot pool is its own evaluation data leaves them out of it.
    """

    limit: int | None = None
    shots: int = 0
    seed: int = 1234
    data: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    held_out: frozenset[str] = frozenset()


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

    def second_round(self, doc: Doc, results: Sequence[Result]) -> Sequence[RoleRequest]:
        """Requests for other roles once ``doc``'s first answers are in (default: none)."""
        return ()

    def score_rounds(self, doc: Doc, results: Sequence[Result], second: Sequence[Result]) -> ItemScore:
        """Per-item scores from both rounds (``second``: answers to :meth:`second_round`, in order).

        Default: :meth:`score`, for tasks without a second round."""
        return self.score(doc, results)

    def check_options(self) -> list[str]:
        """Problems with this task's option values, found without reading data or loading a model."""
        allowed = self.allowed_shots
        if allowed is not None and self.options.shots not in allowed:
            shown = ", ".join(str(k) for k in allowed)
            return [f"{self.name}: shots must be one of {shown}, got {self.options.shots}"]
        return []

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
