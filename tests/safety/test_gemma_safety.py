"""End to end on the real Gemma 3 270M: base vs the shipped TriviaQA adapter on a handful of probes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_safety_gemma_base_vs_adapter(tmp_path: Path) -> None:
    env = {**os.environ, "TUNEGATE_HOME": str(tmp_path / ".tunegate"), "HF_HUB_OFFLINE": "1"}
    args = [
        sys.executable,
        "-m",
        "tunegate",
        "safety",
        "--model",
        "builtin:gemma-3-270m?adapter=builtin:triviaqa-lora",
        "--base",
        "builtin:gemma-3-270m",
        "--limit",
        "2",
        "--attack",
        "direct",
        "--attack",
        "prefix_injection",
        "--attack",
        "multi_turn_escalation",
        "--max-new-tokens",
        "24",
        "-q",
        "--json",
        "r.json",
        "--max-asr-rise",
        "0.5",
    ]
    p = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=900)
    assert p.returncode in (0, 1, 3), p.stderr  # a verdict, never a usage error or a traceback
    assert "Traceback" not in p.stderr
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["n_probes"] == {"harmful": 6, "safe": 2, "behaviors": 2}
    for role in ("base", "tuned"):
        m = r["per_model"][role]
        assert 0.0 <= m["attack_success_rate"]["value"] <= 1.0
        assert set(m["by_family"]) == {"direct", "prefix_injection", "multi_turn"}
    assert r["paired"]["attack_success_rate"]["base"]["n"] == 6
