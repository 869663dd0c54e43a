"""The Trainer callback runs the suite on each saved checkpoint and gates training."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._tiny import build_tiny_model, build_tokenizer
from tunegate.regression import parse_regression_suite
from tunegate.store import open_store


@pytest.mark.parametrize("gate", [False, True])
def test_callback_runs_on_each_save(tmp_path: Path, gate: bool) -> None:
    import torch
    from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

    from tunegate.integrations import TunegateCallback

    folder = build_tiny_model(tmp_path / "m")
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    tok = build_tokenizer()
    texts = ["hello world", "the cat sat", "paris is nice", "one two three"]
    data = [
        {**(enc := tok(t)), "labels": enc["input_ids"]}  # type: ignore[dict-item]
        for t in texts
    ]
    suite = parse_regression_suite(
        {
            "name": "cb",
            "defaults": {"max_new_tokens": 4},
            "cases": [
                {"id": "ok", "prompt": "hi", "assert": [{"type": "max-length", "value": 1000}]},
                {"id": "bad", "prompt": "hi", "assert": [{"type": "contains", "value": "ZZZQQQ"}]},
            ],
        }
    )
    cb = TunegateCallback(suite, store=open_store(f"sqlite:///{tmp_path / 's.db'}"), gate=gate)
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"),
        max_steps=4,
        save_steps=2,
        per_device_train_batch_size=1,
        use_cpu=True,
        report_to=[],
        logging_steps=1,
        learning_rate=1e-3,
    )
    trainer = Trainer(model=model, args=args, train_dataset=data, processing_class=tok, callbacks=[cb])
    trainer.train()
    if gate:  # the failing case stops training after the first save
        assert set(cb.results) >= {"checkpoint-2"} and "checkpoint-4" not in cb.results
        assert trainer.state.global_step == 2
    else:
        assert {"checkpoint-2", "checkpoint-4", "final"} <= set(cb.results)
        assert cb.results["final"] is cb.results["checkpoint-4"]
    logged = [h for h in trainer.state.log_history if "tunegate/pass_rate" in h]
    assert logged and all(h["tunegate/pass_rate"] == 0.5 for h in logged)
