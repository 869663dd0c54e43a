"""A regression suite as a task, so ``tunegate compare`` fills the scorecard's "regression" dimension.

    tasks:
      - task: regression
        options: {suite: regression.yaml}     # a tunegate regression suite (see docs/regression.md)
        gates:
          - {metric: pass, min_score: 1.0}    # every case must pass on the tuned model

Each expanded case is one item; ``pass`` is 1 when the case met its threshold (passed or flaky).
``llm-rubric`` judges are the task's second round: the runner asks every item's judge requests
together, through the run's engines, so they are batched, cached and shown in the progress display.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from tunegate.errors import ConfigError
from tunegate.models import GenerateResult, Request, Result, RoleRequest
from tunegate.tasks._base import Doc, ItemScore, MetricInfo, Task
from tunegate.tasks._registry import TASKS

__all__ = ["RegressionTask"]


@TASKS.register("regression")
class RegressionTask(Task):
    """Every case of a regression suite, scored pass/fail for each model."""

    name = "regression"
    dimension = "regression"
    metrics = (MetricInfo("pass", binary=True),)
    primary = "pass"
    extra_options = ("suite",)

    @cached_property
    def suite(self) -> Any:
        from tunegate.regression import load_regression_suite

        path = self.options.extra.get("suite") or self.options.data
        if not path:
            raise ConfigError("task 'regression' needs options: {suite: PATH} naming a regression suite YAML")
        return load_regression_suite(path)

    def all_docs(self) -> list[Doc]:
        return [Doc(id=case.id, data={"index": i}) for i, case in enumerate(self.suite.cases)]

    def requests(self, doc: Doc) -> list[Request]:
        return list(self.suite.cases[doc.data["index"]].requests())

    def second_round(self, doc: Doc, results: Sequence[Result]) -> Sequence[RoleRequest]:
        from tunegate.regression import case_followups

        return case_followups(self.suite, self.suite.cases[doc.data["index"]], _texts(results))

    def score_rounds(self, doc: Doc, results: Sequence[Result], second: Sequence[Result]) -> ItemScore:
        from tunegate.regression import check_case

        case = self.suite.cases[doc.data["index"]]
        answers = dict(zip(self.second_round(doc, results), second, strict=True)) if second else {}
        texts = _texts(results)
        cr = check_case(self.suite, case, texts, answers)
        out = texts[0] if texts else ""
        return ItemScore(
            values={"pass": float(cr.ok)},
            output=f"[{cr.status}] {cr.reason}\n{out}".strip(),
            input=case.prompt_text,
            reference="; ".join(a.label for a in case.assertions),
            cluster=case.id,  # the case's `repeat` samples are folded into this one item: its cluster
        )

    def score(self, doc: Doc, results: Sequence[Result]) -> ItemScore:
        """Scores without a second round (a judged case then fails, saying it had no judge answer)."""
        return self.score_rounds(doc, results, [])


def _texts(results: Sequence[Result]) -> list[str]:
    return [r.text for r in results if isinstance(r, GenerateResult)]
