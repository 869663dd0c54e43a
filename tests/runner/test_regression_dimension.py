"""A regression suite inside a compare suite: its cases are items, and a min_score gate needs all to pass."""

from __future__ import annotations

from pathlib import Path

from tunegate.runner import CompareConfig, compare_models
from tunegate.store import open_store
from tunegate.suite import load_suite

REGRESSION = """
name: smoke
cases:
  - id: says-something
    prompt: "Hello"
    max_new_tokens: 4
    assert:
      - {type: min-length, value: 1}
  - id: impossible
    prompt: "Hello"
    max_new_tokens: 4
    assert:
      - {type: equals, value: "this exact sentence will never come out"}
"""


def _suite(tmp_path: Path, gate: str) -> Path:
    (tmp_path / "reg.yaml").write_text(REGRESSION)
    path = tmp_path / "suite.yaml"
    path.write_text(
        "name: with-regression\ntasks:\n  - task: regression\n"
        f"    options: {{suite: {tmp_path / 'reg.yaml'}}}\n    gates:\n      - {gate}\n"
    )
    return path


def test_min_score_gate_fails_when_a_case_fails(tmp_path: Path, tiny_model_dir: Path) -> None:
    spec = f"hf:{tiny_model_dir}"
    suite = load_suite(_suite(tmp_path, "{metric: pass, min_score: 1.0}"))
    result = compare_models(
        CompareConfig(suite=suite, base=spec, tuned=spec), open_store(f"sqlite:///{tmp_path}/s.db")
    )
    (tc,) = result.tasks
    assert tc.dimension == "regression" and tc.n == 2
    assert tc.metric("pass").tuned == 0.5
    (gate,) = result.gates
    assert gate.kind == "min_score" and gate.outcome == "fail" and "needs >= 1" in gate.reason
    assert result.verdict == "FAIL" and result.exit_code == 1


def test_no_drop_gate_on_two_cases_of_one_model_is_inconclusive(tmp_path: Path, tiny_model_dir: Path) -> None:
    """Two cases are below min_n, and the same model twice is a vacuous run: never a silent PASS."""
    spec = f"hf:{tiny_model_dir}"
    suite = load_suite(_suite(tmp_path, "{metric: pass, max_drop: 0.0}"))
    result = compare_models(
        CompareConfig(suite=suite, base=spec, tuned=spec), open_store(f"sqlite:///{tmp_path}/s.db")
    )
    assert result.verdict == "INCONCLUSIVE" and result.exit_code == 3
    assert result.tasks[0].metric("pass").delta == 0.0
    assert result.tasks[0].metric("pass").n_clusters == 2  # each case is its own cluster
    assert "min_n" in result.gates[0].reason and any("same model" in v for v in result.vacuous)


def test_result_records_whether_a_chat_template_was_applied(tmp_path: Path, tiny_model_dir: Path) -> None:
    import shutil

    from transformers import AutoTokenizer

    templated = tmp_path / "templated"
    shutil.copytree(tiny_model_dir, templated)
    tok = AutoTokenizer.from_pretrained(templated)
    tok.chat_template = "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}<assistant>"
    tok.save_pretrained(templated)
    (tmp_path / "reg.yaml").write_text(
        "name: chat\ncases:\n  - id: hi\n    messages: [{role: user, content: Hello}]\n"
        "    max_new_tokens: 2\n    assert: [{type: min-length, value: 0}]\n"
    )
    (tmp_path / "suite.yaml").write_text(
        f"name: chat\ntasks:\n  - task: regression\n    options: {{suite: {tmp_path / 'reg.yaml'}}}\n"
    )
    result = compare_models(
        CompareConfig(
            suite=load_suite(tmp_path / "suite.yaml"), base=f"hf:{tiny_model_dir}", tuned=f"hf:{templated}"
        ),
        open_store(f"sqlite:///{tmp_path}/s.db"),
    )
    assert result.tasks[0].config["chat_template"] == {"base": False, "tuned": True}
