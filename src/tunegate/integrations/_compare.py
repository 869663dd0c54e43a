"""``CompareCallback``: compare every checkpoint the ``transformers.Trainer`` saves with the base model.

Where :class:`~tunegate.integrations.TunegateCallback` runs a *regression* suite on each checkpoint,
this one runs a *compare* suite (``tunegate compare``: target and retention tasks, paired against the
base, with gates): ``on_save`` compares ``args.output_dir/checkpoint-<step>`` (``hf:<dir>``, or
``<base>?adapter=<dir>`` for a PEFT adapter folder) with ``base``. Each run is stored with its
training step and this training's id (:attr:`training`), so ``tunegate history --checkpoints``
shows the checkpoints over steps and the HTML trend of a checkpoint's report is drawn against the
step. Each primary-metric delta is appended to ``state.log_history`` as
``tunegate/<task>/<metric>_delta`` (and ``tunegate/<task>/gold_logprob_delta``, the drift, where the
task reports it); with ``gate=True`` a FAIL verdict stops training.

The base's answers are computed once and come from the cache at every later checkpoint.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from tunegate.regression._watch import checkpoint_spec
from tunegate.runner import CompareConfig, ComparisonResult, compare_models
from tunegate.store import Store, open_store
from tunegate.suite import SuiteSpec, load_suite

__all__ = ["CompareCallback"]

log = logging.getLogger(__name__)


class CompareCallback(TrainerCallback):
    """Compare each saved checkpoint with ``base`` on a compare suite; ``results`` maps each evaluated
    folder name (``checkpoint-2``) to its :class:`~tunegate.runner.ComparisonResult`."""

    def __init__(
        self,
        suite: SuiteSpec | str | Path,
        base: str,
        store: Store | None = None,
        *,
        gate: bool = False,
        training: str | None = None,
        limit: int | None = None,
        adapter_base: str | None = None,
        batch_size: int | None = None,
    ) -> None:
        self.suite = suite if isinstance(suite, SuiteSpec) else load_suite(suite)
        self.base = base
        self._store = store
        self.gate = gate
        self.limit = limit
        #: the base of a PEFT adapter checkpoint (default: ``base``)
        self.adapter_base = adapter_base or base
        self.batch_size = batch_size
        #: groups this training's checkpoint runs in the store (``tunegate history --checkpoints``)
        self.training = training or uuid.uuid4().hex[:12]
        self.results: dict[str, ComparisonResult] = {}

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store()
        return self._store

    def _evaluate(self, folder: Path, state: TrainerState, control: TrainerControl) -> ComparisonResult:
        config = CompareConfig(
            suite=self.suite,
            base=self.base,
            tuned=checkpoint_spec(folder, self.adapter_base),
            limit=self.limit,
            batch_size=self.batch_size,
            step=state.global_step,
            training=self.training,
        )
        result = compare_models(config, self.store)
        self.results[folder.name] = result
        entry: dict[str, Any] = {"step": state.global_step}
        for tc in result.tasks:
            m = tc.metric(tc.primary)
            entry[f"tunegate/{tc.task}/{tc.primary}_delta"] = m.delta
            drift = next((x for x in tc.metrics if x.metric == "gold_logprob"), None)
            if drift is not None:
                entry[f"tunegate/{tc.task}/gold_logprob_delta"] = drift.delta
        entry["tunegate/verdict"] = {"PASS": 1, "INCONCLUSIVE": 0, "FAIL": -1}[result.verdict]
        state.log_history.append(entry)
        log.warning(
            "tunegate %s: %s step %d vs base: %s, run %s (training %s)",
            self.suite.name,
            folder.name,
            state.global_step,
            result.verdict,
            result.run_id,
            self.training,
        )
        if self.gate and result.verdict == "FAIL":
            log.warning("tunegate: stopping training: %s failed its gates", folder.name)
            control.should_training_stop = True
        return result

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        folder = Path(str(args.output_dir)) / f"checkpoint-{state.global_step}"
        if state.is_world_process_zero and folder.is_dir() and folder.name not in self.results:
            self._evaluate(folder, state, control)
        return control
