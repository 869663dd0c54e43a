"""A real comparison in about a second: two scripted ``mock:`` models on two custom tasks.

``answers``: the tuned model answers 30 of 40 questions, the base 5 (its gates pass); ``kept``: the
base answers 35 of 40, the tuned 10 (its ``max_drop`` gate fails). The verdict is FAIL, exit 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tunegate.runner import CompareConfig, ComparisonResult, compare_models
from tunegate.store import Store, open_store
from tunegate.suite import load_suite

ROOT = Path(__file__).resolve().parents[2]
N = 40
SUITE = """\
name: tracked
tasks:
  - task: custom
    name: answers
    options: {{path: {answers}, prompt: "Q: {{question}}\\nA:", reference: answer,
               metrics: [exact_match, rougeL], max_new_tokens: 4}}
    gates:
      - metric: exact_match
        min_gain: 0.0
      - metric: rougeL
        max_drop: 0.05
  - task: custom
    name: kept
    options: {{path: {kept}, prompt: "K: {{question}}\\nA:", reference: answer,
               metrics: [exact_match], max_new_tokens: 4}}
    gates:
      - metric: exact_match
        max_drop: 0.02
"""


@dataclass(frozen=True)
class MockPair:
    suite: Path
    base: str
    tuned: str
    db: str


def _rows(tag: str) -> list[dict[str, str]]:
    return [{"question": f"{tag} question {i}?", "answer": f"{tag}{i}"} for i in range(N)]


def _script(path: Path, answered: dict[str, list[dict[str, str]]]) -> str:
    lines = [{"options": {"default_text": "no idea"}}]
    for prefix, rows in answered.items():
        lines += [{"prompt": f"{prefix}: {r['question']}\nA:", "text": " " + r["answer"]} for r in rows]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return f"mock:{path}"


@pytest.fixture
def mock_pair(tmp_path: Path) -> MockPair:
    answers, kept = _rows("a"), _rows("k")
    for name, rows in (("answers", answers), ("kept", kept)):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        SUITE.format(answers=tmp_path / "answers.jsonl", kept=tmp_path / "kept.jsonl"), encoding="utf-8"
    )
    base = _script(tmp_path / "base.jsonl", {"Q": answers[:5], "K": kept[:35]})
    tuned = _script(tmp_path / "tuned.jsonl", {"Q": answers[:30], "K": kept[:10]})
    return MockPair(suite, base, tuned, f"sqlite:///{tmp_path / 'store.db'}")


@pytest.fixture
def store(mock_pair: MockPair) -> Store:
    return open_store(mock_pair.db)


@pytest.fixture
def comparison(mock_pair: MockPair, store: Store) -> ComparisonResult:
    config = CompareConfig(suite=load_suite(str(mock_pair.suite)), base=mock_pair.base, tuned=mock_pair.tuned)
    return compare_models(config, store)


@pytest.fixture
def mlflow_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No MLflow setting of the machine's leaks in (each test names its store)."""
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_ALLOW_FILE_STORE"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def wandb_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """W&B writes runs, its cache, staged artefacts and settings under one temporary folder.

    W&B reads its environment once per process (``wandb.setup``); ``wandb.teardown()`` afterwards makes
    the next test's ``wandb.init`` read it again.
    """
    import wandb

    root = tmp_path / "wb"
    root.mkdir()
    monkeypatch.setenv("WANDB_DIR", str(root))
    for var, sub in (
        ("WANDB_CACHE_DIR", "cache"),
        ("WANDB_DATA_DIR", "data"),
        ("WANDB_CONFIG_DIR", "config"),
    ):
        monkeypatch.setenv(var, str(root / sub))
    for var in ("WANDB_MODE", "WANDB_OFFLINE", "WANDB_API_KEY", "WANDB_PROJECT", "WANDB_RUN_ID"):
        monkeypatch.delenv(var, raising=False)
    wandb.teardown()
    yield root
    wandb.teardown()


def compare_without(
    mock_pair: MockPair, tmp_path: Path, package: str, flag: list[str]
) -> subprocess.CompletedProcess[str]:
    """``tunegate compare FLAG`` in a fresh interpreter where ``import PACKAGE`` fails as if it were not
    installed (``sys.modules[name] = None`` is what an absent module looks like to ``import``)."""
    probe = (
        f"import sys; sys.modules[{package!r}] = None\n"
        "from tunegate.cli.main import main\n"
        "sys.argv = ['tunegate', *sys.argv[1:]]\n"
        "main()\n"
    )
    args = ["compare", "--base", mock_pair.base, "--tuned", mock_pair.tuned, "--suite", str(mock_pair.suite)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TUNEGATE_HOME": str(tmp_path / "home")}
    return subprocess.run(
        [sys.executable, "-c", probe, *args, "-q", "--db", mock_pair.db, *flag],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
