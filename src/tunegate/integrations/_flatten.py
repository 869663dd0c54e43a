"""A result as what experiment trackers take: ``{name: float}`` metrics, ``{name: str}`` params and tags.

One flattening for every tracker (MLflow, Weights & Biases) and for the Trainer callback, so a name
means the same number everywhere. Names (``prefix`` is ``tunegate/``)::

    tunegate/<task>/<metric>/{base,tuned,delta,ci_low,ci_high,p_value,n}   every paired metric
    tunegate/scorecard/<dimension>/{base,tuned,delta,ci_low,ci_high,n}   every scorecard row that ran
    tunegate/gate/<task>/<metric>/<kind>_<threshold>                     1 pass, 0 inconclusive, -1 fail
    tunegate/gates/{pass,fail,inconclusive}                              how many gates ended so
    tunegate/exit_code                                                   0 PASS, 1 FAIL, 3 INCONCLUSIVE

``ci_low``/``ci_high`` are the interval at the result's level (``alpha``, a param); ``p_value`` is left
out where the result has none. A regression suite run (the Trainer callback, ``tunegate regress``)::

    tunegate/{pass_rate,passed,flaky,failed,cases,exit_code}
    tunegate/reference_pass_rate, tunegate/pass_rate_delta        with a reference (base) model
    tunegate/case/<id>/pass_fraction                              every case

Names are made safe for MLflow (letters, digits, ``_ - . space :`` and ``/`` between parts; anything
else becomes ``_``) and stay unique; no name is a folder of another (see :meth:`Flat.add`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tunegate.regression._record import RegressReport
    from tunegate.runner import ComparisonResult

__all__ = [
    "MAX_NAME",
    "OUTCOME_VALUE",
    "PREFIX",
    "Flat",
    "flatten_comparison",
    "flatten_regression",
    "safe_name",
]

PREFIX = "tunegate/"
#: a gate's outcome as a number a tracker can plot (the callback's ``best_vs_base`` uses the same)
OUTCOME_VALUE: dict[str, float] = {"pass": 1.0, "inconclusive": 0.0, "fail": -1.0}
_BAD = re.compile(r"[^\w.\- :]")
#: MLflow's longest metric, param and tag key
MAX_NAME = 250


@dataclass
class Flat:
    """What one run logs: numbers, short strings (params) and labels (tags)."""

    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._dirs: set[str] = {d for k in self.metrics for d in _parents(k)}

    def add(self, name: str, value: float | int | None) -> None:
        """Add a metric under a safe name that no other metric's path contains or extends (MLflow's
        file store keeps ``a/b`` as a file in folder ``a``: ``a`` and ``a/b`` cannot both exist).
        A clash gets the parts after the first joined with ``_``, then ``_2``, ...; None is skipped."""
        if value is None:
            return
        key = safe_name(name)
        if self._clashes(key):
            head, _, rest = key.partition("/")
            flat_key = f"{head}/{rest.replace('/', '_')}" if rest else key
            key, k = flat_key, 2
            while self._clashes(key):
                key, k = f"{flat_key}_{k}", k + 1
        self.metrics[key] = float(value)
        self._dirs.update(_parents(key))

    def _clashes(self, key: str) -> bool:
        return key in self.metrics or key in self._dirs or any(d in self.metrics for d in _parents(key))


def _parents(key: str) -> list[str]:
    parts = key.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def safe_name(name: str) -> str:
    """``name`` as a valid MLflow metric/param/tag key: each ``/``-part keeps ``[\\w.\\- :]``, empty
    or dot-only parts (``..``) become ``_``, so the key is a normalized relative path; at most
    :data:`MAX_NAME` characters (MLflow's limit)."""
    parts = [_BAD.sub("_", p).strip() or "_" for p in name.split("/")]
    key = "/".join("_" if set(p) <= {"."} else p for p in parts)
    if len(key) > MAX_NAME:  # a long case id: cut, and keep it unique with a hash of the whole name
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
        key = f"{key[: MAX_NAME - 11].rstrip('/')}-{digest}"
    return key


def _num(x: float) -> str:
    return f"{x:g}"


def flatten_comparison(result: ComparisonResult, prefix: str = PREFIX) -> Flat:
    """A comparison (``tunegate compare``): its scorecard, every metric, gate, the verdict and models."""
    from tunegate.report import scorecard

    flat = Flat()
    for tc in result.tasks:
        for m in tc.metrics:
            at = f"{prefix}{tc.task}/{m.metric}/"
            for name, value in (
                ("base", m.base),
                ("tuned", m.tuned),
                ("delta", m.delta),
                ("ci_low", m.ci_low),
                ("ci_high", m.ci_high),
                ("p_value", m.p_value),
                ("n", m.n),
            ):
                flat.add(at + name, value)
    for row in scorecard(result):
        if row.status != "ok":
            continue
        at = f"{prefix}scorecard/{row.dimension}/"
        for name, value in (
            ("base", row.base),
            ("tuned", row.tuned),
            ("delta", row.delta),
            ("ci_low", row.ci_low),
            ("ci_high", row.ci_high),
            ("n", row.n),
        ):
            flat.add(at + name, value)
    counts = dict.fromkeys(OUTCOME_VALUE, 0)
    for g in result.gates:
        name = f"{prefix}gate/{g.task}/{g.metric}/{g.kind}_{_num(g.threshold)}"
        flat.add(name, OUTCOME_VALUE[g.outcome])
        flat.tags[safe_name(f"tunegate.gate.{g.task}/{g.metric}/{g.kind}_{_num(g.threshold)}")] = g.outcome
        counts[g.outcome] += 1
    for outcome, k in counts.items():
        flat.add(f"{prefix}gates/{outcome}", k)
    flat.add(f"{prefix}exit_code", result.exit_code)
    flat.params.update(
        {
            "tunegate.suite": result.suite,
            "tunegate.base": _spec(result.base),
            "tunegate.tuned": _spec(result.tuned),
            "tunegate.base_fingerprint": str(result.base.get("fingerprint", "")),
            "tunegate.tuned_fingerprint": str(result.tuned.get("fingerprint", "")),
            "tunegate.alpha": _num(result.alpha),
            "tunegate.limit": "none" if result.limit is None else str(result.limit),
            "tunegate.allow_vacuous": str(result.allow_vacuous).lower(),
            "tunegate.tasks": ",".join(tc.task for tc in result.tasks),
            "tunegate.version": _version(),
        }
    )
    flat.tags.update(
        {
            "tunegate.verdict": result.verdict,
            "tunegate.exit_code": str(result.exit_code),
            "tunegate.run_id": result.run_id,
            "tunegate.suite": result.suite,
        }
    )
    if result.vacuous:
        flat.tags["tunegate.vacuous"] = "; ".join(result.vacuous)
    return flat


def flatten_regression(report: RegressReport, prefix: str = PREFIX, *, exit_code: int | None = None) -> Flat:
    """A regression suite run (``tunegate regress``, the Trainer callback on a checkpoint).

    ``exit_code``: what ``tunegate regress`` exits with (1 also for flaky cases under
    ``--strict-flaky``); default 1 when a case failed, else 0.
    """
    s = report.summary
    if exit_code is None:
        exit_code = 1 if s.failed else 0
    flat = Flat()
    for name, value in (
        ("pass_rate", s.pass_rate),
        ("passed", s.passed),
        ("flaky", s.flaky),
        ("failed", s.failed),
        ("cases", s.cases),
    ):
        flat.add(prefix + name, value)
    with_ref = [c for c in report.cases if c.reference is not None]
    if with_ref:
        ref_rate = sum(c.reference in ("passed", "flaky") for c in with_ref) / len(with_ref)
        own_rate = sum(c.ok for c in with_ref) / len(with_ref)
        flat.add(f"{prefix}reference_pass_rate", ref_rate)
        flat.add(f"{prefix}pass_rate_delta", own_rate - ref_rate)
    for c in report.cases:
        flat.add(f"{prefix}case/{c.id}/pass_fraction", c.pass_fraction)
    flat.add(f"{prefix}exit_code", exit_code)
    flat.params.update(
        {"tunegate.suite": report.suite, "tunegate.model": report.model, "tunegate.version": _version()}
    )
    if report.reference is not None:
        flat.params["tunegate.reference"] = report.reference
    flat.tags.update(
        {
            "tunegate.verdict": "FAIL" if exit_code else "PASS",
            "tunegate.exit_code": str(exit_code),
            "tunegate.suite": report.suite,
        }
    )
    if report.run_id:
        flat.tags["tunegate.run_id"] = report.run_id
    return flat


def _spec(model: dict[str, Any]) -> str:
    return str(model.get("spec", ""))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tunegate")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"
