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


def test_callback_keeps_best_checkpoint_vs_base_at_the_spent_level(tmp_path: Path) -> None:
    """With reference= and planned_looks= the callback reports one verdict for the whole run."""
    import torch
    from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

    from tunegate.integrations import TunegateCallback

    folder = build_tiny_model(tmp_path / "m")
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    tok = build_tokenizer()
    data = [{**(enc := tok(t)), "labels": enc["input_ids"]} for t in ["hello world", "the cat sat"]]  # type: ignore[dict-item]
    suite = parse_regression_suite(
        {
            "name": "cb-looks",
            "defaults": {"max_new_tokens": 2},
            "cases": [{"id": "ok", "prompt": "hi", "assert": [{"type": "max-length", "value": 1000}]}],
        }
    )
    cb = TunegateCallback(
        suite,
        store=open_store(f"sqlite:///{tmp_path / 's.db'}"),
        gate=False,
        reference=f"hf:{folder}",
        planned_looks=4,
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
    trainer = Trainer(model=model, args=args, train_dataset=data, processing_class=tok, callbacks=[cb])
    trainer.train()
    assert cb.best is not None and cb.best.planned_looks == 4 and cb.best.alpha == pytest.approx(0.0125)
    assert cb.best.outcome == "inconclusive" and "min_n" in cb.best.reason  # one case is far below 30
    logged = [h["tunegate/best_vs_base"] for h in trainer.state.log_history if "tunegate/best_vs_base" in h]
    assert logged and set(logged) == {0}
