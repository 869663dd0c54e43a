"""HellaSwag: commonsense sentence completion (Zellers et al., 2019), MIT licence.

Scored as lm-evaluation-harness scores it: the query is ``preprocess(activity_label + ": " + ctx_a +
" " + ctx_b.capitalize())``; each ending is ``preprocess(ending)``, continued after a single space;
``acc`` is the argmax of the summed log-likelihoods, ``acc_norm`` the argmax after dividing each by
the ending's length in characters. Drift and calibration (``gold_logprob``, ``gold_prob``, ``brier``,
``ece``) use the unnormalised log-likelihoods. Few-shot examples (``shots``) are drawn with a fixed
seed from the other rows (the shipped data has no training split), joined by a blank line, each
followed by its correct ending, and are the same for every model. Rows in ``TaskOptions.held_out``
(the items a suite's ``reference: {shots: K}`` is compared on) are never drawn: with ``limit: 100``
the shots then come from the 700 rows not evaluated.

Data: 800 validation rows shipped in ``tunegate/data/hellaswag`` (see its SOURCE.md).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from tunegate._paths import package_data
from tunegate.errors import ConfigError
from tunegate.metrics import choice_signals, predicted_choice, predicted_choice_norm
from tunegate.models import LoglikelihoodRequest, LoglikelihoodResult, Request, Result
from tunegate.tasks._base import CHOICE_SIGNALS, Doc, ItemScore, MetricInfo, Task, TaskOptions
from tunegate.tasks._data import read_jsonl
from tunegate.tasks._registry import TASKS
from tunegate.tasks._texts import choice_input

__all__ = ["HellaSwag", "preprocess"]


def preprocess(text: str) -> str:
    """lm-evaluation-harness's HellaSwag text cleaning."""
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    text = text.replace("  ", " ")
    return text


@TASKS.register("hellaswag")
class HellaSwag(Task):
    """HellaSwag validation, 4-way multiple choice by log-likelihood."""

    name = "hellaswag"
    dimension = "retention"
    metrics = (MetricInfo("acc", binary=True), MetricInfo("acc_norm", binary=True), *CHOICE_SIGNALS)
    primary = "acc_norm"

    def __init__(self, options: TaskOptions | None = None) -> None:
        super().__init__(options)
        self._docs: list[Doc] | None = None

    def all_docs(self) -> list[Doc]:
        """Read once per task instance (few-shot examples are drawn from these for every item)."""
        if self._docs is None:
            path = self.options.data or package_data("hellaswag", "hellaswag_val_subset.jsonl")
            rows = read_jsonl(path, required=("ind", "activity_label", "ctx_a", "ctx_b", "endings", "label"))
            self._docs = [Doc(id=str(r["ind"]), data=r) for r in rows]
        return list(self._docs)

    @staticmethod
    def query(row: dict[str, object]) -> str:
        ctx = f"{row['ctx_a']} {str(row['ctx_b']).capitalize()}"
        return preprocess(f"{row['activity_label']}: {ctx}")

    @staticmethod
    def choices(row: dict[str, object]) -> list[str]:
        endings = row["endings"]
        assert isinstance(endings, list)
        return [preprocess(str(e)) for e in endings]

    def _fewshot_prefix(self, doc: Doc) -> str:
        if not self.options.shots:
            return ""
        held = self.options.held_out
        pool = [d for d in self.all_docs() if d.id != doc.id and d.id not in held]
        if len(pool) < self.options.shots:
            raise ConfigError(
                f"hellaswag: {self.options.shots} shots need {self.options.shots} rows that are not "
                f"evaluated; only {len(pool)} are left (set a smaller `limit:`)"
            )
        rng = random.Random(f"{self.options.seed}:{doc.id}")
        shots = rng.sample(pool, self.options.shots)
        return "".join(
            f"{self.query(s.data)} {self.choices(s.data)[int(str(s.data['label']))]}\n\n" for s in shots
        )

    def requests(self, doc: Doc) -> list[Request]:
        context = self._fewshot_prefix(doc) + self.query(doc.data)
        return [LoglikelihoodRequest(context=context, continuation=" " + c) for c in self.choices(doc.data)]

    def score(self, doc: Doc, results: Sequence[Result]) -> ItemScore:
        lls = [r.logprob for r in results if isinstance(r, LoglikelihoodResult)]
        choices = self.choices(doc.data)
        gold = int(str(doc.data["label"]))
        acc = predicted_choice(lls)
        acc_norm = predicted_choice_norm(lls, choices)
        return ItemScore(
            values={
                "acc": float(acc == gold),
                "acc_norm": float(acc_norm == gold),
                **choice_signals(lls, gold),
            },
            output=f"chose {acc_norm} ({choices[acc_norm]!r}); gold {gold}",
            input=choice_input(self._fewshot_prefix(doc) + self.query(doc.data), choices),
            reference=f"({gold}) {choices[gold]}",
        )
