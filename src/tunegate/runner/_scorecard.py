"""The scorecard, computed once by the runner and stored in the result: one row per dimension.

Each row is built from the *primary* metric of every task of that dimension. With one task the row is
that task's paired estimate, unchanged. With several tasks the row is the unweighted mean over tasks
of base, tuned and delta, with the standard error of ``stats.mean_of_deltas`` (from each task's exact
SE, never from a CI width). A dimension no task evaluated has status ``"not run"`` and no numbers.
With a suite ``reference``, the ``reference``/``vs_reference*`` fields are the same computation on
tuned vs the reference (only when every task of the dimension has reference numbers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from tunegate.runner._result import GateResult, ScorecardRow, TaskComparison
from tunegate.stats._combine import mean_of_deltas

__all__ = ["DIMENSIONS", "PREFERENCE_GATES", "build_scorecard", "preference_gates", "with_preference"]

#: (dimension key, label), in scorecard order
DIMENSIONS: tuple[tuple[str, str], ...] = (
    ("task", "task metrics"),
    ("retention", "capability retention"),
    ("safety", "safety"),
    ("preference", "human preference"),
    ("regression", "regression suite"),
)
_SEVERITY = {"pass": 0, "inconclusive": 1, "fail": 2}


def _se(tc: TaskComparison, alpha: float) -> float:
    m = tc.metric(tc.primary)
    if m.se is not None:
        return m.se
    # results written before exact SEs were kept: the only information left is the interval
    from scipy.special import ndtri

    return (m.ci_high - m.ci_low) / (2.0 * float(ndtri(1.0 - m.alpha / 2.0)))


def _vs_reference(
    mine: Sequence[TaskComparison], alpha: float
) -> tuple[float | None, float | None, float | None, float | None, float | None]:
    """(reference, tuned - reference, its interval, se) of a dimension; Nones when a task has none."""
    refs = [tc.reference for tc in mine]
    if not refs or any(r is None or not r.metrics for r in refs):
        return None, None, None, None, None
    ms = [r.metric(tc.primary) for r, tc in zip(refs, mine, strict=True) if r is not None]
    if len(ms) == 1:
        m = ms[0]
        return m.base, m.delta, m.ci_low, m.ci_high, m.se
    ses = [m.se for m in ms]
    if any(x is None for x in ses):
        return None, None, None, None, None
    delta, se, lo, hi = mean_of_deltas([m.delta for m in ms], [float(x or 0.0) for x in ses], alpha=alpha)
    return sum(m.base for m in ms) / len(ms), delta, lo, hi, se


def build_scorecard(
    tasks: Sequence[TaskComparison], gates: Sequence[GateResult], *, alpha: float = 0.05
) -> tuple[ScorecardRow, ...]:
    """One row per dimension, in :data:`DIMENSIONS` order (unknown dimensions follow, alphabetically)."""
    known = [d for d, _ in DIMENSIONS]
    extra = sorted({tc.dimension for tc in tasks} - set(known))
    labels = dict(DIMENSIONS) | {d: d for d in extra}
    rows = []
    for dim in known + extra:
        mine = [tc for tc in tasks if tc.dimension == dim]
        if not mine:
            rows.append(ScorecardRow(dim, labels[dim], "not run"))
            continue
        names = tuple(tc.task for tc in mine)
        outcomes: list[str] = [g.outcome for g in gates if g.task in names]
        gate = max(outcomes, key=lambda o: _SEVERITY[o]) if outcomes else None
        ms = [tc.metric(tc.primary) for tc in mine]
        if len(ms) == 1:
            m = ms[0]
            base, tuned, delta, lo, hi, se = m.base, m.tuned, m.delta, m.ci_low, m.ci_high, m.se
            metric = f"{mine[0].task}/{mine[0].primary}"
        else:
            k = len(ms)
            delta, se, lo, hi = mean_of_deltas(
                [m.delta for m in ms], [_se(tc, alpha) for tc in mine], alpha=alpha
            )
            base, tuned = sum(m.base for m in ms) / k, sum(m.tuned for m in ms) / k
            metric = f"mean of {k} tasks"
        ref, vs, vs_lo, vs_hi, vs_se = _vs_reference(mine, alpha)
        rows.append(
            ScorecardRow(
                dimension=dim,
                label=labels[dim],
                status="ok",
                tasks=names,
                metric=metric,
                base=base,
                tuned=tuned,
                delta=delta,
                ci_low=lo,
                ci_high=hi,
                n=sum(m.n for m in ms),
                gate=gate,
                se=se,
                reference=ref,
                vs_reference=vs,
                vs_reference_ci_low=vs_lo,
                vs_reference_ci_high=vs_hi,
                vs_reference_se=vs_se,
            )
        )
    return tuple(rows)


# -- the preference row, from an A/B study attached to the run (tunegate.preference.result_for_run) ----
#: the two preference gates: the tuned model's win rate is at least 1/2; it does not lose significantly
PREFERENCE_GATES = ("min_win_rate", "no_significant_loss")


def preference_gates(
    pref: Mapping[str, Any], which: Sequence[str] = PREFERENCE_GATES, *, min_votes: int = 30
) -> tuple[GateResult, ...]:
    """The preference gates decided on a study's ``["preference"]`` summary (win rate, CI, n, source).

    ``min_win_rate``: the win rate (W + T/2)/N is at least 50% (on the point estimate, like
    ``min_score``); with fewer than ``min_votes`` human votes and no judge it is inconclusive.
    ``no_significant_loss``: fails when the whole interval lies below 50%.
    """
    unknown = set(which) - set(PREFERENCE_GATES)
    if unknown:
        raise ValueError(f"unknown preference gate(s) {sorted(unknown)}; use {', '.join(PREFERENCE_GATES)}")
    rate, lo, hi, n = float(pref["win_rate"]), float(pref["ci_low"]), float(pref["ci_high"]), int(pref["n"])
    src = f"{n} {pref['source']} vote{'s' if n != 1 else ''}"
    task = _preference_task(pref)
    out = []
    if "min_win_rate" in which:
        few = pref["source"] == "human" and n < min_votes
        outcome: Literal["pass", "fail", "inconclusive"] = (
            "inconclusive" if few else "pass" if rate >= 0.5 else "fail"
        )
        reason = f"tuned wins {100 * rate:.1f}% of {src}; needs at least 50%"
        if few:
            reason += f" (too few: {min_votes} human votes or a judge are needed)"
        out.append(GateResult(task, "win_rate", "min_score", 0.5, "min_win_rate", outcome, reason))
    if "no_significant_loss" in which:
        loses = hi < 0.5
        out.append(
            GateResult(
                task,
                "win_rate",
                "max_drop",
                0.0,
                "no_significant_loss",
                "fail" if loses else "pass",
                f"win rate {100 * rate:.1f}%, CI [{100 * lo:.1f}, {100 * hi:.1f}] on {src}: "
                + ("wholly below 50%, a significant loss" if loses else "not wholly below 50%"),
                alpha=float(pref.get("alpha", 0.05)),
                p_value=pref.get("p_value"),
                ci_low=lo - 0.5,
                ci_high=hi - 0.5,
            )
        )
    return tuple(out)


def _preference_task(pref: Mapping[str, Any]) -> str:
    return f"A/B study {pref.get('study_id') or ''}".strip()


def with_preference(
    rows: Sequence[ScorecardRow], pref: Mapping[str, Any], gates: Sequence[GateResult] = ()
) -> tuple[ScorecardRow, ...]:
    """The scorecard with its preference row filled from a study's ``["preference"]`` summary.

    tuned = the win rate, base = 1/2 (parity), delta = win rate - 1/2 with the study's interval; the
    metric names the source: ``human win rate`` (votes) or ``judge win rate`` (too few votes).
    """
    task = _preference_task(pref)
    mine = [g.outcome for g in gates if g.task == task]
    sev = {"pass": 0, "inconclusive": 1, "fail": 2}
    rate, lo, hi = float(pref["win_rate"]), float(pref["ci_low"]), float(pref["ci_high"])
    row = ScorecardRow(
        dimension="preference",
        label=dict(DIMENSIONS)["preference"],
        status="ok",
        tasks=(task,),
        metric=f"{pref['source']} win rate",
        base=0.5,
        tuned=rate,
        delta=rate - 0.5,
        ci_low=lo - 0.5,
        ci_high=hi - 0.5,
        n=int(pref["n"]),
        gate=max(mine, key=lambda o: sev[o]) if mine else None,
    )
    out = [r for r in rows if r.dimension != "preference"]
    at = next((i for i, r in enumerate(rows) if r.dimension == "preference"), len(out))
    out.insert(at, row)
    return tuple(out)
