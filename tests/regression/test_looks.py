"""Many checkpoints, one verdict: best checkpoint vs base at alpha / planned looks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tunegate.cli.main import app
from tunegate.regression import CaseResult, RegressionResult, best_vs_base, parse_regression_suite
from tunegate.regression._assertions import AssertionResult
from tunegate.stats import alpha_per_look, best_look

N_CASES = 60
SUITE = parse_regression_suite(
    {
        "name": "looks",
        "cases": [
            {"id": f"c{i}", "prompt": "hi", "assert": [{"type": "min-length", "value": 0}]}
            for i in range(N_CASES)
        ],
    }
)


def _result(n_failing: int) -> RegressionResult:
    def cases(fails: int) -> list[CaseResult]:
        return [
            CaseResult(c, ["x"], [[AssertionResult(i >= fails, float(i >= fails), "")]])
            for i, c in enumerate(SUITE.cases)
        ]

    ref = {c.id: c for c in cases(0)}
    return RegressionResult(
        suite="looks", model="m", cases=cases(n_failing), reference="base", reference_cases=ref
    )


def test_alpha_spending_and_best_look() -> None:
    assert alpha_per_look(0.05, 20) == pytest.approx(0.0025)
    assert best_look([0.5, 0.9, 0.9, 0.1]) == 1
    with pytest.raises(ValueError):
        alpha_per_look(0.05, 0)


def test_best_checkpoint_is_tested_at_the_spent_level() -> None:
    done = [(Path(f"checkpoint-{i}"), _result(k)) for i, k in enumerate((30, 5, 2, 2, 9))]
    best = best_vs_base(done, planned_looks=20)
    assert best.checkpoint == "checkpoint-2" and best.looks == 5 and best.planned_looks == 20
    assert best.alpha == pytest.approx(0.0025) and "99.75% CI" in best.reason
    assert best.outcome == "inconclusive"  # 60 cases cannot show power at alpha/20
    # the per-look level is never looser than alpha / looks so far
    assert best_vs_base(done).alpha == pytest.approx(0.05 / 5)
    worst = best_vs_base([(Path("checkpoint-1"), _result(40))], planned_looks=1)
    assert worst.outcome == "fail"
    with pytest.raises(ValueError, match="reference"):
        best_vs_base([(Path("c"), RegressionResult(suite="looks", model="m", cases=[]))])


def test_watch_cli_prints_best_vs_base(tmp_path: Path, tiny_model_dir: Path) -> None:
    out = tmp_path / "run"
    shutil.copytree(tiny_model_dir, out / "checkpoint-1")
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        yaml.safe_dump(
            {
                "name": "w",
                "defaults": {"max_new_tokens": 2},
                "cases": [{"id": "a", "prompt": "Hi", "assert": [{"type": "min-length", "value": 0}]}],
            }
        )
    )
    args = ["watch", str(out), "--suite", str(suite), "--once", "--db", f"sqlite:///{tmp_path / 's.db'}"]
    res = CliRunner().invoke(app, [*args, "--reference", f"hf:{tiny_model_dir}", "--looks", "10"])
    assert res.exit_code == 0, res.output
    assert "best so far checkpoint-1 vs base: inconclusive" in res.output and "alpha 0.005" in res.output
