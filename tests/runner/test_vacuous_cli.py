"""`tunegate compare` on the same model twice: a vacuous run exits 3 unless --allow-vacuous (real CLI)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tunegate.cli.main import app


def test_same_model_gateless_run_exits_3_unless_allowed(tmp_path: Path, tiny_model_dir: Path) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\ntasks:\n  - task: hellaswag\n    limit: 3\n")
    spec = f"hf:{tiny_model_dir}"
    args = ["compare", "--base", spec, "--tuned", spec, "--suite", str(suite), "-q"]
    args += ["--db", f"sqlite:///{tmp_path / 's.db'}", "--json", str(tmp_path / "r.json")]
    runner = CliRunner()
    res = runner.invoke(app, args)
    assert res.exit_code == 3, res.output
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["verdict"] == "INCONCLUSIVE" and len(data["vacuous"]) == 2  # no gates, same model
    assert any(w.startswith("VACUOUS RUN") for w in data["warnings"])
    ok = runner.invoke(app, [*args, "--allow-vacuous", "--alpha", "0.1", "--n-boot", "500", "--seed", "3"])
    assert ok.exit_code == 0, ok.output
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["verdict"] == "PASS" and data["allow_vacuous"] and data["alpha"] == 0.1
    assert (
        data["tasks"][0]["metrics"][0]["alpha"] == 0.1
        and "90% CI" in data["tasks"][0]["metrics"][0]["method"]
    )
