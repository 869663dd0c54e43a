"""JUnit XML: one test case per gate, failures and skipped (inconclusive) counted and explained."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

from tunegate.report import write_junit
from tunegate.runner import ComparisonResult


def _parse(result: ComparisonResult, tmp_path: Path) -> ET.Element:
    path = tmp_path / "out" / "junit.xml"
    write_junit(result, path)
    return ET.parse(path).getroot()


def test_counts_and_names(result: ComparisonResult, tmp_path: Path) -> None:
    root = _parse(result, tmp_path)
    suites = root.findall("testsuite")
    assert root.tag == "testsuites" and len(suites) == 1
    suite = suites[0]
    assert suite.get("name") == "tunegate.demo"
    cases = suite.findall("testcase")
    assert len(cases) == int(suite.get("tests", "-1")) == 3
    assert int(suite.get("failures", "-1")) == len(suite.findall("testcase/failure")) == 1
    assert int(suite.get("skipped", "-1")) == len(suite.findall("testcase/skipped")) == 1
    assert suite.get("errors") == "0" and not suite.findall("testcase/error")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("triviaqa", "exact_match min_gain 0"),
        ("hellaswag", "acc_norm max_drop 0.02"),
        ("hellaswag", "acc max_drop 0.1"),
    ]
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["verdict"] == "FAIL" and props["run_id"] == "abc123def456"


def test_failure_and_skip_carry_the_reason(result: ComparisonResult, tmp_path: Path) -> None:
    suite = _parse(result, tmp_path).find("testsuite")
    assert suite is not None
    failure = suite.find("testcase/failure")
    assert failure is not None
    assert failure.get("message") == "delta -0.1 <script>alert('gate')</script> below -0.02"  # escaped in XML
    skipped = suite.find("testcase/skipped")
    assert skipped is not None and skipped.get("message") == "inconclusive: CI straddles -0.1"
    passed = suite.findall("testcase")[0]
    assert list(c.tag for c in passed) == ["system-out"]


def test_no_gates_and_illegal_characters(result: ComparisonResult, tmp_path: Path) -> None:
    bad = dataclasses.replace(result.gates[1], reason="nul\x00 and bell\x07")
    root = _parse(dataclasses.replace(result, gates=(bad,)), tmp_path)  # still parses
    assert root.find("testsuite/testcase/failure").get("message") == "nul\ufffd and bell\ufffd"  # type: ignore[union-attr]
    root = _parse(dataclasses.replace(result, gates=(), verdict="PASS"), tmp_path)
    assert root.find("testsuite").get("tests") == "0"  # type: ignore[union-attr]
