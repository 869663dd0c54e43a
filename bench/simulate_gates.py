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

from tunegate.stats import FAIL, PASS, GateRule, decide_family, mean_se

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replays", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    for title, rows in (
        ("One gated task (0/1 metric)", single_task_table(rng, args.replays, DISCORDANCE)),
        ("A 57-task family", family_table(rng, max(200, args.replays // 4), DISCORDANCE)),
        ("Clusters", cluster_table(rng, max(200, args.replays // 2), DISCORDANCE)),
        ("A continuous metric", continuous_table(rng, args.replays)),
    ):
        print(f"### {title}\n")
        print("\n".join(rows) + "\n")
    print(f"(seed {args.seed}, {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
