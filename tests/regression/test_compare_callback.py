"""During a real (tiny) Trainer run, ``CompareCallback`` compares each checkpoint with the base and
``TunegateCallback`` runs a regression suite on it; both record the step and the training, and
``tunegate history --checkpoints`` lists them in step order."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests._tiny import build_tiny_model, build_tokenizer
from tunegate.cli.main import app
from tunegate.regression import parse_regression_suite
from tunegate.report._checkpoints import checkpoint_runs, checkpoint_table
from tunegate.store import open_store


def test_checkpoints_of_a_training_are_compared_and_listed_by_step(tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

    from tunegate.integrations import CompareCallback, TunegateCallback

    folder = build_tiny_model(tmp_path / "m")
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    tok = build_tokenizer()
    data = [{**(enc := tok(t)), "labels": enc["input_ids"]} for t in ["hello world", "the cat sat"]]  # type: ignore[dict-item]
    suite = tmp_path / "s.yaml"
    suite.write_text("name: cb\ntasks:\n  - task: hellaswag\n    limit: 3\n    gates: [{max_drop: 0.02}]\n")
    db = f"sqlite:///{tmp_path / 's.db'}"
    store = open_store(db)
    compare = CompareCallback(suite, base=f"hf:{folder}", store=store, training="tiny-run")
    regress = TunegateCallback(
        parse_regression_suite(
            {
                "name": "cb-reg",
                "defaults": {"max_new_tokens": 2},
                "cases": [{"id": "ok", "prompt": "hi", "assert": [{"type": "max-length", "value": 1000}]}],
            }
        ),
        store=store,
        gate=False,
        evaluate_final=False,
        training="tiny-run",
    )
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"),
        max_steps=4,
        save_steps=2,
        per_device_train_batch_size=1,
        use_cpu=True,
        report_to=[],
        learning_rate=1e-3,
    )
    trainer = Trainer(
        model=model, args=args, train_dataset=data, processing_class=tok, callbacks=[compare, regress]
    )
    trainer.train()
    assert set(compare.results) == {"checkpoint-2", "checkpoint-4"}
    logged = [h for h in trainer.state.log_history if "tunegate/hellaswag/acc_norm_delta" in h]
    assert [h["step"] for h in logged] == [2, 4] and all(
        "tunegate/hellaswag/gold_logprob_delta" in h for h in logged
    )

    runs = checkpoint_runs(store, "tiny-run")
    assert sorted((r.kind, r.step) for r in runs) == [
        ("compare", 2),
        ("compare", 4),
        ("regress", 2),
        ("regress", 4),
    ]
    tables = {t.kind: t for t in checkpoint_table(runs)}
    assert [r.checkpoint for r in tables["compare"].rows] == ["checkpoint-2", "checkpoint-4"]
    assert tables["compare"].drift_tasks == ("hellaswag",)
    assert [r.pass_rate for r in tables["regress"].rows] == [1.0, 1.0]
    res = CliRunner().invoke(app, ["history", "--checkpoints", "--run", "tiny-run", "--db", db])
    assert res.exit_code == 0, res.output
    assert "checkpoints of training tiny-run: compare suite 'cb'" in res.output
    assert "checkpoints of training tiny-run: regress suite 'cb-reg'" in res.output
    assert res.output.index("checkpoint-2") < res.output.index("checkpoint-4")
    # the base was answered once: the second checkpoint's base requests came from the cache
    second = store.get_run(compare.results["checkpoint-4"].run_id)
    assert (second.result or {})["engine"]["base"]["computed"] == 0
