"""Start-up: ``tunegate --help``, ``--version`` and ``validate`` import no model stack.

Each command runs in a fresh interpreter (as a user runs it); the subprocess reports which heavy
modules ended up in ``sys.modules``. torch and transformers take seconds to import; numpy, scipy and
SQLAlchemy a tenth of a second each -- none of them is needed to print help or check a suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "numpy", "scipy", "sqlalchemy", "peft", "safetensors", "tokenizers")

_PROBE = """
import json, runpy, sys
sys.argv = ["tunegate", *sys.argv[1:]]
code = 0
try:
    runpy.run_module("tunegate.cli.main", run_name="__main__")
except SystemExit as e:
    code = e.code or 0
heavy = [m for m in {heavy!r} if m in sys.modules]
print("\\n" + json.dumps({{"code": code, "heavy": heavy}}), file=sys.stderr)
"""


def _run(*args: str) -> tuple[int, list[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("TUNEGATE_DB", None)
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    return report["code"], report["heavy"], proc.stdout


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (("--help",), "Built-in tasks"),
        (("--version",), "tunegate "),
        (("validate", "demo"), "ok"),
        (("validate", "examples/compare.yaml"), "ok"),
        (("validate", "examples/regression.yaml"), "ok: regression suite"),
    ],
    ids=["help", "version", "validate-builtin", "validate-compare", "validate-regression"],
)
def test_light_commands_import_no_model_stack(args: tuple[str, ...], expect: str) -> None:
    code, heavy, out = _run(*args)
    assert code == 0 and expect in out, out
    assert heavy == [], f"tunegate {' '.join(args)} imported {heavy}"


def test_the_probe_sees_a_heavy_import() -> None:
    """The check itself works: ``import tunegate.engine`` (store, stats) does pull SQLAlchemy and numpy in."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    code = "import sys, tunegate.engine, tunegate.stats; print(sorted(m for m in {!r} if m in sys.modules))"
    proc = subprocess.run(
        [sys.executable, "-c", code.format(HEAVY)], capture_output=True, text=True, timeout=120, env=env
    )
    assert "numpy" in proc.stdout and "sqlalchemy" in proc.stdout, proc.stdout + proc.stderr
