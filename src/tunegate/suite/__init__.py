"""Suites: the YAML spec of what to run and how to judge it."""

from tunegate.suite._check import SuiteProblems, suite_problems, suite_warnings
from tunegate.suite._load import (
    build_task,
    builtin_suites,
    load_suite,
    parse_reference,
    suite_hash,
    validate_suite,
)
from tunegate.suite._schema import GateSpec, ReferenceSpec, SuiteSpec, TaskEntry

__all__ = [
    "GateSpec",
    "ReferenceSpec",
    "SuiteProblems",
    "SuiteSpec",
    "TaskEntry",
    "build_task",
    "builtin_suites",
    "load_suite",
    "parse_reference",
    "suite_hash",
    "suite_problems",
    "suite_warnings",
    "validate_suite",
]
