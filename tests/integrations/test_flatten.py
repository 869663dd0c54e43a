"""The one flattening every tracker shares (safe, unique names, none a folder of another); no tracker
is imported unless asked for."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.integrations.conftest import ROOT
from tunegate.integrations import Flat
from tunegate.integrations._flatten import MAX_NAME, safe_name


def test_names_are_safe_for_mlflow() -> None:
    assert safe_name("tunegate/A/B study 7/win_rate") == "tunegate/A/B study 7/win_rate"
    assert safe_name("tunegate/q&a (v2)/f1") == "tunegate/q_a _v2_/f1"
    assert safe_name("tunegate/../x//y") == "tunegate/_/x/_/y"  # no '..' and no empty part
    long_a, long_b = safe_name("tunegate/case/" + "a" * 300), safe_name("tunegate/case/" + "a" * 301)
    assert len(long_a) == len(long_b) == MAX_NAME and long_a != long_b  # cut to MLflow's limit, still unique


def test_no_name_is_a_folder_of_another() -> None:
    """A task called ``exit_code`` must not turn ``tunegate/exit_code`` into a folder (MLflow's file
    store cannot hold both), and a repeated name is kept, numbered."""
    flat = Flat()
    flat.add("tunegate/exit_code", 1)
    flat.add("tunegate/exit_code/acc/delta", 0.5)
    flat.add("tunegate/exit_code/acc/delta", 0.25)
    flat.add("tunegate/ok/acc/delta", 0.1)
    flat.add("tunegate/ok/acc", 0.2)  # a folder already
    flat.add("tunegate/skipped", None)
    assert flat.metrics == {
        "tunegate/exit_code": 1.0,
        "tunegate/exit_code_acc_delta": 0.5,
        "tunegate/exit_code_acc_delta_2": 0.25,
        "tunegate/ok/acc/delta": 0.1,
        "tunegate/ok_acc": 0.2,
    }
    # a Flat built from metrics knows their folders too
    more = Flat(metrics={"tunegate/a/b": 1.0})
    more.add("tunegate/a", 2)
    assert more.metrics == {"tunegate/a/b": 1.0, "tunegate/a_2": 2.0}


@pytest.mark.parametrize(
    ("args", "expect"),
    [(["--help"], "Built-in tasks"), (["compare", "--help"], "--wandb")],
    ids=["help", "compare-help"],
)
def test_help_imports_no_tracker(args: list[str], expect: str) -> None:
    """The trackers are imported only when --mlflow / --wandb is given."""
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['tunegate', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('tunegate.cli.main', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('LOADED', sorted(m for m in ('mlflow', 'wandb') if m in sys.modules), file=sys.stderr)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=120, env=env
    )
    assert expect in proc.stdout, proc.stdout + proc.stderr
    assert "LOADED []" in proc.stderr, proc.stderr
