"""Replay simulated per-item outcomes through the real gate code and print the error-rate tables.

Run (about a minute on one core; wrap it in the CPU lock on a shared machine)::

    flock /tmp/tunegate-cpu.lock python bench/simulate_gates.py [--replays 2000] [--seed 1]

Each replay draws paired 0/1 outcomes of ``n`` items: with discordance ``q`` (share of items the two
models disagree on) and true difference ``delta``, an item is "base right, tuned wrong" with
probability ``(q - delta) / 2`` and "base wrong, tuned right" with ``(q + delta) / 2``. The per-item
differences go through ``tunegate.stats.mean_se`` (what the ``paired_mean`` estimator computes) and
``tunegate.stats.decide_family`` (what ``tunegate compare`` decides with) — the same functions, batched
over replays. Printed tables are Markdown; ``docs/statistics.md`` quotes them.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.special import stdtrit

from tunegate.stats import FAIL, PASS, GateRule, decide_family, floor_scale, mean_se, metric_range

NS = (30, 100, 200, 400, 1000, 2000)
TOLERANCES = (0.0, 0.02, 0.05)
DISCORDANCE = 0.2


def _diffs(
    rng: np.random.Generator, shape: tuple[int, ...], q: float, delta: float | np.ndarray
) -> np.ndarray:
    p_b = (q - np.asarray(delta)) / 2.0
    p_c = (q + np.asarray(delta)) / 2.0
    u = rng.random(shape)
    return np.where(u < p_b, -1.0, np.where(u < p_b + p_c, 1.0, 0.0))


def _rates(
    rule: GateRule, d: np.ndarray, clusters: np.ndarray | None = None
) -> tuple[float, float, float, float]:
    """P(FAIL), P(PASS), share powered, median items needed of inconclusive replays (0 if none)."""
    (a,) = decide_family([rule], [mean_se(d, clusters=clusters)])
    need = a.items_needed[a.items_needed > 0]
    return (
        float(np.mean(a.outcome == FAIL)),
        float(np.mean(a.outcome == PASS)),
        float(np.mean(a.powered)),
        float(np.median(need)) if need.size else 0.0,
    )


def single_task_table(rng: np.random.Generator, replays: int, q: float) -> list[str]:
    rows = [
        f"Discordance {q:g}, alpha 0.05, power 0.8, {replays} replays per cell. D = tolerance + material effect "
        "(material = tolerance, or 5 points when the tolerance is 0).",
        "",
        "| max_drop | n | A/A FAIL | A/A PASS | FAIL at tolerance | FAIL at D (power) | PASS at D | powered | items asked (A/A, median) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for tol in TOLERANCES:
        rule = GateRule("max_drop", tol)
        big = tol + rule.material
        for n in NS:
            aa_fail, aa_pass, powered, need = _rates(rule, _diffs(rng, (replays, n), q, 0.0))
            tol_fail, _, _, _ = _rates(rule, _diffs(rng, (replays, n), q, -tol))
            d_fail, d_pass, _, _ = _rates(rule, _diffs(rng, (replays, n), q, -big))
            rows.append(
                f"| {tol:g} | {n} | {aa_fail:.1%} | {aa_pass:.1%} | {tol_fail:.1%} | {d_fail:.1%} | "
                f"{d_pass:.1%} | {powered:.0%} | {need:.0f} |"
            )
    return rows


def family_table(rng: np.random.Generator, replays: int, q: float, k: int = 57, n: int = 100) -> list[str]:
    rows = [
        f"A suite of {k} gated tasks of n items each (MMLU-subject-sized at n = 100), decided as one family "
        f"(Holm over the FAIL tests, power at alpha/{k}); discordance {q:g}, {replays} replays.",
        "",
        "| max_drop | n per task | suite FAIL, all A/A | suite FAIL, all at tolerance | suite PASS, all A/A | one task at D: FAIL | one task at D: suite PASS |",
        "|---|---|---|---|---|---|---|",
    ]
    chunk = max(1, 2_000_000 // (k * n))
    for tol in TOLERANCES:
        rule = GateRule("max_drop", tol)
        big = tol + rule.material
        for n_items in (n, 1000):
            counts = np.zeros(5)
            done = 0
            while done < replays:
                r = min(chunk, replays - done)
                for col, deltas in enumerate((np.zeros(k), np.full(k, -tol), None)):
                    if deltas is None:
                        deltas = np.zeros(k)
                        deltas[0] = -big
                    d = _diffs(rng, (r, k, n_items), q, deltas[None, :, None])
                    arrays = decide_family([rule] * k, [mean_se(d[:, j, :]) for j in range(k)])
                    out = np.stack([a.outcome for a in arrays], axis=-1)
                    if col == 0:
                        counts[0] += np.sum((out == FAIL).any(axis=-1))
                        counts[2] += np.sum((out == PASS).all(axis=-1))
                    elif col == 1:
                        counts[1] += np.sum((out == FAIL).any(axis=-1))
                    else:
                        counts[3] += np.sum(out[:, 0] == FAIL)
                        counts[4] += np.sum((out == PASS).all(axis=-1))
                done += r
            c = counts / replays
            rows.append(
                f"| {tol:g} | {n_items} | {c[0]:.1%} | {c[1]:.1%} | {c[2]:.1%} | {c[3]:.1%} | {c[4]:.1%} |"
            )
    return rows


def cluster_table(rng: np.random.Generator, replays: int, q: float, k: int = 57, per: int = 100) -> list[str]:
    """One MMLU-like task: k subjects of ``per`` items; the fine-tune shifts each subject by N(mean, tau)."""
    rows = [
        f"One task of {k} clusters x {per} items whose true per-cluster difference varies (SD tau) around a "
        f"mean at the tolerance (-2 points) or at -D (-4 points); max_drop 0.02, {replays} replays.",
        "",
        "| tau | SE | FAIL at tolerance | FAIL at D | PASS at D |",
        "|---|---|---|---|---|",
    ]
    labels = np.repeat(np.arange(k), per)
    rule = GateRule("max_drop", 0.02)
    big = 0.02 + rule.material
    for tau in (0.0, 0.03, 0.06):
        for name, clusters in (("per item (ignores clusters)", None), ("cluster-robust", labels)):
            res = []
            for mean in (-0.02, -big):
                shift = np.clip(mean + rng.normal(0.0, tau, (replays, k)), -q, q)
                d = _diffs(rng, (replays, k * per), q, np.repeat(shift, per, axis=1))
                res.append(_rates(rule, d, clusters))
            rows.append(f"| {tau:g} | {name} | {res[0][0]:.1%} | {res[1][0]:.1%} | {res[1][1]:.1%} |")
    return rows


def continuous_table(rng: np.random.Generator, replays: int) -> list[str]:
    rows = [
        "A continuous [0, 1] metric (ROUGE-like): per-item differences N(delta, 0.15), clipped to [-1, 1]; "
        f"max_drop 0.02, {replays} replays.",
        "",
        "| n | A/A FAIL | A/A PASS | FAIL at tolerance | FAIL at D | PASS at D |",
        "|---|---|---|---|---|---|",
    ]
    rule = GateRule("max_drop", 0.02)
    big = 0.02 + rule.material
    for n in NS:
        out = []
        for mean in (0.0, -0.02, -big):
            d = np.clip(rng.normal(mean, 0.15, (replays, n)), -1.0, 1.0)
            out.append(_rates(rule, d))
        rows.append(
            f"| {n} | {out[0][0]:.1%} | {out[0][1]:.1%} | {out[1][0]:.1%} | {out[2][0]:.1%} | {out[2][1]:.1%} |"
        )
    return rows


def _changes(rng: np.random.Generator, kind: str, n: int) -> tuple[np.ndarray, float]:
    """Per-item changes of an unbounded metric (a gold answer's log-likelihood) and their true mean."""
    if kind == "dense":  # every item moves a little
        return rng.normal(0.3, 1.0, n), 0.3
    if kind == "heavy":  # a few items move a lot
        return rng.standard_t(3, n) * 2.0 + 0.5, 0.5
    # sparse: 5% of the items change, by N(-2, 3); the rest are identical
    return np.where(rng.random(n) < 0.05, rng.normal(-2.0, 3.0, n), 0.0), -0.1


def floor_table(rng: np.random.Generator, replays: int) -> list[str]:
    """Coverage and width of the paired t interval on log-likelihood changes, for two floor scales."""
    rows = [
        "An unbounded metric (gold log-likelihood, scores in [-150, -20] nats): coverage of the true mean "
        f"change by the 95% t interval on the floored SE, {replays} replays; floor scale = the scores' "
        "range (before) or the largest per-item change (`floor_scale`, now).",
        "",
        "| changes | n | coverage (range) | width (range) | coverage (now) | width (now) |",
        "|---|---|---|---|---|---|",
    ]
    for kind in ("dense", "heavy", "sparse"):
        for n in (10, 30, 100, 300):
            stats: dict[str, list[float]] = {"range": [0.0, 0.0], "now": [0.0, 0.0]}
            t_q = float(stdtrit(n - 1, 0.975))
            for _ in range(replays):
                base = -rng.uniform(20.0, 150.0, n)
                d, mu = _changes(rng, kind, n)
                for name, scale in (
                    ("range", metric_range(base, base + d)),
                    ("now", floor_scale(base, base + d)),
                ):
                    mo = mean_se(d, scale=scale)
                    half = t_q * float(mo.se)
                    stats[name][0] += float(abs(float(mo.delta) - mu) <= half)
                    stats[name][1] += 2 * half
            r, w = stats["range"], stats["now"]
            rows.append(
                f"| {kind} | {n} | {r[0] / replays:.3f} | {r[1] / replays:.2f} | {w[0] / replays:.3f} "
                f"| {w[1] / replays:.2f} |"
            )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replays", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--floor", action="store_true", help="only the floor-scale table (unbounded metrics)")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    if args.floor:
        print("### The rule-of-three floor on an unbounded metric\n")
        print("\n".join(floor_table(rng, args.replays)) + "\n")
        print(f"(seed {args.seed}, {time.perf_counter() - t0:.0f} s)")
        return
    for title, rows in (
        ("One gated task (0/1 metric)", single_task_table(rng, args.replays, DISCORDANCE)),
        ("A 57-task family", family_table(rng, max(200, args.replays // 4), DISCORDANCE)),
        ("Clusters", cluster_table(rng, max(200, args.replays // 2), DISCORDANCE)),
        ("A continuous metric", continuous_table(rng, args.replays)),
        ("The rule-of-three floor on an unbounded metric", floor_table(rng, max(500, args.replays // 2))),
    ):
        print(f"### {title}\n")
        print("\n".join(rows) + "\n")
    print(f"(seed {args.seed}, {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
