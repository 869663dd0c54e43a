"""``TunegateCallback``: run a regression suite on every checkpoint the ``transformers.Trainer`` saves.

``on_save`` evaluates ``args.output_dir/checkpoint-<step>`` (``hf:<dir>``, or ``<base>?adapter=<dir>``
when the folder holds a PEFT adapter); ``on_train_end`` evaluates the final model (the last checkpoint
when it is the final step, else the model saved to ``output_dir/tunegate-final``). The pass rate is
appended to ``state.log_history`` as ``tunegate/pass_rate``; with ``gate=True`` a failing case sets
``control.should_training_stop``. Save the tokenizer with the checkpoints (``processing_class=`` on
the Trainer) so a checkpoint folder is a loadable model.

A verdict per checkpoint is about that checkpoint alone (see ``tunegate.regression._watch``). With
``reference=`` (the base model spec) and ``planned_looks=`` (how many checkpoints you will evaluate)
the callback also keeps :attr:`best`: the best checkpoint so far against the base, tested at
``alpha / planned_looks``, so the checkpoint you end up choosing is not a lucky one of many looks. It
is logged as ``tunegate/best_vs_base`` (1 pass, 0 inconclusive, -1 fail).

When ``TrainingArguments(report_to=...)`` names ``mlflow`` or ``wandb`` and that tracker has a run
open (the Trainer's own MLflowCallback / WandbCallback opens it), each checkpoint's numbers also go to
that run at the checkpoint's global step: ``tunegate/pass_rate``, ``passed``, ``flaky``, ``failed``,
``cases``, ``case/<id>/pass_fraction``, with a reference ``reference_pass_rate`` and
``pass_rate_delta``, and ``best_vs_base`` (see ``tunegate.integrations._flatten``). MLflow gets them
with ``step=global_step`` (the final model too, after MLflowCallback has closed the run); W&B with
``train/global_step``, the step axis WandbCallback declares. A tracker error is a warning, never a
stopped training.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from tunegate.integrations._flatten import OUTCOME_VALUE, PREFIX, Flat, flatten_regression
from tunegate.regression._load import RegressionSuite, load_regression_suite
from tunegate.regression._run import RegressionResult, run_regression
from tunegate.regression._watch import BestVerdict, best_vs_base, checkpoint_spec
from tunegate.store import Store, open_store

__all__ = ["TunegateCallback"]

log = logging.getLogger(__name__)


class TunegateCallback(TrainerCallback):
    """Gate training on a regression suite, checkpoint by checkpoint.

    ``results`` maps each evaluated folder name (``checkpoint-2``, ``tunegate-final``) to its
    :class:`~tunegate.regression.RegressionResult`.
    """

    def __init__(
        self,
        suite: RegressionSuite | str | Path,
        store: Store | None = None,
        gate: bool = True,
        *,
        base: str | None = None,
        strict_flaky: bool = False,
        evaluate_final: bool = True,
        reference: str | None = None,
        planned_looks: int | None = None,
        alpha: float = 0.05,
        training: str | None = None,
    ) -> None:
        self.suite = suite if isinstance(suite, RegressionSuite) else load_regression_suite(suite)
        self._store = store
        self.gate = gate
        self.base = base
        self.strict_flaky = strict_flaky
        self.evaluate_final = evaluate_final
        self.results: dict[str, RegressionResult] = {}
        self.reference = reference
        self.planned_looks = planned_looks
        self.alpha = alpha
        self._runs: dict[str, Any] = {}  # tracker name -> its run (kept: MLflow's ends before on_train_end)
        self.best: BestVerdict | None = None
        self._looks: list[tuple[Path, RegressionResult]] = []
        #: groups this training's checkpoint runs in the store (``tunegate history --checkpoints``)
        self.training = training or uuid.uuid4().hex[:12]

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store()
        return self._store

    def _track(self, args: TrainingArguments) -> dict[str, Any]:
        """The trackers' runs to log to: those open now, else the ones seen before."""
        from tunegate.integrations._tracking import checkpoint_runs

        self._runs.update(checkpoint_runs(args.report_to))
        return self._runs

    def _log_to_trackers(
        self, args: TrainingArguments, state: TrainerState, result: RegressionResult
    ) -> None:
        runs = self._track(args)
        if not runs:
            return
        from tunegate.integrations._tracking import log_checkpoint

        flat = Flat(
            metrics=flatten_regression(result.report()).metrics, tags={"tunegate.suite": self.suite.name}
        )
        if self.best is not None:
            flat.add(f"{PREFIX}best_vs_base", OUTCOME_VALUE[self.best.outcome])
        log_checkpoint(runs, flat, state.global_step)

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        if state.is_world_process_zero:
            self._track(args)
        return control

    def _evaluate(
        self, folder: Path, args: TrainingArguments, state: TrainerState, control: TrainerControl
    ) -> RegressionResult:
        spec = checkpoint_spec(folder, self.base)
        result = run_regression(
            self.suite,
            spec,
            self.store,
            reference=self.reference,
            config={"checkpoint": str(folder.resolve()), "step": state.global_step},
            step=state.global_step,
            training=self.training,
        )
        self.results[folder.name] = result
        self._looks.append((folder, result))
        entry = {
            "tunegate/pass_rate": result.pass_rate,
            "tunegate/failed": result.count("failed"),
            "tunegate/flaky": result.count("flaky"),
            "step": state.global_step,
        }
        if self.reference is not None and self.planned_looks is not None:
            self.best = best_vs_base(self._looks, alpha=self.alpha, planned_looks=self.planned_looks)
            entry["tunegate/best_vs_base"] = {"pass": 1, "inconclusive": 0, "fail": -1}[self.best.outcome]
            log.warning("tunegate: best checkpoint %s vs base: %s", self.best.checkpoint, self.best.reason)
        state.log_history.append(entry)
        self._log_to_trackers(args, state, result)
        log.warning(
            "tunegate %s: %s step %d: pass rate %.0f%% (%d failed, %d flaky), run %s",
            self.suite.name,
            folder.name,
            state.global_step,
            100 * result.pass_rate,
            result.count("failed"),
            result.count("flaky"),
            result.run_id,
        )
        if self.gate and result.exit_code(self.strict_flaky):
            failing = ", ".join(c.id for c in result.cases if c.status == "failed")
            log.warning("tunegate: stopping training: failing case(s) %s", failing)
            control.should_training_stop = True
        return result

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        folder = Path(str(args.output_dir)) / f"checkpoint-{state.global_step}"
        if state.is_world_process_zero and folder.is_dir() and folder.name not in self.results:
            self._evaluate(folder, args, state, control)
        return control

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        if not self.evaluate_final or not state.is_world_process_zero:
            return control
        if f"checkpoint-{state.global_step}" in self.results:
            self.results["final"] = self.results[f"checkpoint-{state.global_step}"]
            return control
        model = kwargs.get("model")
        if model is None:
            return control
        folder = Path(str(args.output_dir)) / "tunegate-final"
        model.save_pretrained(folder)
        tok = kwargs.get("processing_class") or kwargs.get("tokenizer")
        if tok is not None:
            tok.save_pretrained(folder)
        self.results["final"] = self._evaluate(folder, args, state, control)
        return control
