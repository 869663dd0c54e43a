"""TriviaQA closed-book question answering (Joshi et al., 2017), Apache-2.0.

The prompt is the row's ``context`` ("Question: ...\\nAnswer:"); the model answers greedily until a
newline (at most 16 new tokens; the shipped answers are at most 10 tokens). ``exact_match`` and
``f1`` use SQuAD normalisation against every accepted alias and take the best. This is the demo's
*target task*: the shipped LoRA adapter was trained on disjoint rows (see
``tunegate/data/triviaqa/SOURCE.md``).

Few-shot (``shots``): ``shots`` solved examples (``context + " " + answer``, each followed by a blank
line) come before the question, the same ones for every item, drawn with the task's ``seed`` from the
few-shot pool: the shipped ``train.jsonl`` (1,200 rows, disjoint from ``eval.jsonl``), or the JSONL file
of the ``fewshot_data`` option (fields ``context`` and ``answer``). A pool row whose question is also
an evaluated one is never drawn.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from tunegate.errors import ConfigError
from tunegate.metrics import get_metric
from tunegate.models import GenerateRequest, GenerateResult, Request, Result
from tunegate.tasks._base import Doc, ItemScore, MetricInfo, Task, TaskOptions
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
    extra_options = ("fewshot_data",)

    def __init__(self, options: TaskOptions | None = None) -> None:
        super().__init__(options)
        self._docs: list[Doc] | None = None
        self._prefix: str | None = None

    def all_docs(self) -> list[Doc]:
        if self._docs is None:
            path = self.options.data if self.options.data else package_data("triviaqa", "eval.jsonl")
            rows = read_jsonl(path, required=("context", "answer"))
            self._docs = [Doc(id=str(i), data=r) for i, r in enumerate(rows)]
        return list(self._docs)

    def fewshot_prefix(self) -> str:
        """The solved examples before every question ("" with ``shots: 0``)."""
        if self._prefix is None:
            self._prefix = self._draw_shots()
        return self._prefix

    def _draw_shots(self) -> str:
        k = self.options.shots
        if not k:
            return ""
        given = self.options.extra.get("fewshot_data")
        path = str(given) if given else package_data("triviaqa", "train.jsonl")
        evaluated = {str(d.data["context"]).strip() for d in self.all_docs()}
        pool = [
            r
            for r in read_jsonl(path, required=("context", "answer"))
            if str(r["context"]).strip() not in evaluated
        ]
        if len(pool) < k:
            raise ConfigError(
                f"triviaqa: shots={k} but the few-shot pool {path} has only {len(pool)} rows that are not "
                "evaluated"
            )
        shots = random.Random(f"{self.options.seed}:triviaqa-shots").sample(pool, k)
        return "".join(f"{r['context']} {r['answer']}\n\n" for r in shots)

    def prompt(self, doc: Doc) -> str:
        return self.fewshot_prefix() + str(doc.data["context"])

    def requests(self, doc: Doc) -> list[Request]:
        return [GenerateRequest(prompt=self.prompt(doc), max_new_tokens=16, stop=("\n",))]

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
            input=self.prompt(doc),
            reference=" | ".join(refs),
        )
