"""A regression suite as a task, so ``tunegate compare`` fills the scorecard's "regression" dimension.

    tasks:
      - task: regression
        options: {suite: regression.yaml}     # a tunegate regression suite (see docs/regression.md)
        gates:
          - {metric: pass, min_score: 1.0}    # every case must pass on the tuned model

Each expanded case is one item; ``pass`` is 1 when the case met its threshold (passed or flaky).
``llm-rubric`` judges run through the comparison's store, so their answers are cached too.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from tunegate.errors import ConfigError
from tunegate.models import GenerateResult, Request, Result
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

    _store: Any = None

    def attach(self, store: Any) -> None:
        self._store = store

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

    def score(self, doc: Doc, results: Sequence[Result]) -> ItemScore:
        from tunegate.regression import AssertionContext, CaseResult
        from tunegate.regression._run import _judge_fn

        case = self.suite.cases[doc.data["index"]]
        texts = [r.text for r in results if isinstance(r, GenerateResult)]
        judge = _judge_fn(self._store, {}) if self._store is not None else None
        ctx = AssertionContext(
            case_id=case.id,
            prompt=case.prompt_text,
            vars=dict(case.vars),
            judge=judge,
            default_judge=self.suite.judge,
        )
        cr = CaseResult(case, texts, [[a(t, ctx) for a in case.assertions] for t in texts])
        out = texts[0] if texts else ""
        # the case's `repeat` samples are folded into this one item, so the case is its cluster
        return ItemScore(
            values={"pass": float(cr.ok)}, output=f"[{cr.status}] {cr.reason}\n{out}".strip(), cluster=case.id
        )
