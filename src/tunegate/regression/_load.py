"""Loading a regression suite: YAML → validated spec → expanded, compiled cases.

Every error names the file, the case id and the field, says what is allowed, and suggests the
closest name ("did you mean ...?"). Nothing about a suite is checked lazily: unknown assertion types,
bad regular expressions, invalid JSON schemas, unimportable ``python`` functions and ``{{placeholders}}``
naming a missing variable all fail at load time.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from tunegate.errors import SuiteError, UnknownNameError
from tunegate.models import ChatMessage, GenerateRequest
from tunegate.registry import did_you_mean
from tunegate.regression._assertions import Assertion, compile_assertion
from tunegate.regression._schema import (
    AssertionSpec,
    CaseSpec,
    DefaultsSpec,
    MessageSpec,
    RegressionSuiteSpec,
)

__all__ = [
    "Case",
    "RegressionSuite",
    "expand_placeholders",
    "load_regression_suite",
    "parse_regression_suite",
]

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")
_CHILDREN: dict[str, type[BaseModel]] = {
    "cases": CaseSpec,
    "defaults": DefaultsSpec,
    "assert": AssertionSpec,
    "asserts": AssertionSpec,
    "messages": MessageSpec,
}


@dataclass(frozen=True)
class Case:
    """One expanded case: the prompt to send, how to generate, and the compiled assertions."""

    id: str
    source_id: str
    prompt: str | tuple[ChatMessage, ...]
    assertions: tuple[Assertion, ...]
    max_new_tokens: int = 64
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    repeat: int = 1
    threshold: float = 1.0
    tags: tuple[str, ...] = ()
    vars: tuple[tuple[str, Any], ...] = ()
    description: str | None = None
    chat: bool | None = None

    @property
    def prompt_text(self) -> str:
        """The prompt as one string (chat turns as ``role: content`` lines)."""
        if isinstance(self.prompt, str):
            return self.prompt
        return "\n".join(f"{m.role}: {m.content}" for m in self.prompt)

    @property
    def identical_repeats(self) -> bool:
        """With temperature 0 every repeat is the same greedy answer: it is asked once."""
        return self.repeat > 1 and self.temperature == 0

    def requests(self) -> list[GenerateRequest]:
        """One request per repeat, seeds 0..N-1 (all seed 0 under greedy decoding: one answer)."""
        return [
            GenerateRequest(
                prompt=self.prompt,
                max_new_tokens=self.max_new_tokens,
                stop=self.stop,
                temperature=self.temperature,
                seed=0 if self.temperature == 0 else seed,
                chat=self.chat,
            )
            for seed in range(self.repeat)
        ]


@dataclass(frozen=True)
class RegressionSuite:
    """A loaded suite: its name, source, default judge and expanded cases."""

    name: str
    source: str
    spec: RegressionSuiteSpec
    cases: tuple[Case, ...]

    @property
    def judge(self) -> str | None:
        return self.spec.defaults.judge

    @property
    def hash(self) -> str:
        """Stable hash of the suite's content."""
        data = json.dumps(self.spec.model_dump(mode="json", by_alias=True), sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()

    def select(self, tags: list[str] | None = None, ids: list[str] | None = None) -> RegressionSuite:
        """The suite restricted to cases with any of ``tags`` and/or whose (source) id is in ``ids``."""
        cases = [
            c
            for c in self.cases
            if (not tags or set(tags) & set(c.tags)) and (not ids or c.id in ids or c.source_id in ids)
        ]
        return RegressionSuite(self.name, self.source, self.spec, tuple(cases))


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel]:
    model: type[BaseModel] = RegressionSuiteSpec
    for part in loc:
        if (
            isinstance(part, str)
            and part in _CHILDREN
            and part in {f.alias or n for n, f in model.model_fields.items()} | set(model.model_fields)
        ):
            model = _CHILDREN[part]
    return model


def _where(raw: Any, loc: tuple[Any, ...]) -> str:
    """'case "greet" (cases[2]): assert[0].value' for a pydantic error location."""
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int) and parts:
            parts[-1] += f"[{p}]"
        else:
            parts.append(str(p))
    text = ".".join(parts) or "(top level)"
    if len(loc) >= 2 and loc[0] == "cases" and isinstance(loc[1], int):
        cases = raw.get("cases") if isinstance(raw, dict) else None
        case = cases[loc[1]] if isinstance(cases, list) and loc[1] < len(cases) else None
        cid = case.get("id") if isinstance(case, dict) else None
        field = ".".join(parts[1:]) or "(the case)"
        return f"case {cid!r} (cases[{loc[1]}]): {field}" if cid else f"cases[{loc[1]}]: {field}"
    return text


def _explain(err: ValidationError, raw: Any, source: str) -> SuiteError:
    errors = sorted(err.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    loc = tuple(first["loc"])
    more = f" (and {len(err.errors()) - 1} more problem(s))" if len(err.errors()) > 1 else ""
    if first["type"] == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = sorted(f.alias or n for n, f in model.model_fields.items())
        key = str(loc[-1])
        return SuiteError(
            f"{source}: {_where(raw, loc)}: unknown key {key!r}.{did_you_mean(key, allowed)} "
            f"Allowed keys: {', '.join(allowed)}{more}"
        )
    msg = first["msg"].removeprefix("Value error, ")
    return SuiteError(f"{source}: {_where(raw, loc)}: {msg}{more}")


def expand_placeholders(value: Any, variables: dict[str, Any], where: str) -> Any:
    """Replace ``{{name}}`` in every string of ``value``; ValueError names a missing variable."""
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in variables:
                known = ", ".join(sorted(variables)) or "(no vars)"
                raise ValueError(
                    f"{where}: placeholder {{{{{name}}}}} names no variable."
                    f"{did_you_mean(name, list(variables))} Variables: {known}"
                )
            return str(variables[name])

        return _PLACEHOLDER.sub(sub, value)
    if isinstance(value, list):
        return [expand_placeholders(v, variables, where) for v in value]
    if isinstance(value, dict):
        return {k: expand_placeholders(v, variables, where) for k, v in value.items()}
    return value


def _expand(case: CaseSpec, defaults: DefaultsSpec, source: str, index: int) -> list[Case]:
    rows = case.vars if case.vars is not None else [{}]
    if case.vars is not None and not rows:
        raise SuiteError(f"{source}: case {case.id!r} (cases[{index}]): vars: the table has no rows")
    out = []
    for r, row in enumerate(rows):
        cid = case.id if case.vars is None else f"{case.id}[{r}]"
        label = f"{source}: case {cid!r} (cases[{index}]"
        label += f", vars row {r})" if case.vars is not None else ")"
        try:
            prompt: str | tuple[ChatMessage, ...]
            if case.prompt is not None:
                prompt = expand_placeholders(case.prompt, row, f"{label}: prompt")
            else:
                prompt = tuple(
                    ChatMessage(
                        m.role, expand_placeholders(m.content, row, f"{label}: messages[{i}].content")
                    )
                    for i, m in enumerate(case.messages or [])
                )
            asserts = []
            for j, a in enumerate(case.asserts):
                field = f"assert[{j}]"
                spec = a.model_copy(
                    update={
                        "value": expand_placeholders(a.value, row, f"{label}: {field}.value"),
                        "threshold": a.threshold,
                    }
                )
                try:
                    asserts.append(compile_assertion(spec))
                except UnknownNameError as e:
                    raise UnknownNameError(f"{label}: {field}.type: {e}") from None
                except ValueError as e:
                    raise SuiteError(f"{label}: {field}.value ({a.type}): {e}") from None
        except ValueError as e:
            raise SuiteError(str(e)) from None
        out.append(
            Case(
                id=cid,
                source_id=case.id,
                prompt=prompt,
                assertions=tuple(asserts),
                max_new_tokens=case.max_new_tokens or defaults.max_new_tokens,
                temperature=defaults.temperature if case.temperature is None else case.temperature,
                stop=tuple(defaults.stop if case.stop is None else case.stop),
                repeat=case.repeat or defaults.repeat,
                threshold=defaults.threshold if case.threshold is None else case.threshold,
                tags=tuple(case.tags),
                vars=tuple(row.items()),
                description=case.description,
                chat=defaults.chat,
            )
        )
    return out


def parse_regression_suite(raw: Any, source: str = "suite") -> RegressionSuite:
    """Validate a suite given as parsed YAML/JSON data and expand its cases."""
    if not isinstance(raw, dict):
        raise SuiteError(f"{source}: a regression suite is a mapping with keys name, defaults, cases")
    try:
        spec = RegressionSuiteSpec.model_validate(raw)
    except ValidationError as e:
        raise _explain(e, raw, source) from None
    if spec.defaults.judge is not None:
        from tunegate.models import parse_model_spec

        parse_model_spec(spec.defaults.judge)
    cases: list[Case] = []
    for i, case in enumerate(spec.cases):
        cases.extend(_expand(case, spec.defaults, source, i))
    return RegressionSuite(spec.name, source, spec, tuple(cases))


def load_regression_suite(path: str | Path) -> RegressionSuite:
    """Read, validate and expand a regression suite YAML file."""
    p = Path(path)
    if not p.is_file():
        raise SuiteError(f"regression suite file not found: {p}")
    from tunegate._files import SUITE_MAX_BYTES, read_user_text
    from tunegate.suite._yaml import load_yaml

    raw = load_yaml(read_user_text(p, limit=SUITE_MAX_BYTES, error=SuiteError), str(p))
    return parse_regression_suite(raw, str(p))
