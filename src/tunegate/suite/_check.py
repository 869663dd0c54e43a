"""Every problem of a suite at once, and warnings for likely unit mistakes (``tunegate validate``).

Problems are errors: unknown tasks, metrics or options, option values a task refuses (an MMLU subject
that does not exist, a shot count the task cannot do). Warnings are legal settings that are probably
not what was meant: ``max_drop: 1`` on a 0-1 metric allows every possible drop (1 point is 0.01), and
``max_drop: 0.02`` on BLEU (0-100) is a fiftieth of a point.
"""

from __future__ import annotations

from collections.abc import Sequence

from tunegate._units import NATIVE_UNITS
from tunegate.errors import SuiteError, TunegateError
from tunegate.registry import did_you_mean
from tunegate.suite._schema import SuiteSpec, TaskEntry
from tunegate.tasks import TASKS, TaskOptions

__all__ = ["SuiteProblems", "suite_problems", "suite_warnings"]


class SuiteProblems(SuiteError):
    """A suite with one or more problems; ``problems`` lists them all, the message names the first."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        more = len(self.problems) - 1
        tail = f" ({more} more problem(s): `tunegate validate` lists them all)" if more else ""
        super().__init__(self.problems[0] + tail)


def _scale(metric: str) -> float:
    from tunegate.metrics import METRICS

    return float(METRICS.get(metric).scale) if metric in METRICS else 1.0


def _metric_names(entry: TaskEntry, where: str, problems: list[str]) -> list[str] | None:
    cls = TASKS.get(entry.task)
    cheap = getattr(cls, "metric_names", None)
    if cheap is not None:  # names only, without loading what the metrics need
        return list(cheap(entry.options))
    metrics_for = getattr(cls, "metrics_for", None)
    try:
        infos = metrics_for(entry.options) if metrics_for is not None else cls.metrics
    except TunegateError as e:  # e.g. an unknown metric named in a custom task's options
        problems.append(f"{where}.options.metrics: {e}")
        return None
    return [m.name for m in infos]


def _option_problems(entry: TaskEntry, where: str) -> list[str]:
    cls = TASKS.get(entry.task)
    opts = TaskOptions(
        limit=entry.limit, shots=entry.shots, seed=entry.seed, data=entry.data, extra=entry.options
    )
    try:
        task = cls(opts)
        found = task.check_options()
    except TunegateError as e:
        found = [str(e)]
    return [f"{where}: {p}" for p in found]


def suite_problems(suite: SuiteSpec, source: str = "suite") -> list[str]:
    """Every problem pydantic cannot see: task names, option names and values, gate metrics."""
    problems: list[str] = []
    for i, entry in enumerate(suite.tasks):
        where = f"{source}: tasks.{i}"
        if entry.task not in TASKS:
            problems.append(
                f"{where}.task: unknown task {entry.task!r}.{did_you_mean(entry.task, TASKS.names())} "
                f"Known tasks: {', '.join(TASKS.names())}"
            )
            continue
        cls = TASKS.get(entry.task)
        unknown = [k for k in entry.options if k not in cls.extra_options]
        allowed = ", ".join(cls.extra_options) or "(none)"
        problems += [
            f"{where}.options: task {entry.task!r} has no option {k!r}.{did_you_mean(k, cls.extra_options)} "
            f"Allowed: {allowed}"
            for k in unknown
        ]
        names = _metric_names(entry, where, problems)
        if not unknown and names is not None:
            problems += _option_problems(entry, where)
        for j, gate in enumerate(entry.gates):
            if names is not None and gate.metric is not None and gate.metric not in names:
                problems.append(
                    f"{where}.gates.{j}.metric: task {entry.task!r} reports no metric {gate.metric!r}."
                    f"{did_you_mean(gate.metric, names)} Its metrics: {', '.join(names)}"
                )
    return problems


def suite_warnings(suite: SuiteSpec, source: str = "suite") -> list[str]:
    """Likely unit mistakes in gate thresholds (call on a suite without problems)."""
    out: list[str] = []
    for i, entry in enumerate(suite.tasks):
        cls = TASKS.get(entry.task)
        primary = getattr(cls, "primary", None)
        if hasattr(cls, "metric_names"):
            primary = cls.metric_names(entry.options)[0]
        elif hasattr(cls, "metrics_for"):
            primary = cls.metrics_for(entry.options)[0].name
        for j, gate in enumerate(entry.gates):
            metric = gate.metric or primary
            if not isinstance(metric, str):
                continue
            if metric in NATIVE_UNITS:  # nats, not a 0-1 score: no unit mistake to warn about
                continue
            scale = _scale(metric)
            where = f"{source}: tasks.{i}.gates.{j}"
            for key in ("max_drop", "max_rise", "min_gain", "min_score"):
                value = getattr(gate, key)
                if value is not None:
                    out += _unit_warning(where, key, float(value), metric, scale)
    return out


def _unit_warning(where: str, key: str, value: float, metric: str, scale: float) -> list[str]:
    if scale == 1.0:
        if key == "min_score" and value > 1.0:
            return [f"{where}: min_score: {value:g} on {metric} (a 0-1 metric) can never be reached"]
        if key != "min_score" and abs(value) >= 1.0:
            meant = f"{value / 100:g}"
            what = {
                "max_drop": "allows every possible drop",
                "max_rise": "allows every possible rise",
                "min_gain": "can never be met",
            }[key]
            return [
                f"{where}: {key}: {value:g} on {metric} (a 0-1 metric) {what}; "
                f"for {value:g} point(s) write {key}: {meant}"
            ]
        return []
    if key == "min_score" and value > scale:
        return [f"{where}: min_score: {value:g} on {metric} (0-{scale:g}) can never be reached"]
    if key != "min_score" and 0.0 < abs(value) < 1.0:
        return [
            f"{where}: {key}: {value:g} on {metric}, which is on a 0-{scale:g} scale, is under one point; "
            f"for {100 * value:g} points write {key}: {100 * value:g}"
        ]
    return []
