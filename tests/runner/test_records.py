"""What the runners store and write, with the tiny real model, on SQLite and PostgreSQL.

* every item of a compare run reads back as input, reference, base and tuned output, scores and the
  response keys, which resolve to the cached answers of the right model;
* each result type's ``from_json`` gives back an equal record after a JSON round trip, also from
  the store;
* a Ctrl-C during a run is recorded as ``interrupted``, a crash as ``failed`` (for compare and run).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tunegate.engine import NullProgress
from tunegate.regression import RegressReport
from tunegate.runner import CompareConfig, ComparisonResult, RunResult, compare_models, run_model
from tunegate.store import Store, open_store
from tunegate.suite import SuiteSpec

SIGNALS = ("gold_logprob", "gold_prob", "brier", "confidence", "correct")

SUITE = {
    "name": "records",
    "tasks": [
        {"task": "hellaswag", "limit": 3, "gates": [{"max_drop": 0.5}]},
        {"task": "triviaqa", "limit": 3},
    ],
}


@pytest.fixture()
def store(db_url: str) -> Any:
    s = open_store(db_url)
    yield s
    s.close()


def _specs(tiny_model_dir: Path, tiny_adapter_dir: Path) -> tuple[str, str]:
    return f"hf:{tiny_model_dir}", f"hf:{tiny_model_dir}?adapter={tiny_adapter_dir}"


def _roundtrip(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(data))
    return out


def test_compare_stores_every_items_texts_and_its_result_round_trips(
    store: Store, tiny_model_dir: Path, tiny_adapter_dir: Path
) -> None:
    base, tuned = _specs(tiny_model_dir, tiny_adapter_dir)
    result = compare_models(
        CompareConfig(suite=SuiteSpec.model_validate(SUITE), base=base, tuned=tuned), store
    )

    assert ComparisonResult.from_json(_roundtrip(result.to_json())) == result
    run = store.get_run(result.run_id)
    assert run.status == "completed" and run.result is not None
    assert ComparisonResult.from_json(run.result) == result
    assert run.roles == {"base": result.base["spec"], "tuned": result.tuned["spec"]}

    items = store.items(result.run_id)
    assert sorted({i.task for i in items}) == ["hellaswag", "triviaqa"] and len(items) == 6
    fingerprints = {"base": result.base["fingerprint"], "tuned": result.tuned["fingerprint"]}
    for it in items:
        assert it.input and it.reference, it
        assert set(it.answers) == {"base", "tuned"}
        for role, answer in it.answers.items():
            assert answer.output is not None
            keys = answer.response_keys
            assert len(keys) == (4 if it.task == "hellaswag" else 1)
            cached = store.get_response_records(keys)
            assert set(cached) == set(keys)  # the keys are the cache entries the scores came from
            assert {c.fingerprint for c in cached.values()} == {fingerprints[role]}
    hs = next(i for i in items if i.task == "hellaswag")
    assert "(0) " in hs.input and "(3) " in hs.input  # the context and every choice
    assert set(hs.answers["base"].scores) == {"acc", "acc_norm", *SIGNALS}
    tq = [i for i in items if i.task == "triviaqa"]
    assert all(i.output("tuned") == i.answers["tuned"].output for i in tq)
    # the per-item scores pair up to the stored comparison
    tc = next(t for t in result.tasks if t.task == "hellaswag")
    mean = sum(i.score("tuned", "acc_norm") or 0.0 for i in items if i.task == "hellaswag") / 3
    assert tc.metric("acc_norm").tuned == pytest.approx(mean)


def test_run_result_round_trips_and_stores_its_one_role(store: Store, tiny_model_dir: Path) -> None:
    spec = f"hf:{tiny_model_dir}"
    result = run_model(SuiteSpec.model_validate(SUITE), spec, store, limit=2)
    assert result.to_json()["schema"] == "tunegate.run/v1"
    assert RunResult.from_json(_roundtrip(result.to_json())) == result
    run = store.get_run(result.run_id)
    assert run.roles == {"model": result.model["spec"]} and run.kind == "run"
    assert run.result is not None and RunResult.from_json(run.result) == result
    assert {(m.task, m.metric) for m in result.tasks} == {
        ("hellaswag", "acc"),
        ("hellaswag", "acc_norm"),
        ("triviaqa", "exact_match"),
        ("triviaqa", "f1"),
        *(("hellaswag", m) for m in ("gold_logprob", "gold_prob", "brier", "ece")),
    }
    assert result.warnings and "--limit 2" in result.warnings[0]
    items = store.items(result.run_id)
    assert len(items) == 4 and all(set(i.answers) == {"model"} and i.input for i in items)


def test_results_refuse_another_schema() -> None:
    with pytest.raises(ValueError, match="unsupported result schema"):
        RunResult.from_json({"schema": "tunegate.result/v1"})
    with pytest.raises(ValueError, match="unsupported result schema"):
        ComparisonResult.from_json({"schema": "tunegate.run/v1"})
    with pytest.raises(ValueError, match="'run_id' is missing"):
        RunResult.from_json({"schema": "tunegate.run/v1"})


def test_regress_report_round_trips_and_reads_the_pre_v1_schema() -> None:
    data = {
        "schema": "tunegate.regress/v1",
        "suite": "s",
        "model": "hf:m",
        "reference": None,
        "run_id": "abc",
        "baseline_run": None,
        "summary": {"cases": 1, "passed": 0, "flaky": 0, "failed": 1, "pass_rate": 0},
        "notes": ["a note"],
        "cases": [
            {
                "id": "c1",
                "status": "failed",
                "ok": False,
                "pass_fraction": 0,
                "threshold": 1,
                "repeat": 2,
                "tags": ["t"],
                "reason": "contains: no 'Paris'",
                "outputs": ["Lyon", "Rome"],
                "assertions": [
                    [{"type": "contains", "passed": False, "score": 0, "reason": "no 'Paris'"}],
                    [{"type": "contains", "passed": False, "score": 0, "reason": "no 'Paris'"}],
                ],
                "baseline": "newly failing",
                "reference_verdict": None,
                "reference": None,
            }
        ],
    }
    report = RegressReport.from_json(data)
    assert report.cases[0].assertions[1][0].reason == "no 'Paris'"
    assert report.case_ok() == {"c1": False}
    again = _roundtrip(report.to_json())
    assert RegressReport.from_json(again) == report
    assert again == json.loads(json.dumps(data)) | {"summary": again["summary"]}
    assert RegressReport.from_json({**data, "schema": "tunegate.regress/1"}) == report


class _Stop(NullProgress):
    """A progress display whose user presses Ctrl-C (or that crashes) once work starts."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def advance(self, handle: Any, n: int = 1, tokens: int = 0) -> None:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "status"), [(KeyboardInterrupt(), "interrupted"), (RuntimeError("x"), "failed")]
)
def test_ctrl_c_is_interrupted_and_a_crash_failed(
    store: Store, tiny_model_dir: Path, tiny_adapter_dir: Path, exc: BaseException, status: str
) -> None:
    base, tuned = _specs(tiny_model_dir, tiny_adapter_dir)
    suite = SuiteSpec.model_validate(SUITE)
    with pytest.raises(type(exc)):
        compare_models(CompareConfig(suite=suite, base=base, tuned=tuned), store, progress=_Stop(exc))
    with pytest.raises(type(exc)):
        run_model(suite, base, store, progress=_Stop(exc))
    runs = store.list_runs()
    assert sorted(r.kind for r in runs) == ["compare", "run"]
    assert all(r.status == status and r.result is None and r.finished_at for r in runs), runs
