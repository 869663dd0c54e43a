"""pytest plugin: ``*.tunegate.yaml`` regression suites become pytest items, one per case.

Enable it with ``-p tunegate.regression.pytest_plugin`` (or the ``pytest11`` entry point) and run
``pytest --tunegate-model SPEC``. Without ``--tunegate-model`` the files are not collected. Answers go
through the Engine and the store (``--tunegate-db``, default the project's SQLite file), so a rerun
computes nothing. A flaky case passes (met its threshold) unless ``--tunegate-strict-flaky``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tunegate.regression._load import Case, RegressionSuite, load_regression_suite

_ENGINE = pytest.StashKey[Any]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tunegate", "tunegate regression suites")
    group.addoption("--tunegate-model", default=None, help="model spec to run *.tunegate.yaml suites on")
    group.addoption("--tunegate-db", default=None, help="tunegate store URL (default: .tunegate/ SQLite)")
    group.addoption("--tunegate-strict-flaky", action="store_true", help="flaky cases fail too")


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.name.endswith(".tunegate.yaml") and parent.config.getoption("--tunegate-model"):
        return TunegateFile.from_parent(parent, path=file_path)
    return None


class TunegateCaseFailed(Exception):
    """A regression case did not meet its threshold."""


class TunegateFile(pytest.File):
    """A regression suite file."""

    def collect(self) -> Iterator[pytest.Item]:
        suite = load_regression_suite(self.path)
        for case in suite.cases:
            yield TunegateItem.from_parent(self, name=case.id, suite=suite, case=case)


def _engine(config: pytest.Config) -> Any:
    if _ENGINE not in config.stash:
        from tunegate.engine import Roles
        from tunegate.store import open_store

        roles = Roles(open_store(config.getoption("--tunegate-db")))
        roles.assign("target", config.getoption("--tunegate-model"))
        config.stash[_ENGINE] = (roles.engine("target"), roles)
    return config.stash[_ENGINE]


class TunegateItem(pytest.Item):
    """One (expanded) case of a suite."""

    def __init__(self, *, suite: RegressionSuite, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite = suite
        self.case = case
        self.extra_keyword_matches.update(case.tags)  # select by tag with -k

    def runtest(self) -> None:
        from tunegate.regression._run import evaluate_cases

        engine, roles = _engine(self.config)
        one = RegressionSuite(self.suite.name, self.suite.source, self.suite.spec, (self.case,))
        (result,) = evaluate_cases(one, engine, roles=roles)
        strict = self.config.getoption("--tunegate-strict-flaky")
        if not result.ok or (strict and result.status == "flaky"):
            raise TunegateCaseFailed(f"{result.status}: {result.reason}\noutput: {result.outputs[0]!r}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, TunegateCaseFailed):
            return f"tunegate case {self.case.id!r} of suite {self.suite.name!r}: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"tunegate {self.suite.name}::{self.case.id}"
