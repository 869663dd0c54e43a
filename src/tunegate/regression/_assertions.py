"""Assertion types: one small handler each, registered in :data:`ASSERTIONS`.

A handler takes the model's answer, the compiled :class:`Assertion` and an :class:`AssertionContext`
and returns an :class:`AssertionResult` whose reason says what was expected and what was found. A
``prepare`` function (optional) checks and compiles the assertion's ``value`` when the suite is loaded,
so a bad regex or JSON schema is a load error, not a failure in the middle of a run. ``not-<type>``
inverts any type. Plugins register more types through the entry-point group ``tunegate.assertions``.

A type that needs another model (``llm-rubric``: a judge) also registers a ``followup`` function that
returns the :class:`~tunegate.models.RoleRequest` it needs for one answer; the runner answers every
case's follow-ups in one batched round and hands them back in ``AssertionContext.answers``.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tunegate.errors import UnknownNameError
from tunegate.models import ChatMessage, GenerateRequest, GenerateResult, Result, RoleRequest
from tunegate.registry import Registry
from tunegate.regression._schema import AssertionSpec

__all__ = [
    "ASSERTIONS",
    "Assertion",
    "AssertionContext",
    "AssertionResult",
    "AssertionType",
    "check_assertion",
    "compile_assertion",
]


@dataclass(frozen=True)
class AssertionResult:
    """Outcome of one assertion on one answer: pass/fail, a score in [0, 1], and why."""

    passed: bool
    score: float
    reason: str


@dataclass
class AssertionContext:
    """What an assertion may need besides the answer.

    ``answers`` holds the runner's answers to the assertions' follow-up requests (the judge's replies
    for llm-rubric), asked in one batched, cached round.
    """

    case_id: str = ""
    prompt: str = ""
    vars: dict[str, Any] = field(default_factory=dict)
    answers: Mapping[RoleRequest, Result] = field(default_factory=dict)
    default_judge: str | None = None


@dataclass(frozen=True)
class Assertion:
    """An assertion ready to run: its spec, base type, inversion and the prepared value."""

    spec: AssertionSpec
    base: str
    negate: bool
    kind: AssertionType
    prepared: Any = None

    @property
    def value(self) -> Any:
        return self.spec.value

    def threshold(self, default: float) -> float:
        return default if self.spec.threshold is None else self.spec.threshold

    @property
    def label(self) -> str:
        return self.spec.description or self.spec.type

    def __call__(self, output: str, ctx: AssertionContext | None = None) -> AssertionResult:
        res = self.kind.check(output, self, ctx or AssertionContext())
        if not self.negate:
            return res
        return AssertionResult(not res.passed, 1.0 - res.score, f"expected the opposite of: {res.reason}")

    def followups(self, output: str, ctx: AssertionContext | None = None) -> Sequence[RoleRequest]:
        """Requests for other models this assertion needs to check ``output`` (usually none)."""
        if self.kind.followup is None:
            return ()
        return self.kind.followup(output, self, ctx or AssertionContext())


Check = Callable[[str, Assertion, AssertionContext], AssertionResult]
Prepare = Callable[[AssertionSpec], Any]
Followup = Callable[[str, Assertion, AssertionContext], Sequence[RoleRequest]]


@dataclass(frozen=True)
class AssertionType:
    """A registered assertion type: its check, its load-time ``prepare`` (raises ValueError) and the
    follow-up requests it needs from other models (``followup``)."""

    check: Check
    prepare: Prepare | None = None
    doc: str = ""
    followup: Followup | None = None


ASSERTIONS: Registry[AssertionType] = Registry("assertion")


def assertion(
    name: str, prepare: Prepare | None = None, followup: Followup | None = None
) -> Callable[[Check], Check]:
    """Decorator: register ``check`` as assertion type ``name``."""

    def deco(fn: Check) -> Check:
        ASSERTIONS.add(name, AssertionType(fn, prepare, (fn.__doc__ or "").strip(), followup))
        return fn

    return deco


def compile_assertion(spec: AssertionSpec | dict[str, Any]) -> Assertion:
    """Look the type up and prepare the value; UnknownNameError / ValueError on bad input."""
    if isinstance(spec, dict):
        spec = AssertionSpec.model_validate(spec)
    negate = spec.type.startswith("not-")
    base = spec.type.removeprefix("not-")
    try:
        kind = ASSERTIONS.get(base)
    except UnknownNameError as e:
        raise UnknownNameError(str(e).replace(f"{base!r}", f"{spec.type!r}", 1)) from None
    prepared = kind.prepare(spec) if kind.prepare else None
    return Assertion(spec, base, negate, kind, prepared)


def check_assertion(
    output: str, spec: AssertionSpec | dict[str, Any], ctx: AssertionContext | None = None
) -> AssertionResult:
    """Compile ``spec`` and apply it to ``output`` (convenience for one-off checks)."""
    return compile_assertion(spec)(output, ctx)


# -- value checks (run at load) ----------------------------------------------------------------------
def _short(text: str, n: int = 80) -> str:
    text = text.replace("\n", "\\n")
    return repr(text if len(text) <= n else text[: n - 1] + "…")


def _str_value(spec: AssertionSpec) -> str:
    if not isinstance(spec.value, str) or spec.value == "":
        raise ValueError(f"value must be a non-empty string, got {spec.value!r}")
    return spec.value


def _str_list(spec: AssertionSpec) -> list[str]:
    v = spec.value
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not v or not all(isinstance(x, str) for x in v):
        raise ValueError(f"value must be a string or a non-empty list of strings, got {spec.value!r}")
    return v


def _int_value(spec: AssertionSpec) -> int:
    if not isinstance(spec.value, int) or isinstance(spec.value, bool) or spec.value < 0:
        raise ValueError(f"value must be a non-negative integer (characters), got {spec.value!r}")
    return spec.value


def _no_value(spec: AssertionSpec) -> None:
    if spec.value is not None:
        raise ValueError(f"{spec.type} takes no value, got {spec.value!r}")


def _regex_value(spec: AssertionSpec) -> re.Pattern[str]:
    try:
        return re.compile(_str_value(spec))
    except re.error as e:
        raise ValueError(f"invalid regular expression {spec.value!r}: {e}") from None


def _schema_value(spec: AssertionSpec) -> Any:
    import jsonschema

    schema = spec.value
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError as e:
            raise ValueError(f"the schema is not valid JSON: {e}") from None
    if not isinstance(schema, dict | bool):
        raise ValueError(f"value must be a JSON schema (a mapping), got {spec.value!r}")
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as e:
        path = "/".join(str(p) for p in e.path) or "(root)"
        raise ValueError(f"invalid JSON schema at {path}: {e.message}") from None
    return cls(schema)


def _python_value(spec: AssertionSpec) -> Callable[..., Any]:
    ref = _str_value(spec)
    mod, sep, fn = ref.partition(":") if ":" in ref else ref.rpartition(".")
    if not sep or not mod or not fn:
        raise ValueError(f"value must name a function as module:function or module.function, got {ref!r}")
    try:
        obj = getattr(importlib.import_module(mod), fn)
    except ImportError as e:
        raise ValueError(f"cannot import module {mod!r} for {ref!r}: {e}") from None
    except AttributeError:
        raise ValueError(f"module {mod!r} has no function {fn!r}") from None
    if not callable(obj):
        raise ValueError(f"{ref!r} is not callable")
    return obj  # type: ignore[no-any-return]


def _judge_value(spec: AssertionSpec) -> str:
    if spec.judge is not None:
        from tunegate.models import parse_model_spec

        parse_model_spec(spec.judge)  # a bad spec is a load error
    return _str_value(spec)


def _ok(passed: bool, reason: str, score: float | None = None) -> AssertionResult:
    return AssertionResult(passed, float(passed) if score is None else score, reason)


# -- the handlers ------------------------------------------------------------------------------------
@assertion("equals", _str_value)
def _equals(output: str, a: Assertion, ctx: AssertionContext) -> AssertionResult:
    """The answer, stripped of surrounding whitespace, equals ``value``."""
    return _ok(
        output.strip() == a.value.strip(), f"expected exactly {_short(a.value)}, found {_short(output)}"
    )


@assertion("contains", _str_value)
def _contains(output: str, a: Assertion, ctx: AssertionContext) -> AssertionResult:
    """``value`` occurs in the answer (case-sensitive)."""
    found = a.value in output
    return _ok(
        found, f"expected to contain {_short(a.value)}; {'found' if found else 'not in'} {_short(output)}"
    )


@assertion("icontains", _str_value)
def _icontains(output: str, a: Assertion, ctx: AssertionContext) -> AssertionResult:
    """``value`` occurs in the answer, ignoring case."""
    found = a.value.casefold() in output.casefold()
    return _ok(
        found,
        f"expected to contain {_short(a.value)} (any case); "
        f"{'found' if found else 'not in'} {_short(output)}",
    )


@assertion("contains-any", _str_list)
def _contains_any(output: str, a: Assertion, ctx: AssertionContext) -> AssertionResult:
    """At least one of the strings in ``value`` occurs in the answer."""
    hits = [v for v in a.prepared if v in output]
    what = f"found {hits[0]!r}" if hits else f"none in {_short(output)}"
    return _ok(bool(hits), f"expected any of {a.prepared!r}; {what}")


@assertion("contains-all", _str_list)
def _contains_all(output: str, a: Assertion, ctx: AssertionContext) -> AssertionResult:
    """Every string in ``value`` occurs in the answer; the score is the fraction found."""
    missing = [v for v in a.prepared if v not in output]
    score = 1 - len(missing) / len(a.prepared)
    what = "all found" if not missing else f"missing {missing!r} in {_short(output)}"
    return _ok(not missing, f"expected all of {a.prepared!r}; {what}", score)


@assertion("starts-with", _str_value)
def _starts_with(output: str, a: Assertion, ctx: AssertionContext) -> AssertionResult:
    """The answer, without leading whitespace, starts with ``value``."""
    return _ok(
        output.lstrip().startswith(a.value),
        f"expected to start with {_short(a.value)}, found {_short(output, 40)}",
    )


@assertion("regex", _regex_value)
def _regex(output: str, a: Assertion, ctx: AssertionContext) -> AssertionResult:
    """The regular expression ``value`` matches somewhere in the answer (``re.search``)."""
    m = a.prepared.search(output)
    what = f"matched {m.group(0)!r}" if m else f"no match in {_short(output)}"
    return _ok(m is not None, f"expected a match of /{a.value}/; {what}")


_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n(.*?)\n?```\s*$", re.DOTALL)


def _parse_json(output: str) -> tuple[Any, str]:
    """Parse the answer as JSON (a whole-answer ```json fence is unwrapped); ('', error) on failure."""
    text = output.strip()
    m = _FENCE.match(text)
    if m:
        text = m.group(1).strip()
    try:
        return json.loads(text), ""
    except json.JSONDecodeError as e:
        return None, f"not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})"


@assertion("json-valid", _no_value)
def _json_valid(output: str, a: Assertion, ctx: AssertionContext) -> AssertionResult:
    """The answer is valid JSON (a ```json fenced block around the whole answer is allowed)."""
    _, err = _parse_json(output)
    return _ok(not err, f"expected valid JSON; {err or 'parsed'}: {_short(output)}")


@assertion("json-schema", _schema_value)
def _json_schema(output: str, a: Assertion, ctx: AssertionContext) -> AssertionResult:
    """The answer is JSON that validates against the JSON schema ``value``."""
    data, err = _parse_json(output)
    if err:
        return _ok(False, f"expected JSON matching the schema; {err}: {_short(output)}")
    errors = sorted(a.prepared.iter_errors(data), key=lambda e: list(e.path))
    if not errors:
        return _ok(True, "expected JSON matching the schema; it matches")
    e = errors[0]
    path = "/".join(str(p) for p in e.path) or "(root)"
    return _ok(False, f"expected JSON matching the schema; at {path}: {e.message}")


@assertion("min-length", _int_value)
def _min_length(output: str, a: Assertion, ctx: AssertionContext) -> AssertionResult:
    """The answer (stripped) has at least ``value`` characters."""
    n = len(output.strip())
    return _ok(n >= a.prepared, f"expected at least {a.prepared} characters, found {n}")


@assertion("max-length", _int_value)
def _max_length(output: str, a: Assertion, ctx: AssertionContext) -> AssertionResult:
    """The answer (stripped) has at most ``value`` characters."""
    n = len(output.strip())
    return _ok(n <= a.prepared, f"expected at most {a.prepared} characters, found {n}")


@assertion("is-refusal", _no_value)
def _is_refusal(output: str, a: Assertion, ctx: AssertionContext) -> AssertionResult:
    """The answer declines the request (:mod:`tunegate.safety.refusal` patterns)."""
    from tunegate.safety import is_refusal

    hit, pattern = is_refusal(output)
    what = f"found refusal phrase {pattern!r}" if hit else f"no refusal phrase in {_short(output)}"
    return _ok(hit, f"expected a refusal; {what}")


@assertion("similar-to", _str_list)
def _similar_to(output: str, a: Assertion, ctx: AssertionContext) -> AssertionResult:
    """Cosine similarity of all-MiniLM-L6-v2 embeddings with any ``value`` ≥ ``threshold`` (0.8)."""
    from tunegate.regression._embed import cosine_similarities

    th = a.threshold(0.8)
    sims = cosine_similarities(output, a.prepared)
    best = max(range(len(sims)), key=sims.__getitem__)
    score = max(0.0, sims[best])
    return _ok(
        score >= th,
        f"expected similarity ≥ {th:g} to {_short(a.prepared[best], 40)}; "
        f"found {score:.3f} for {_short(output, 40)}",
        score,
    )


@assertion("rouge-above", _str_list)
def _rouge_above(output: str, a: Assertion, ctx: AssertionContext) -> AssertionResult:
    """ROUGE-L F-measure against the reference(s) in ``value`` ≥ ``threshold`` (0.5)."""
    from tunegate.metrics import get_metric

    th = a.threshold(0.5)
    score = get_metric("rougeL").score(output, a.prepared)
    return _ok(score >= th, f"expected ROUGE-L ≥ {th:g}; found {score:.3f} for {_short(output, 40)}", score)


JUDGE_PROMPT = """You are grading an AI assistant's answer against a rubric.

Rubric: {rubric}

Question: {prompt}

Answer: {answer}

Does the answer satisfy the rubric? Reply with exactly one word, PASS or FAIL.
Verdict:"""

_VERDICT = re.compile(r"\b(PASS(?:ED|ES)?|FAIL(?:ED|S)?)\b", re.IGNORECASE)


def parse_verdict(reply: str) -> bool | None:
    """PASS → True, FAIL → False (the first verdict word in the reply wins), None when there is none."""
    m = _VERDICT.search(reply)
    if m is None:
        return None
    return m.group(1).upper().startswith("PASS")


#: the judge's reply is one verdict word; a few tokens more leave room for "PASS." or " - PASS"
JUDGE_MAX_NEW_TOKENS = 16


def judge_request(output: str, a: Assertion, ctx: AssertionContext) -> Sequence[RoleRequest]:
    """The judge's grading request for ``output`` (none when no judge model is named)."""
    judge = a.spec.judge or ctx.default_judge
    if judge is None:
        return ()
    prompt = JUDGE_PROMPT.format(rubric=a.value, prompt=ctx.prompt, answer=output)
    req = GenerateRequest(
        prompt=(ChatMessage("user", prompt),), max_new_tokens=JUDGE_MAX_NEW_TOKENS, temperature=0.0
    )
    return (RoleRequest("judge", req, model=judge),)


@assertion("llm-rubric", _judge_value, followup=judge_request)
def _llm_rubric(output: str, a: Assertion, ctx: AssertionContext) -> AssertionResult:
    """A judge model (``judge:`` or ``defaults.judge``) answers PASS or FAIL to the rubric in ``value``."""
    wanted = judge_request(output, a, ctx)
    if not wanted:
        return _ok(False, "llm-rubric needs a judge model: set judge: on the assertion or defaults.judge")
    got = ctx.answers.get(wanted[0])
    if not isinstance(got, GenerateResult):
        return _ok(False, "llm-rubric was checked without the judge's answer (the runner asks it first)")
    reply = got.text
    verdict = parse_verdict(reply)
    if verdict is None:
        return _ok(
            False,
            f"expected the judge to say PASS for rubric {_short(a.value, 60)}; "
            f"it gave no verdict: {_short(reply)}",
        )
    said = "PASS" if verdict else "FAIL"
    return _ok(verdict, f"expected the judge to say PASS for rubric {_short(a.value, 60)}; judge said {said}")


@assertion("python", _python_value)
def _python(output: str, a: Assertion, ctx: AssertionContext) -> AssertionResult:
    """``value`` names ``f(output, context)`` → bool, float (≥ ``threshold``, 0.5) or AssertionResult."""
    got = a.prepared(output, ctx)
    if isinstance(got, AssertionResult):
        return got
    if isinstance(got, bool):
        return _ok(got, f"expected {a.value} to return True; it returned {got}")
    if isinstance(got, int | float):
        th = a.threshold(0.5)
        return _ok(
            float(got) >= th,
            f"expected {a.value} to score ≥ {th:g}; it returned {float(got):.3f}",
            float(got),
        )
    raise TypeError(
        f"python assertion {a.value} returned {type(got).__name__}; expected bool, float or AssertionResult"
    )
