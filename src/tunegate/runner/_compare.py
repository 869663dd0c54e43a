"""Compare a tuned model with its base on a suite: evaluate both, pair items, judge the gates.

suite -> tasks -> (base, tuned) engines -> per-item scores -> paired estimates -> gates -> verdict

A suite ``reference:`` (or ``CompareConfig.reference``) adds a third role, a second baseline: the base
model with a K-shot prompt, or another model. Its per-item scores go through the same engine (cache,
resume) and tuned vs reference is paired with the same statistics; it is reported, never gated.

Everything after the models ran is :func:`compare_scores` (recorded scores in, result out), so tests
and replays go through the same code. Statistics live in ``tunegate.stats``; this module only pairs
items by id and maps suite settings onto ``stats.GateRule``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tunegate._units import NATIVE_UNITS
from tunegate.engine import Engine, NullProgress, Progress, Roles
from tunegate.engine._loop import run_sync
from tunegate.errors import ConfigError
from tunegate.models import Model
from tunegate.runner._evaluate import TaskScores, aevaluate_task
from tunegate.runner._result import (
    ComparisonResult,
    FlippedItem,
    GateResult,
    MetricComparison,
    ReferenceComparison,
    TaskComparison,
    Verdict,
)
from tunegate.runner._rows import item_rows
from tunegate.runner._scorecard import build_scorecard
from tunegate.stats import (
    GateKind,
    GateRule,
    PairedEstimate,
    corpus_statistic,
    decide_gates,
    estimate,
    mcnemar_exact,
    paired_corpus_bootstrap,
)
from tunegate.store import ItemRow, Store
from tunegate.suite import GateSpec, ReferenceSpec, SuiteSpec, TaskEntry, build_task, suite_hash
from tunegate.tasks import Doc, MetricInfo, Task

__all__ = [
    "CompareConfig",
    "ScoredTask",
    "compare_models",
    "compare_scores",
    "decide_suite_gates",
    "vacuous_reasons",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompareConfig:
    """One validated configuration object, built from CLI flags, a file or Python.

    ``alpha`` overrides the suite's ``alpha`` (gates that set their own keep it); ``allow_vacuous``
    lets a vacuous run (``--limit``, no gates, the same model twice) exit 0 when its gates pass.
    ``reference`` overrides the suite's ``reference:`` (a report-only second baseline). ``step`` and
    ``training`` mark the run as a checkpoint of one training run (``tunegate history --checkpoints``).
    """

    suite: SuiteSpec
    base: str
    tuned: str
    limit: int | None = None
    batch_size: int | None = None
    n_boot: int = 2000
    seed: int = 0
    alpha: float | None = None
    allow_vacuous: bool = False
    reference: ReferenceSpec | None = None
    step: int | None = None
    training: str | None = None

    @property
    def effective_reference(self) -> ReferenceSpec | None:
        """The reference this run compares with: the config's, else the suite's (None: none)."""
        return self.reference or self.suite.reference


@dataclass(frozen=True)
class ScoredTask:
    """One task's per-item scores under both models: what the statistics need, nothing model-bound.

    Built by the runner from a live run, or by hand from recorded scores (``compare_scores``).
    ``reference``: the reference's scores when the run has one (``reference_config``: its task
    options); ``reference_skipped``: why this task has none.
    """

    label: str
    metrics: tuple[MetricInfo, ...]
    primary: str
    base: TaskScores
    tuned: TaskScores
    dimension: str = "retention"
    config: dict[str, Any] = field(default_factory=dict)
    n: int | None = None
    reference: TaskScores | None = None
    reference_config: dict[str, Any] = field(default_factory=dict)
    reference_skipped: str | None = None


def _pair(
    metric: MetricInfo, base: TaskScores, tuned: TaskScores, *, alpha: float, n_boot: int, seed: int
) -> MetricComparison:
    ids = [i for i in base.items if i in tuned.items]
    clusters = [base.items[i].cluster or tuned.items[i].cluster for i in ids]
    if metric.corpus is not None:
        stat = corpus_statistic(metric.corpus)
        est = paired_corpus_bootstrap(
            metric.corpus,
            {k: [base.items[i].values[k] for i in ids] for k in stat.inputs},
            {k: [tuned.items[i].values[k] for i in ids] for k in stat.inputs},
            clusters=clusters if any(c is not None for c in clusters) else None,
            alpha=alpha,
            n_boot=n_boot,
            seed=seed,
        )
        return _comparison(metric, est, alpha, None)
    b = [base.items[i].values[metric.name] for i in ids]
    t = [tuned.items[i].values[metric.name] for i in ids]
    est = estimate(
        b,
        t,
        clusters=clusters if any(c is not None for c in clusters) else None,
        estimator=metric.estimator,
        alpha=alpha,
        n_boot=n_boot,
        seed=seed,
        binary=metric.binary,
    )
    discordant = None
    if metric.binary:
        mc = mcnemar_exact(b, t)
        discordant = (mc.b, mc.c)
    return _comparison(metric, est, alpha, discordant)


def _comparison(
    metric: MetricInfo, est: PairedEstimate, alpha: float, discordant: tuple[int, int] | None
) -> MetricComparison:
    return MetricComparison(
        metric=metric.name,
        binary=metric.binary,
        base=est.base,
        tuned=est.tuned,
        delta=est.delta,
        ci_low=est.ci_low,
        ci_high=est.ci_high,
        p_value=est.p_value,
        n=est.n,
        method=est.method,
        discordant=discordant,
        higher_is_better=metric.higher_is_better,
        estimator=metric.estimator,
        alpha=alpha,
        se=est.se,
        sd=est.sd_delta,
        df=est.df,
        n_clusters=est.n_clusters,
        se_raw=est.se_raw,
        scale=est.scale,
        boot_ci_low=est.boot_ci[0] if est.boot_ci else None,
        boot_ci_high=est.boot_ci[1] if est.boot_ci else None,
        base_ci_low=est.base_ci[0] if est.base_ci else None,
        base_ci_high=est.base_ci[1] if est.base_ci else None,
        tuned_ci_low=est.tuned_ci[0] if est.tuned_ci else None,
        tuned_ci_high=est.tuned_ci[1] if est.tuned_ci else None,
    )


#: per-item changes listed for a continuous primary metric (ROUGE, F1): this many drops and gains
TOP_CHANGES = 5


def _flipped(metric: str, binary: bool, base: TaskScores, tuned: TaskScores) -> tuple[FlippedItem, ...]:
    """Items whose score changed: every flip for a right/wrong metric, else the largest drops and gains."""
    out = []
    for i, bs in base.items.items():
        ts = tuned.items.get(i)
        if ts is None or bs.values[metric] == ts.values[metric]:
            continue
        out.append(
            FlippedItem(
                i,
                metric,
                bs.values[metric],
                ts.values[metric],
                bs.output,
                ts.output,
                input=bs.input if bs.input is not None else ts.input,
                reference=bs.reference if bs.reference is not None else ts.reference,
            )
        )
    if binary:
        return tuple(out)
    out.sort(key=lambda f: f.tuned_score - f.base_score)
    drops = [f for f in out if f.tuned_score < f.base_score][:TOP_CHANGES]
    gains = [f for f in reversed(out) if f.tuned_score > f.base_score][:TOP_CHANGES]
    return tuple(drops + gains)


def compare_models(
    config: CompareConfig, store: Store, *, progress: Progress | None = None
) -> ComparisonResult:
    """Run ``config`` and return the paired comparison (also written to ``store``)."""
    progress = progress or NullProgress()
    suite = config.suite
    base_model, tuned_model = Model(config.base), Model(config.tuned)
    base_model.fingerprint, tuned_model.fingerprint  # noqa: B018  a bad spec fails before a run is recorded
    ref = config.effective_reference
    ref_model = (Model(ref.model) if ref.model else base_model) if ref is not None else None
    if ref_model is not None:
        ref_model.fingerprint  # noqa: B018
    models = {"base": base_model, "tuned": tuned_model}
    if ref_model is not None:
        models["reference"] = ref_model
    roles = Roles(store, models=models, progress=progress, batch_size=config.batch_size)
    engines = {role: roles.engine(role) for role in models}
    run_config: dict[str, Any] = {"limit": config.limit, "suite": suite.model_dump(mode="json")}
    if ref is not None:
        run_config["reference"] = ref.model_dump(mode="json")
    with store.run(
        "compare",
        suite=suite.name,
        suite_hash=suite_hash(suite),
        roles={role: str(m.spec) for role, m in models.items()},
        config=run_config,
        step=config.step,
        training=config.training,
    ) as run:
        run.counts = lambda: (  # judges' engines too
            sum(e.stats.computed for e in roles.engines.values()),
            sum(e.stats.cached for e in roles.engines.values()),
        )
        with progress:
            scored, score_rows = _run_tasks(config, engines, roles)
        described = {role: _describe(m) for role, m in models.items()}
        if ref is not None:
            described["reference"] |= {"label": ref.label, "shots": ref.shots}
        result = compare_scores(
            config,
            scored,
            run_id=run.id,
            models=described,
            engine={role: asdict(e.stats) for role, e in engines.items()},
        )
        run.put_items(score_rows)
        run.finish(result.to_json())
    return result


def _describe(model: Model) -> dict[str, Any]:
    return {"spec": str(model.spec), "fingerprint": model.fingerprint, "loaded": model.loaded}


def _reference_task(
    entry: TaskEntry, ref: ReferenceSpec, task: Task, docs: Sequence[Doc], same_model: bool
) -> tuple[Task, list[Doc]] | str:
    """The task the reference answers (the suite's own, or with ``ref.shots`` examples drawn from the
    task's few-shot pool with the evaluated items held out), or why this task can have none."""
    if ref.shots is None:
        return task, list(docs)
    held = frozenset(d.id for d in docs)
    ref_task = build_task(entry.model_copy(update={"shots": ref.shots}), held_out=held)
    problems = ref_task.check_options()
    if problems:
        return problems[0]
    try:
        ref_docs = ref_task.docs()
        if [d.id for d in ref_docs] != [d.id for d in docs]:
            return (
                f"{entry.task}: its few-shot examples are rows of the evaluated data (the {ref.shots}-shot "
                "prompt would use evaluated items, or evaluate other ones)"
            )
        first = ref_task.requests(ref_docs[0]) if ref_docs else []
    except ConfigError as e:
        return str(e)
    if same_model and ref_docs and first == task.requests(docs[0]):
        return f"{entry.task}: its {ref.shots}-shot prompts are the base's own (the reference would be base)"
    return ref_task, ref_docs


def _run_tasks(
    config: CompareConfig, engines: dict[str, Engine], roles: Roles
) -> tuple[list[ScoredTask], list[ItemRow]]:
    scored: list[ScoredTask] = []
    rows: list[ItemRow] = []
    ref = config.effective_reference
    for entry in config.suite.tasks:
        if config.limit is not None:
            entry = entry.model_copy(update={"limit": min(config.limit, entry.limit or config.limit)})
        task = build_task(entry)
        docs = task.docs()
        jobs: dict[str, tuple[Engine, Task, list[Doc]]] = {
            r: (engines[r], task, docs) for r in ("base", "tuned")
        }
        skipped = None
        if ref is not None:
            same = engines["reference"].model.fingerprint == engines["base"].model.fingerprint
            got = _reference_task(entry, ref, task, docs, same)
            if isinstance(got, str):
                skipped = got
            else:
                jobs["reference"] = (engines["reference"], *got)
        scores = run_sync(_evaluate_roles(jobs, entry.label, roles))
        for role, ts in scores.items():
            _, t, d = jobs[role]
            rows += item_rows(role, entry.label, t, d, ts.items, engines[role].model.fingerprint)
        ref_task = jobs["reference"][1] if "reference" in jobs else None
        scored.append(
            ScoredTask(
                label=entry.label,
                metrics=task.metrics,
                primary=task.primary,
                base=scores["base"],
                tuned=scores["tuned"],
                dimension=task.dimension,
                config={**task.describe(), "chat_template": {r: s.chat_template for r, s in scores.items()}},
                n=len(docs),
                reference=scores.get("reference"),
                reference_config=ref_task.describe() if ref_task is not None else {},
                reference_skipped=skipped,
            )
        )
    return scored, rows


async def _evaluate_roles(
    jobs: dict[str, tuple[Engine, Task, list[Doc]]], label: str, roles: Roles
) -> dict[str, TaskScores]:
    """Every role's scores on one task (``jobs``: role -> its engine, task and documents). Roles on
    different models go side by side (shared weights take turns); roles on the same model (an A/A
    check, base and a few-shot reference) go one after the other, so repeats come from the cache."""
    by_model: dict[str, list[str]] = defaultdict(list)
    for role, (engine, _, _) in jobs.items():
        by_model[engine.model.fingerprint].append(role)

    async def chain(names: list[str]) -> list[tuple[str, TaskScores]]:
        out = []
        for r in names:
            e, task, docs = jobs[r]
            out.append((r, await aevaluate_task(e, label, task, docs, roles)))
        return out

    got = await asyncio.gather(*(chain(names) for names in by_model.values()))
    done = dict(pair for group in got for pair in group)
    return {role: done[role] for role in jobs}


def compare_scores(
    config: CompareConfig,
    scored: list[ScoredTask],
    *,
    run_id: str = "replay",
    models: dict[str, dict[str, Any]] | None = None,
    engine: dict[str, Any] | None = None,
) -> ComparisonResult:
    """Pair, estimate, gate and judge recorded per-item scores: everything after the models ran.

    ``scored`` follows ``config.suite.tasks`` by label. ``models`` describes base and tuned
    (``{"spec", "fingerprint", "loaded"}``; default: the config's specs with unknown fingerprints).
    """
    suite = config.suite
    alpha = config.alpha if config.alpha is not None else suite.alpha
    by_label = {st.label: st for st in scored}
    ref = config.effective_reference
    tasks: list[TaskComparison] = []
    gates: list[tuple[str, str, GateSpec, MetricComparison]] = []
    for entry in suite.tasks:
        st = by_label.get(entry.label)
        if st is None:
            raise ValueError(f"no scores for task {entry.label!r}")
        metrics = tuple(
            _pair(m, st.base, st.tuned, alpha=alpha, n_boot=config.n_boot, seed=config.seed)
            for m in st.metrics
        )
        primary = next(m for m in st.metrics if m.name == st.primary)
        flipped = _flipped(primary.name, primary.binary, st.base, st.tuned)
        tc = TaskComparison(
            task=st.label,
            dimension=st.dimension,
            n=st.n if st.n is not None else len(st.base.items),
            primary=st.primary,
            config=st.config,
            metrics=metrics,
            flipped=flipped,
            reference=_vs_reference(config, st, alpha) if ref is not None else None,
        )
        tasks.append(tc)
        for gate in entry.gates:
            name = gate.metric or st.primary
            gates.append((st.label, name, gate, tc.metric(name)))
    models = models or {
        "base": {"spec": config.base, "fingerprint": None, "loaded": False},
        "tuned": {"spec": config.tuned, "fingerprint": None, "loaded": False},
    }
    if ref is not None and "reference" not in models:
        models = {
            **models,
            "reference": {
                "label": ref.label,
                "spec": ref.model or models["base"]["spec"],
                "fingerprint": None if ref.model else models["base"].get("fingerprint"),
                "loaded": False,
                "shots": ref.shots,
            },
        }
    return _verdict(config, run_id, models, tasks, gates, engine or {}, alpha)


def _vs_reference(config: CompareConfig, st: ScoredTask, alpha: float) -> ReferenceComparison:
    """Tuned vs the reference on one task: the base-vs-tuned statistics with the reference as base."""
    if st.reference is None:
        return ReferenceComparison(skipped=st.reference_skipped or "no reference scores for this task")
    metrics = tuple(
        _pair(m, st.reference, st.tuned, alpha=alpha, n_boot=config.n_boot, seed=config.seed)
        for m in st.metrics
    )
    return ReferenceComparison(metrics=metrics, config=st.reference_config)


def _rule(suite: SuiteSpec, gate: GateSpec, mc: MetricComparison, alpha: float) -> GateRule:
    kind: GateKind = (
        "max_rise" if gate.max_rise is not None else "max_drop" if gate.max_drop is not None else "min_gain"
    )
    threshold = (
        gate.max_rise
        if gate.max_rise is not None
        else gate.max_drop
        if gate.max_drop is not None
        else gate.min_gain
    )
    assert threshold is not None
    return GateRule(
        kind=kind,
        threshold=threshold,
        higher_is_better=mc.higher_is_better,
        alpha=gate.alpha if gate.alpha is not None else alpha,
        power=suite.power,
        min_detectable=gate.min_detectable if gate.min_detectable is not None else suite.min_detectable,
        min_n=gate.min_n if gate.min_n is not None else suite.min_n,
        unit="nats" if mc.metric in NATIVE_UNITS else "pts",
    )


def _estimate_of(mc: MetricComparison) -> PairedEstimate:
    if mc.se is None or mc.df is None:
        raise ValueError(f"metric {mc.metric!r} carries no exact standard error; it cannot be gated")
    return PairedEstimate(
        base=mc.base,
        tuned=mc.tuned,
        delta=mc.delta,
        ci_low=mc.ci_low,
        ci_high=mc.ci_high,
        n=mc.n,
        method=mc.method,
        p_value=mc.p_value,
        alpha=mc.alpha,
        sd_delta=mc.sd,
        se=mc.se,
        df=mc.df,
        n_clusters=mc.n_clusters,
        se_raw=mc.se_raw,
        scale=mc.scale,
    )


def decide_suite_gates(
    suite: SuiteSpec, gates: list[tuple[str, str, GateSpec, MetricComparison]], *, alpha: float | None = None
) -> list[GateResult]:
    """Decide a suite's gates: the statistical ones as one Holm family, ``min_score`` ones absolutely."""
    level = alpha if alpha is not None else suite.alpha
    stat = [i for i, (_, _, g, _) in enumerate(gates) if g.min_score is None]
    rules = [_rule(suite, gates[i][2], gates[i][3], level) for i in stat]
    decisions = dict(zip(stat, decide_gates(rules, [_estimate_of(gates[i][3]) for i in stat]), strict=True))
    out = []
    for i, (task, metric, gate, mc) in enumerate(gates):
        if gate.min_score is not None:
            out.append(_score_gate(task, metric, gate.min_score, mc))
            continue
        rule, d = rules[stat.index(i)], decisions[i]
        out.append(
            GateResult(
                task=task,
                metric=metric,
                kind=rule.kind,
                threshold=rule.threshold,
                rule=gate.rule,
                outcome=d.outcome,
                reason=d.reason,
                detectable=d.detectable,
                items_needed=d.items_needed,
                alpha=d.alpha,
                power=d.power,
                material=d.material,
                p_value=d.p_value,
                n_gates=d.n_gates,
                ci_low=d.ci_low,
                ci_high=d.ci_high,
            )
        )
    return out


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


def vacuous_reasons(config: CompareConfig, models: dict[str, dict[str, Any]], n_gates: int) -> list[str]:
    """Why a run proves nothing about a fine-tune, however its gates came out (empty: it does)."""
    out = []
    if config.limit is not None:
        out.append(
            f"--limit {config.limit}: only the first {config.limit} items of each task were evaluated; these "
            "numbers are not comparable with full runs"
        )
    if n_gates == 0:
        out.append("the suite has no gates: nothing was tested")
    fb, ft = models["base"].get("fingerprint"), models["tuned"].get("fingerprint")
    if fb is not None and fb == ft:
        out.append(
            f"base and tuned are the same model (fingerprint {str(fb)[:12]}): an A/A run tests the harness"
        )
    return out


def _verdict(
    config: CompareConfig,
    run_id: str,
    models: dict[str, dict[str, Any]],
    tasks: list[TaskComparison],
    gates: list[tuple[str, str, GateSpec, MetricComparison]],
    engine: dict[str, Any],
    alpha: float,
) -> ComparisonResult:
    decisions = decide_suite_gates(config.suite, gates, alpha=alpha)
    outcomes = {d.outcome for d in decisions}
    verdict: Verdict = (
        "FAIL" if "fail" in outcomes else "INCONCLUSIVE" if "inconclusive" in outcomes else "PASS"
    )
    vacuous = vacuous_reasons(config, models, len(decisions))
    warnings = []
    for why in vacuous:
        if config.allow_vacuous:
            warnings.append(f"VACUOUS RUN (allowed by --allow-vacuous): {why}")
        else:
            warnings.append(
                f"VACUOUS RUN: {why}; a PASS is reported as INCONCLUSIVE (exit 3) unless --allow-vacuous"
            )
    if vacuous and verdict == "PASS" and not config.allow_vacuous:
        verdict = "INCONCLUSIVE"
    ref = models.get("reference")
    for tc in tasks:
        if ref is not None and tc.reference is not None and tc.reference.skipped:
            warnings.append(
                f"reference ({ref.get('label')}): no column for {tc.task}: {tc.reference.skipped}"
            )
    if any(g.rule == "significant" for _, _, g, _ in gates):
        warnings.append(
            "rule: significant is kept for old suites and decided like every gate (docs/statistics.md)"
        )
    return ComparisonResult(
        run_id=run_id,
        suite=config.suite.name,
        base=models["base"],
        tuned=models["tuned"],
        tasks=tuple(tasks),
        gates=tuple(decisions),
        verdict=verdict,
        limit=config.limit,
        engine=engine,
        warnings=tuple(warnings),
        alpha=alpha,
        vacuous=tuple(vacuous),
        allow_vacuous=config.allow_vacuous,
        scorecard=build_scorecard(tasks, decisions, alpha=alpha),
        reference=ref,
    )
