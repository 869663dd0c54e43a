"""TunegateCallback logs each checkpoint into the Trainer's own MLflow and W&B runs, at its step.

A real tiny Trainer with ``report_to=["mlflow", "wandb"]``: transformers' MLflowCallback opens an MLflow
run (a file store) and its WandbCallback an offline W&B run; saves at steps 2 and 3 (the last step) are
evaluated while both are open. With no save at all, the final model is evaluated in ``on_train_end``,
after MLflowCallback has closed its run: it still goes into that run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests._tiny import build_tiny_model, build_tokenizer
from tests.integrations._wandb_file import offline_runs, read_offline_run
from tunegate.regression import parse_regression_suite
from tunegate.store import open_store

pytest.importorskip("mlflow", reason="the mlflow extra is not installed: pip install 'tunegate[mlflow]'")
pytest.importorskip("wandb", reason="the wandb extra is not installed: pip install 'tunegate[wandb]'")


def _train(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **training: Any) -> tuple[Any, Any]:
    """Train the tiny model with a TunegateCallback (gate off, base as reference); (callback, run)."""
    import torch
    from mlflow.tracking import MlflowClient
    from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

    from tunegate.integrations import TunegateCallback

    uri = f"file:{tmp_path / 'mlruns'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # what MLflowCallback reads
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "training")
    monkeypatch.setenv("WANDB_PROJECT", "training")
    monkeypatch.setenv("WANDB_MODE", "offline")

    folder = build_tiny_model(tmp_path / "m")
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    tok = build_tokenizer()
    data = [{**(enc := tok(t)), "labels": enc["input_ids"]} for t in ["hello world", "the cat sat"]]  # type: ignore[dict-item]
    suite = parse_regression_suite(
        {
            "name": "tracked-cb",
            "defaults": {"max_new_tokens": 2},
            "cases": [
                {"id": "ok", "prompt": "hi", "assert": [{"type": "max-length", "value": 1000}]},
                {"id": "bad", "prompt": "hi", "assert": [{"type": "contains", "value": "ZZZQQQ"}]},
            ],
        }
    )
    cb = TunegateCallback(
        suite,
        store=open_store(f"sqlite:///{tmp_path / 's.db'}"),
        gate=False,
        reference=f"hf:{folder}",
        planned_looks=2,
    )
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=1,
        use_cpu=True,
        logging_steps=1,
        learning_rate=1e-3,
        **training,
    )
    trainer = Trainer(model=model, args=args, train_dataset=data, processing_class=tok, callbacks=[cb])
    trainer.train()
    if "wandb" in args.report_to:
        import wandb

        wandb.finish()  # the Trainer leaves its W&B run open; close it so its file is complete
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("training")
    assert exp is not None
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FINISHED"  # MLflowCallback ended it
    return cb, (client, run)


def test_checkpoints_are_logged_at_their_global_step(
    tmp_path: Path, mlflow_env: None, wandb_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cb, (client, run) = _train(
        tmp_path, monkeypatch, max_steps=3, save_steps=2, report_to=["mlflow", "wandb"]
    )
    assert {"checkpoint-2", "checkpoint-3", "final"} <= set(cb.results)

    # MLflow: the Trainer's own run holds tunegate's numbers at steps 2 and 3 beside the loss
    run_id = run.info.run_id
    history = {
        name: [(m.step, m.value) for m in client.get_metric_history(run_id, name)]
        for name in (
            "tunegate/pass_rate",
            "tunegate/failed",
            "tunegate/case/bad/pass_fraction",
            "tunegate/reference_pass_rate",
            "tunegate/pass_rate_delta",
            "tunegate/best_vs_base",
        )
    }
    assert sorted(history["tunegate/pass_rate"]) == [(2, 0.5), (3, 0.5)]
    assert sorted(history["tunegate/failed"]) == [(2, 1.0), (3, 1.0)]
    assert sorted(history["tunegate/case/bad/pass_fraction"]) == [(2, 0.0), (3, 0.0)]
    assert sorted(history["tunegate/reference_pass_rate"]) == [(2, 0.5), (3, 0.5)]  # the base fails "bad" too
    assert sorted(history["tunegate/pass_rate_delta"]) == [(2, 0.0), (3, 0.0)]
    assert sorted(history["tunegate/best_vs_base"]) == [(2, 0.0), (3, 0.0)]  # inconclusive: 2 cases
    assert "loss" in run.data.metrics  # the Trainer's own logging went to the same run
    assert run.data.tags["tunegate.suite"] == "tracked-cb"
    for step, name in ((2, "checkpoint-2"), (3, "final")):
        assert dict(history["tunegate/pass_rate"])[step] == cb.results[name].pass_rate

    # W&B: rows with train/global_step, the x-axis WandbCallback gives every metric
    (run_dir,) = offline_runs(wandb_dir)
    wb = read_offline_run(run_dir)
    assert wb.project == "training"
    rows = [r for r in wb.history if "tunegate/pass_rate" in r]
    assert [(r["train/global_step"], r["tunegate/pass_rate"]) for r in rows] == [(2, 0.5), (3, 0.5)]
    assert [r["tunegate/best_vs_base"] for r in rows] == [0, 0]
    assert any("train/loss" in r for r in wb.history)


def test_the_final_model_goes_into_the_run_mlflow_has_closed(
    tmp_path: Path, mlflow_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    cb, (client, run) = _train(tmp_path, monkeypatch, max_steps=1, save_strategy="no", report_to=["mlflow"])
    assert (
        set(cb.results) == {"tunegate-final", "final"} and cb.results["final"] is cb.results["tunegate-final"]
    )
    history = client.get_metric_history(run.info.run_id, "tunegate/pass_rate")
    assert [(m.step, m.value) for m in history] == [(1, cb.results["final"].pass_rate)]
