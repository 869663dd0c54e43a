"""Known-answer cases for every assertion type, and bad assertion specs refused at load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tunegate.errors import SuiteError, UnknownNameError
from tunegate.models import GenerateResult
from tunegate.regression import (
    ASSERTIONS,
    AssertionContext,
    check_assertion,
    compile_assertion,
    parse_regression_suite,
)

CASES: list[dict[str, Any]] = json.loads((Path(__file__).parent / "cases" / "assertions.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_known_answer(case: dict[str, Any]) -> None:
    a = compile_assertion(case["assert"])
    asked = a.followups(case["output"], AssertionContext(prompt="Q?"))
    for rr in asked:  # the judge's round (llm-rubric): the prompt carries the rubric and the answer
        assert rr.role == "judge" and isinstance(rr.request.prompt, tuple)
        text = rr.request.prompt[-1].content
        assert case["assert"]["value"] in text and case["output"] in text
    answers = {rr: GenerateResult(str(case["judge_reply"])) for rr in asked}
    res = check_assertion(case["output"], case["assert"], AssertionContext(answers=answers, prompt="Q?"))
    assert res.passed is case["passed"], res.reason
    assert res.score == pytest.approx(case["score"], abs=case.get("tol", 1e-9))
    assert res.reason
    if case["assert"]["type"].startswith("not-"):
        assert "opposite" in res.reason


def test_every_type_has_a_known_answer() -> None:
    covered = {c["assert"]["type"].removeprefix("not-") for c in CASES}
    assert set(ASSERTIONS.names()) <= covered


def _suite(assertion: dict[str, Any], prompt: str = "hi", **case: Any) -> dict[str, Any]:
    return {"name": "s", "cases": [{"id": "c1", "prompt": prompt, "assert": [assertion], **case}]}


def test_unknown_type_suggests() -> None:
    with pytest.raises(UnknownNameError, match=r"case 'c1'.*assert\[0\]\.type.*Did you mean \"contains\""):
        parse_regression_suite(_suite({"type": "contians", "value": "x"}), "f.yaml")
    with pytest.raises(UnknownNameError, match=r"'not-regexp'.*Did you mean \"regex\""):
        parse_regression_suite(_suite({"type": "not-regexp", "value": "x"}), "f.yaml")


@pytest.mark.parametrize(
    ("assertion", "needle"),
    [
        (
            {"type": "regex", "value": "(unclosed"},
            r"f\.yaml: case 'c1'.*assert\[0\]\.value \(regex\): invalid regular",
        ),
        (
            {"type": "json-schema", "value": {"type": "strng"}},
            r"assert\[0\]\.value \(json-schema\): invalid JSON schema",
        ),
        ({"type": "python", "value": "no_such_mod_xyz:f"}, r"cannot import module 'no_such_mod_xyz'"),
        ({"type": "min-length", "value": "ten"}, r"non-negative integer"),
        (
            {"type": "contains", "valeu": "x"},
            r"unknown key 'valeu'\. Did you mean \"value\"\? Allowed keys: description",
        ),
        ({"type": "is-refusal", "value": "x"}, r"takes no value"),
    ],
)
def test_bad_assertion_is_a_load_error(assertion: dict[str, Any], needle: str) -> None:
    with pytest.raises(SuiteError, match=needle):
        parse_regression_suite(_suite(assertion), "f.yaml")


def test_missing_variable_names_case_and_field() -> None:
    raw = _suite({"type": "contains", "value": "{{citty}}"}, prompt="Capital of {{country}}?")
    raw["cases"][0]["vars"] = [{"country": "France", "city": "Paris"}]
    with pytest.raises(
        SuiteError,
        match=r"case 'c1\[0\]'.*vars row 0\): assert\[0\]\.value: placeholder \{\{citty\}\}"
        r".*Did you mean \"city\"",
    ):
        parse_regression_suite(raw, "f.yaml")


def test_vars_expand_cases() -> None:
    raw = _suite({"type": "icontains", "value": "{{city}}"}, prompt="Capital of {{ country }}?")
    raw["cases"][0]["vars"] = [{"country": "France", "city": "Paris"}, {"country": "Japan", "city": "Tokyo"}]
    suite = parse_regression_suite(raw)
    assert [c.id for c in suite.cases] == ["c1[0]", "c1[1]"]
    assert suite.cases[1].prompt == "Capital of Japan?"
    assert suite.cases[1].assertions[0].value == "Tokyo"


def test_unknown_case_key_names_case() -> None:
    with pytest.raises(
        SuiteError,
        match=r"case 'c1' \(cases\[0\]\): max_tokens: unknown key 'max_tokens'.*\"max_new_tokens\"",
    ):
        parse_regression_suite(_suite({"type": "json-valid"}, max_tokens=3), "f.yaml")
