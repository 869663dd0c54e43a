from __future__ import annotations

import pytest

from tunegate.errors import ConfigError
from tunegate.models import GenerateResult
from tunegate.tasks import TASKS, TaskOptions
from tunegate.tasks.humaneval import STOP, HumanEval


def test_requests_and_metrics() -> None:
    assert TASKS.get("humaneval") is HumanEval
    task = HumanEval()
    docs = task.docs()
    assert len(docs) == 164 and docs[0].id == "HumanEval/0"
    (req,) = task.requests(docs[0])
    assert req.prompt == docs[0].data["prompt"]
    assert req.prompt.startswith("from typing import List\n\n\ndef has_close_elements(")
    assert req.stop == STOP and req.max_new_tokens == 384 and req.temperature == 0
    assert [m.name for m in task.metrics] == ["pass@1"] and task.metrics[0].binary
    sampled = HumanEval(TaskOptions(extra={"n_samples": 10, "temperature": 0.8}))
    reqs = sampled.requests(docs[0])
    assert len(reqs) == 10 and len({r.seed for r in reqs}) == 10
    assert [m.name for m in sampled.metrics] == ["pass@1", "pass@10"] and not sampled.metrics[0].binary
    assert [m.name for m in HumanEval.metrics] == ["pass@1", "pass@10"]
    with pytest.raises(ConfigError):
        HumanEval(TaskOptions(extra={"n_samples": 3}))


def test_canonical_passes_wrong_fails_in_sandbox() -> None:
    task = HumanEval()
    for doc in task.docs()[:2]:
        good = task.score(doc, [GenerateResult(text=doc.data["canonical_solution"])])
        assert good.values == {"pass@1": 1.0}
        assert good.output is not None and good.output.startswith("[passed]")
        bad = task.score(doc, [GenerateResult(text="    return None\n")])
        assert bad.values == {"pass@1": 0.0}
        assert bad.output is not None and bad.output.startswith("[failed:")


def test_pass_at_k_over_samples() -> None:
    task = HumanEval(TaskOptions(extra={"n_samples": 2, "temperature": 0.8}))
    doc = task.docs()[0]
    s = task.score(
        doc, [GenerateResult(text=doc.data["canonical_solution"]), GenerateResult(text="    1/0\n")]
    )
    assert s.values == {"pass@1": 0.5}
    assert s.output is not None and s.output.startswith("[1/2 passed; first failure")


def test_tiny_model_end_to_end(run_tiny, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(
        HumanEval, "max_new_tokens", 12
    )  # the random tiny model never stops early: keep it fast
    out = run_tiny(HumanEval(), 2)
    assert len(out.items) == 2
    assert all(s.values["pass@1"] in (0.0, 1.0) for s in out.items.values())
