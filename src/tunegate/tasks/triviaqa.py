"""TriviaQA closed-book question answering (Joshi et al., 2017), Apache-2.0.

The prompt is the row's ``context`` ("Question: ...\\nAnswer:"); the model answers greedily until a
newline (at most 16 new tokens; the shipped answers are at most 10 tokens). ``exact_match`` and
``f1`` use SQuAD normalisation against every accepted alias and take the best. This is the demo's
*target task*: the shipped LoRA adapter was trained on disjoint rows (see
``tunegate/data/triviaqa/SOURCE.md``).
"""

from __future__ import annotations

from collections.abc import Sequence

from tunegate.metrics import get_metric
from tunegate.models import GenerateRequest, GenerateResult, Request, Result
from tunegate.tasks._base import Doc, ItemScore, MetricInfo, Task
from tunegate.tasks._data import package_data, read_jsonl
from tunegate.tasks._registry import TASKS

__all__ = ["TriviaQA"]


@TASKS.register("triviaqa")
class TriviaQA(Task):
    """TriviaQA, held-out rows, exact match and token F1 against any alias."""

    name = "triviaqa"
    dimension = "task"
    metrics = (MetricInfo("exact_match", binary=True), MetricInfo("f1", binary=False))
    primary = "exact_match"

    def all_docs(self) -> list[Doc]:
        path = self.options.data if self.options.data else package_data("triviaqa", "eval.jsonl")
        rows = read_jsonl(path, required=("context", "answer"))
        return [Doc(id=str(i), data=r) for i, r in enumerate(rows)]

    def requests(self, doc: Doc) -> list[Request]:
        return [GenerateRequest(prompt=str(doc.data["context"]), max_new_tokens=16, stop=("\n",))]

    def score(self, doc: Doc, results: Sequence[Result]) -> ItemScore:
        (res,) = results
        assert isinstance(res, GenerateResult)
        refs = [str(a) for a in doc.data.get("aliases") or [doc.data["answer"]]]
        pred = res.text.strip()
        em, f1 = get_metric("exact_match"), get_metric("f1")
        assert em.item is not None and f1.item is not None
        return ItemScore(
            values={"exact_match": em.item(pred, refs), "f1": f1.item(pred, refs)},
            output=pred,
            input=str(doc.data["context"]),
            reference=str(doc.data["answer"]),
        )
