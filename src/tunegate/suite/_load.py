"""Loading suites: from a YAML file, or a built-in suite by name; errors name file, key and fix."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from tunegate._files import SUITE_MAX_BYTES, read_user_text
from tunegate.errors import SuiteError
from tunegate.registry import did_you_mean
from tunegate.suite._check import SuiteProblems, suite_problems
from tunegate.suite._schema import GateSpec, ReferenceSpec, SuiteSpec, TaskEntry
from tunegate.suite._yaml import load_yaml
from tunegate.tasks import TASKS, Task, TaskOptions

__all__ = ["build_task", "builtin_suites", "load_suite", "parse_reference", "suite_hash", "validate_suite"]


def builtin_suites() -> dict[str, Path]:
    """Built-in suites by name (``demo``, ...)."""
    from tunegate._paths import package_data

    folder = package_data("suites")
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def _model_for(loc: tuple[Any, ...]) -> type[BaseModel]:
    model: type[BaseModel] = SuiteSpec
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            break
        nested: dict[str, type[BaseModel]] = {
            "tasks": TaskEntry,
            "gates": GateSpec,
            "reference": ReferenceSpec,
        }
        nxt = nested.get(str(part))
        if nxt is None:
            break
        model = nxt
    return model


def _explain_one(first: Any, source: str) -> str:
    loc = tuple(first["loc"])
    where = ".".join(str(p) for p in loc) or "(top level)"
    if first["type"] == "extra_forbidden":
        model = _model_for(loc[:-1])
        allowed = sorted(model.model_fields)
        key = str(loc[-1])
        return (
            f"{source}: unknown key {key!r} at {where}.{did_you_mean(key, allowed)} "
            f"Allowed keys: {', '.join(allowed)}"
        )
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "model_type":  # a scalar where a mapping belongs
        keys = ", ".join(sorted(_model_for(loc).model_fields))
        return f"{source}: {where}: expected a mapping with the keys {keys}, got {first.get('input')!r}"
    return f"{source}: {where}: {msg}"


def _explain(err: ValidationError, source: str) -> SuiteError:
    errors = err.errors()
    # a list whose items failed is also reported "too short": that follows from the item errors
    deeper = [tuple(e["loc"]) for e in errors]
    kept = [
        e
        for e in errors
        if not (
            e["type"] == "too_short"
            and any(d[: len(e["loc"])] == tuple(e["loc"]) and d != tuple(e["loc"]) for d in deeper)
        )
    ]
    return SuiteProblems([_explain_one(e, source) for e in kept])


def _resolve(path_or_name: str | Path) -> tuple[Path, str]:
    text = str(path_or_name)
    path = Path(text)
    if path.is_file():
        return path, str(path)
    builtins = builtin_suites()
    name = text.removeprefix("builtin:")
    if name in builtins:
        return builtins[name], f"builtin suite {name!r}"
    if path.suffix in (".yaml", ".yml") or "/" in text:
        raise SuiteError(f"suite file not found: {text}")
    raise SuiteError(
        f"no suite file or built-in suite {text!r}.{did_you_mean(name, list(builtins))} "
        f"Built-in suites: {', '.join(builtins)}"
    )


def load_suite(path_or_name: str | Path) -> SuiteSpec:
    """Parse and validate a suite; raise SuiteError naming the file, the key and what is allowed."""
    path, source = _resolve(path_or_name)
    text = read_user_text(path, limit=SUITE_MAX_BYTES, error=SuiteError, source=source)
    raw = load_yaml(text, source)
    if not isinstance(raw, dict):
        raise SuiteError(f"{source}: a suite is a mapping with keys name, description, tasks")
    try:
        suite = SuiteSpec.model_validate(raw)
    except ValidationError as e:
        raise _explain(e, source) from None
    if source.startswith("builtin suite"):
        suite = _packaged_paths(suite, path.parent)
    validate_suite(suite, source)
    return suite


def _packaged_paths(suite: SuiteSpec, folder: Path) -> SuiteSpec:
    """A built-in suite's relative ``data:`` and ``options.suite`` files live beside it in the package."""

    def fix(value: Any) -> Any:
        return str(folder / value) if isinstance(value, str) and not Path(value).is_absolute() else value

    tasks = []
    for t in suite.tasks:
        update: dict[str, Any] = {}
        if t.data:
            update["data"] = fix(t.data)
        if "suite" in t.options:
            update["options"] = {**t.options, "suite": fix(t.options["suite"])}
        tasks.append(t.model_copy(update=update) if update else t)
    return suite.model_copy(update={"tasks": tuple(tasks)})


def parse_reference(text: str, source: str = "--reference") -> ReferenceSpec:
    """``--reference``: ``shots=K``, ``model=SPEC``, both joined by ``,`` (``shots=3,model=SPEC``), or
    a bare model spec. Errors say what is allowed, as for a suite's ``reference:`` key."""
    text = text.strip()
    raw: dict[str, Any] = {}
    rest = text
    if rest.startswith("shots="):
        shots, _, rest = rest.removeprefix("shots=").partition(",")
        raw["shots"] = int(shots) if shots.strip().isdigit() else shots
    if rest.startswith("model="):
        raw["model"] = rest.removeprefix("model=")
    elif rest and "shots" in raw:
        raw["unknown"] = rest  # "shots=3,xyz": refused below, with the allowed forms
    elif rest:
        raw["model"] = rest  # a bare model spec (which may itself hold "," or "=")
    try:
        return ReferenceSpec.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            where, msg = "", f"after shots=K only model=SPEC may follow, got {raw['unknown']!r}"
        raise SuiteError(
            f"{source} {text!r}: {where + ': ' if where else ''}{msg}. "
            "Use shots=K (base with K few-shot examples), model=SPEC, shots=K,model=SPEC or a model spec"
        ) from None


def build_task(entry: TaskEntry, *, held_out: frozenset[str] = frozenset()) -> Task:
    """Instantiate the registered task of a suite entry (``held_out``: item ids never used as shots)."""
    cls = TASKS.get(entry.task)
    opts = TaskOptions(
        limit=entry.limit,
        shots=entry.shots,
        seed=entry.seed,
        data=entry.data,
        extra=entry.options,
        held_out=held_out,
    )
    return cls(opts)


def validate_suite(suite: SuiteSpec, source: str = "suite") -> None:
    """Check names and option values that pydantic cannot; raise SuiteProblems listing every problem."""
    problems = suite_problems(suite, source)
    if problems:
        raise SuiteProblems(problems)


def suite_hash(suite: SuiteSpec) -> str:
    """Stable hash of a suite's content (for grouping runs in history).

    The ``reference`` is left out: it adds a report-only column and changes no base or tuned number,
    so runs with and without it stay comparable (and older suites keep their hash)."""
    data = suite.model_dump(mode="json", exclude={"reference"})
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
