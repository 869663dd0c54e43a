"""Compare a tuned model with its base on a suite: evaluate both, pair items, judge the gates.

suite -> tasks -> (base, tuned) engines -> per-item scores -> paired estimates -> gates -> verdict
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from tunegate.engine import Engine, NullProgress, Progress
from tunegate.models import Model
from tunegate.runner._evaluate import TaskScores, evaluate_task
from tunegate.runner._result import (
    ComparisonResult,
    FlippedItem,
    GateResult,
    MetricComparison,
    TaskComparison,
    Verdict,
)
from tunegate.stats import PairedEstimate, gate_decision, holm, mcnemar_exact, paired_bootstrap
from tunegate.store import Store
from tunegate.suite import GateSpec, SuiteSpec, build_task, suite_hash

__all__ = ["CompareConfig", "compare_models", "decide_gate"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompareConfig:
    """One validated configuration object, built from CLI flags, a file or Python."""

    suite: SuiteSpec
    base: str
    tuned: str
    limit: int | None = None
    batch_size: int | None = None
    n_boot: int = 2000
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _pair(
    task: str, metric: str, binary: bool, base: TaskScores, tuned: TaskScores, n_boot: int, seed: int
) -> MetricComparison:
    ids = [i for i in base.items if i in tuned.items]
    b = [base.items[i].values[metric] for i in ids]
    t = [tuned.items[i].values[metric] for i in ids]
    est = paired_bootstrap(b, t, n_boot=n_boot, seed=seed, binary=binary)
    discordant = None
    if binary:
        mc = mcnemar_exact(b, t)
        discordant = (mc.b, mc.c)
    return MetricComparison(
        metric=metric,
        binary=binary,
        base=est.base,
        tuned=est.tuned,
        delta=est.delta,
        ci_low=est.ci_low,
        ci_high=est.ci_high,
        p_value=est.p_value,
        n=est.n,
        method=est.method,
        discordant=discordant,
    )


def _flipped(metric: str, base: TaskScores, tuned: TaskScores) -> tuple[FlippedItem, ...]:
    out = []
    for i, bs in base.items.items():
        ts = tuned.items.get(i)
        if ts is None or bs.values[metric] == ts.values[metric]:
            continue
        out.append(FlippedItem(i, metric, bs.values[metric], ts.values[metric], bs.output, ts.output))
    return tuple(out)


def compare_models(
    config: CompareConfig, store: Store, *, progress: Progress | None = None
) -> ComparisonResult:
    """Run ``config`` and return the paired comparison (also written to ``store``)."""
    progress = progress or NullProgress()
    suite = config.suite
    base_model, tuned_model = Model(config.base), Model(config.tuned)
    base_model.fingerprint, tuned_model.fingerprint  # noqa: B018  a bad model spec fails before a run is recorded
    run_id = store.start_run(
        kind="compare",
        suite=suite.name,
        suite_hash=suite_hash(suite),
        base=str(base_model.spec),
        tuned=str(tuned_model.spec),
        config={"limit": config.limit, "suite": suite.model_dump(mode="json")},
    )
    engines = {
        role: Engine(m, store, batch_size=config.batch_size, progress=progress, label=role)
        for role, m in (("base", base_model), ("tuned", tuned_model))
    }
    status = "failed"
    result: ComparisonResult | None = None
    try:
        with progress:
            task_results, all_gates, score_rows = _run_tasks(config, engines, run_id)
        result = _verdict(config, run_id, base_model, tuned_model, task_results, all_gates, engines)
        store.put_scores(run_id, score_rows)
        store.put_comparisons(
            run_id,
            [(tc.task, m.metric, asdict(m)) for tc in result.tasks for m in tc.metrics],
        )
        status = "completed"
        return result
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        stats = [e.stats for e in engines.values()]
        store.finish_run(
            run_id,
            status=status,
            result=result.to_json() if result is not None else None,
            n_computed=sum(s.computed for s in stats),
            n_cached=sum(s.cached for s in stats),
        )


def _run_tasks(
    config: CompareConfig, engines: dict[str, Engine], run_id: str
) -> tuple[
    list[TaskComparison],
    list[tuple[str, str, Any, MetricComparison]],
    list[tuple[str, str, str, str, float, str | None]],
]:
    task_results: list[TaskComparison] = []
    gates: list[tuple[str, str, Any, MetricComparison]] = []
    rows: list[tuple[str, str, str, str, float, str | None]] = []
    for entry in config.suite.tasks:
        if config.limit is not None:
            entry = entry.model_copy(update={"limit": min(config.limit, entry.limit or config.limit)})
        task = build_task(entry)
        task.attach(next(iter(engines.values())).store)
        docs = task.docs()
        scores = {role: evaluate_task(eng, entry.label, task, docs) for role, eng in engines.items()}
        for role, ts in scores.items():
            for item, sc in ts.items.items():
                rows.extend((role, entry.label, item, m, v, sc.output) for m, v in sc.values.items())
        metrics = tuple(
            _pair(entry.label, m.name, m.binary, scores["base"], scores["tuned"], config.n_boot, config.seed)
            for m in task.metrics
        )
        primary = next(m for m in task.metrics if m.name == task.primary)
        flipped = _flipped(primary.name, scores["base"], scores["tuned"]) if primary.binary else ()
        tc = TaskComparison(
            task=entry.label,
            dimension=task.dimension,
            n=len(docs),
            primary=task.primary,
            config={**task.describe(), "chat_template": {r: s.chat_template for r, s in scores.items()}},
            metrics=metrics,
            flipped=flipped,
        )
        task_results.append(tc)
        for gate in entry.gates:
            gates.append(
                (entry.label, gate.metric or task.primary, gate, tc.metric(gate.metric or task.primary))
            )
    return task_results, gates, rows


def decide_gate(
    task: str, metric: str, gate: GateSpec, mc: MetricComparison, p_value: float | None
) -> GateResult:
    """One gate's decision from the paired comparison of its metric (``p_value`` possibly Holm-adjusted)."""
    if gate.min_score is not None:
        return _score_gate(task, metric, gate.min_score, mc)
    # A max_rise gate (lower is better: attack success, over-refusal) is a max_drop gate on the
    # negated metric, so both share one decision rule.
    sign = -1.0 if gate.max_rise is not None else 1.0
    est = PairedEstimate(
        base=sign * mc.base,
        tuned=sign * mc.tuned,
        delta=sign * mc.delta,
        ci_low=mc.ci_low if sign > 0 else -mc.ci_high,
        ci_high=mc.ci_high if sign > 0 else -mc.ci_low,
        n=mc.n,
        method=mc.method,
        p_value=p_value,
        alpha=gate.alpha,
    )
    drop = gate.max_drop if gate.max_rise is None else gate.max_rise
    d = gate_decision(est, max_drop=drop, min_gain=gate.min_gain, rule=gate.rule)
    kind: Literal["max_drop", "min_gain", "max_rise"] = (
        "max_rise" if gate.max_rise is not None else "max_drop" if gate.max_drop is not None else "min_gain"
    )
    threshold = drop if drop is not None else gate.min_gain
    assert threshold is not None
    reason = d.reason if sign > 0 else f"lower is better, so the rise is judged as a drop: {d.reason}"
    return GateResult(
        task=task,
        metric=metric,
        kind=kind,
        threshold=threshold,
        rule=gate.rule,
        outcome=d.outcome,
        reason=reason,
        detectable=d.detectable,
        items_needed=d.items_needed,
    )


def _score_gate(task: str, metric: str, min_score: float, mc: MetricComparison) -> GateResult:
    """An absolute gate on the tuned model's own score: a fixed suite is not a sample, so no CI."""
    ok = mc.tuned >= min_score - 1e-12
    reason = f"tuned {metric} = {mc.tuned:.4g} over {mc.n} items (base {mc.base:.4g}); needs >= {min_score:g}"
    return GateResult(
        task=task,
        metric=metric,
        kind="min_score",
        threshold=min_score,
        rule="absolute",
        outcome="pass" if ok else "fail",
        reason=reason,
    )


def _verdict(
    config: CompareConfig,
    run_id: str,
    base: Model,
    tuned: Model,
    tasks: list[TaskComparison],
    gates: list[tuple[str, str, Any, MetricComparison]],
    engines: dict[str, Engine],
) -> ComparisonResult:
    # Holm correction across the suite's significance-rule gates.
    sig = [i for i, (_, _, g, m) in enumerate(gates) if g.rule == "significant" and m.p_value is not None]
    p_values = [p for i in sig if (p := gates[i][3].p_value) is not None]
    adjusted = dict(zip(sig, holm(p_values), strict=True)) if sig else {}
    decisions = []
    for i, (task, metric, gate, mc) in enumerate(gates):
        decisions.append(decide_gate(task, metric, gate, mc, adjusted.get(i, mc.p_value)))
    outcomes = {d.outcome for d in decisions}
    verdict: Verdict = (
        "FAIL" if "fail" in outcomes else "INCONCLUSIVE" if "inconclusive" in outcomes else "PASS"
    )
    warnings = []
    if config.limit is not None:
        warnings.append(
            f"--limit {config.limit}: only the first {config.limit} items of each task were evaluated; these "
            "numbers are not comparable with full runs"
        )
    return ComparisonResult(
        run_id=run_id,
        suite=config.suite.name,
        base={"spec": str(base.spec), "fingerprint": base.fingerprint, "loaded": base.loaded},
        tuned={"spec": str(tuned.spec), "fingerprint": tuned.fingerprint, "loaded": tuned.loaded},
        tasks=tuple(tasks),
        gates=tuple(decisions),
        verdict=verdict,
        limit=config.limit,
        engine={role: asdict(e.stats) for role, e in engines.items()},
        warnings=tuple(warnings),
    )
