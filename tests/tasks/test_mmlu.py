from __future__ import annotations

import pytest

from tunegate.errors import ConfigError
from tunegate.models import LoglikelihoodResult
from tunegate.tasks import TASKS, TaskOptions
from tunegate.tasks.mmlu import CATEGORIES, MMLU, mmlu_summary

FIRST = (
    "The following are multiple choice questions (with answers) about abstract algebra.\n\n"
    "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.\n"
    "A. 0\nB. 4\nC. 2\nD. 6\nAnswer:"
)


def _lls(best: int) -> list[LoglikelihoodResult]:
    return [LoglikelihoodResult(logprob=-1.0 if i == best else -5.0, is_greedy=False) for i in range(4)]


def test_registry_and_all_subjects() -> None:
    assert TASKS.get("mmlu") is MMLU
    docs = MMLU().all_docs()
    assert len(docs) == 11222
    assert {d.data["subject"] for d in docs} == set(CATEGORIES) and len(CATEGORIES) == 57
    assert docs[0].id == "abstract_algebra/0"
    assert len({d.id for d in docs}) == len(docs)


def test_zero_shot_prompt_golden() -> None:
    task = MMLU(TaskOptions(extra={"subjects": ["abstract_algebra"]}))
    reqs = task.requests(task.docs()[0])
    assert [r.continuation for r in reqs] == [" A", " B", " C", " D"]
    assert {r.context for r in reqs} == {FIRST}


def test_five_shot_uses_first_dev_rows_of_subject() -> None:
    task = MMLU(TaskOptions(shots=5, extra={"subjects": ["abstract_algebra"]}))
    ctx = task.requests(task.docs()[0])[0].context
    head = "The following are multiple choice questions (with answers) about abstract algebra.\n\n"
    first_shot = (
        "Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.\nA. 0\nB. 1\nC. 2\nD. 3\nAnswer: B\n\n"
    )
    assert ctx.startswith(head + first_shot)
    assert ctx.endswith(FIRST[len(head) :])
    assert ctx.count("\nAnswer:") == 6


def test_subjects_option_and_errors() -> None:
    task = MMLU(TaskOptions(extra={"subjects": ["anatomy", "virology"]}))
    assert {d.data["subject"] for d in task.docs()} == {"anatomy", "virology"}
    with pytest.raises(ConfigError, match=r"(?i)did you mean.*anatomy"):
        MMLU(TaskOptions(extra={"subjects": ["anatomyy"]})).all_docs()
    with pytest.raises(ConfigError, match="shots"):
        MMLU(TaskOptions(shots=3)).all_docs()


def test_score() -> None:
    task = MMLU(TaskOptions(extra={"subjects": ["abstract_algebra"]}))
    doc = task.docs()[0]  # gold B
    assert task.score(doc, _lls(1)).values["acc"] == 1.0
    assert task.score(doc, _lls(0)).values["acc"] == 0.0


def test_summary_micro_vs_macro() -> None:
    scores = {"anatomy/0": 1.0, "anatomy/1": 1.0, "anatomy/2": 1.0, "virology/0": 0.0, "philosophy/3": 1.0}
    s = mmlu_summary(scores)
    assert s["subjects"]["anatomy"] == {"n": 3, "acc": 1.0}
    assert s["overall"]["micro"] == pytest.approx(4 / 5)
    assert s["overall"]["macro"] == pytest.approx(2 / 3)
    assert s["categories"]["stem"]["micro"] == 1.0
    assert s["categories"]["other"]["macro"] == 0.0
    assert s["categories"]["humanities"]["n_subjects"] == 1
    assert "social_sciences" not in s["categories"]


def test_tiny_model_end_to_end(run_tiny) -> None:  # type: ignore[no-untyped-def]
    task = MMLU(TaskOptions(shots=5, extra={"subjects": ["anatomy"]}))
    out = run_tiny(task, 2)
    assert list(out.items) == [d.id for d in task.docs()[:2]]
    assert all(v.values["acc"] in (0.0, 1.0) for v in out.items.values())


def test_per_subject_takes_the_first_rows_of_every_subject() -> None:
    task = MMLU(TaskOptions(extra={"per_subject": 2}))
    docs = task.docs()
    subjects = [d.id.split("/")[0] for d in docs]
    assert len(docs) == 2 * len(set(subjects)) == 2 * 57
    full = MMLU(TaskOptions(extra={"subjects": ["anatomy"]})).docs()
    assert [d.id for d in docs if d.id.startswith("anatomy/")] == [d.id for d in full[:2]]
    bad = MMLU(TaskOptions(extra={"per_subject": 0}))
    assert any("per_subject" in p for p in bad.check_options())
