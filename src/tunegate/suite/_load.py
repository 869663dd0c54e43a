"""Loading suites: from a YAML file, or a built-in suite by name; errors name file, key and fix."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from tunegate._files import SUITE_MAX_BYTES, read_user_text
from tunegate.errors import SuiteError, TunegateError
from tunegate.registry import did_you_mean
from tunegate.suite._schema import GateSpec, SuiteSpec, TaskEntry
from tunegate.suite._yaml import load_yaml
from tunegate.tasks import TASKS, Task, TaskOptions

__all__ = ["build_task", "builtin_suites", "load_suite", "suite_hash", "validate_suite"]


def builtin_suites() -> dict[str, Path]:
    """Built-in suites by name (``demo``, ...)."""
    from tunegate.tasks._data import package_data

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
        nested: dict[str, type[BaseModel]] = {"tasks": TaskEntry, "gates": GateSpec}
        nxt = nested.get(str(part))
        if nxt is None:
            break
        model = nxt
    return model


def _explain(err: ValidationError, source: str) -> SuiteError:
    first = err.errors()[0]
    loc = tuple(first["loc"])
    where = ".".join(str(p) for p in loc) or "(top level)"
    if first["type"] == "extra_forbidden":
        model = _model_for(loc[:-1])
        allowed = sorted(model.model_fields)
        key = str(loc[-1])
        return SuiteError(
            f"{source}: unknown key {key!r} at {where}.{did_you_mean(key, allowed)} "
            f"Allowed keys: {', '.join(allowed)}"
        )
    msg = first["msg"].removeprefix("Value error, ")
    more = f" (and {len(err.errors()) - 1} more problem(s))" if len(err.errors()) > 1 else ""
    return SuiteError(f"{source}: {where}: {msg}{more}")


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
    validate_suite(suite, source)
    return suite


def build_task(entry: TaskEntry) -> Task:
    """Instantiate the registered task of a suite entry."""
    cls = TASKS.get(entry.task)
    opts = TaskOptions(
        limit=entry.limit, shots=entry.shots, seed=entry.seed, data=entry.data, extra=entry.options
    )
    return cls(opts)


def validate_suite(suite: SuiteSpec, source: str = "suite") -> None:
    """Check names that pydantic cannot: tasks, metrics, options."""
    for i, entry in enumerate(suite.tasks):
        where = f"{source}: tasks.{i}"
        if entry.task not in TASKS:
            raise SuiteError(
                f"{where}.task: unknown task {entry.task!r}.{did_you_mean(entry.task, TASKS.names())} "
                f"Known tasks: {', '.join(TASKS.names())}"
            )
        cls = TASKS.get(entry.task)
        unknown = [k for k in entry.options if k not in cls.extra_options]
        if unknown:
            allowed = ", ".join(cls.extra_options) or "(none)"
            raise SuiteError(
                f"{where}.options: task {entry.task!r} has no option {unknown[0]!r}. Allowed: {allowed}"
            )
        metrics_for = getattr(cls, "metrics_for", None)
        try:
            infos = metrics_for(entry.options) if metrics_for is not None else cls.metrics
        except TunegateError as e:  # e.g. an unknown metric named in a custom task's options
            raise SuiteError(f"{where}.options.metrics: {e}") from None
        metric_names = [m.name for m in infos]
        for j, gate in enumerate(entry.gates):
            if gate.metric is not None and gate.metric not in metric_names:
                raise SuiteError(
                    f"{where}.gates.{j}.metric: task {entry.task!r} reports no metric {gate.metric!r}."
                    f"{did_you_mean(gate.metric, metric_names)} Its metrics: {', '.join(metric_names)}"
                )


def suite_hash(suite: SuiteSpec) -> str:
    """Stable hash of a suite's content (for grouping runs in history)."""
    return hashlib.sha256(json.dumps(suite.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
