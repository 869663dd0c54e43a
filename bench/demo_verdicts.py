"""Are the demo's verdicts decided by the statistics, or by which items happened to be drawn?

Replays the demo's recorded per-item scores (the engine cache after ``make demo``: nothing is
recomputed, no model is loaded) through the real pairing, estimates and gates
(``tunegate.runner.compare_scores``) on seeded bootstrap redraws of the items: each redraw picks as
many items as the suite has, with replacement, by cluster where a task declares clusters (an MMLU
subject, a safety behaviour). Prints, per candidate, the share of redraws giving each verdict and the
gates that decided them.

    make demo                                  # fills the cache (minutes, once)
    flock /tmp/tunegate-cpu.lock .venv/bin/python bench/demo_verdicts.py [--redraws 200]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter, defaultdict
from dataclasses import replace

import numpy as np

from tunegate.engine import NullProgress
from tunegate.engine._roles import Roles
from tunegate.models import Model
from tunegate.runner._compare import CompareConfig, ScoredTask, _run_tasks, compare_scores
from tunegate.runner._evaluate import TaskScores
from tunegate.store import open_store
from tunegate.suite import load_suite

BASE = "builtin:gemma-3-270m"
CANDIDATES = {
    "good": "builtin:gemma-3-270m?adapter=builtin:triviaqa-lora",
    "overtrained": "builtin:gemma-3-270m?adapter=builtin:triviaqa-overtrained",
}


def recorded(config: CompareConfig, store: object) -> list[ScoredTask]:
    """The suite's per-item scores from the engine cache (a live run if anything is missing)."""
    roles = Roles(
        store, models={"base": Model(config.base), "tuned": Model(config.tuned)}, progress=NullProgress()
    )
    engines = {r: roles.engine(r) for r in ("base", "tuned")}
    scored, _ = _run_tasks(config, engines, roles)
    computed = sum(e.stats.computed for e in roles.engines.values())
    if computed:
        print(f"  (note: {computed} requests were not cached and were computed now)")
    return scored


def redraw(st: ScoredTask, rng: np.random.Generator) -> ScoredTask:
    """A bootstrap redraw of one task's items (by cluster when the task has clusters)."""
    groups: dict[str, list[str]] = defaultdict(list)
    for item_id, score in st.base.items.items():
        groups[score.cluster if score.cluster is not None else f"\0{item_id}"].append(item_id)
    keys = sorted(groups)
    picked = rng.integers(0, len(keys), size=len(keys))
    base, tuned = {}, {}
    for j, k in enumerate(picked):
        for item_id in groups[keys[k]]:
            new_id = f"{item_id}#{j}"
            b, t = st.base.items[item_id], st.tuned.items[item_id]
            cl = None if b.cluster is None else f"{b.cluster}#{j}"
            base[new_id], tuned[new_id] = replace(b, cluster=cl), replace(t, cluster=cl)
    return replace(
        st,
        base=TaskScores(st.base.task, base, st.base.chat_template),
        tuned=TaskScores(st.tuned.task, tuned, st.tuned.chat_template),
        n=len(base),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--redraws", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--suite", default="demo")
    ap.add_argument("--db", default=None)
    args = ap.parse_args()
    store = open_store(args.db)
    suite = load_suite(args.suite)
    t0 = time.perf_counter()
    print(f"suite {suite.name!r}, {args.redraws} seeded bootstrap redraws of the items (seed {args.seed})\n")
    for label, spec in CANDIDATES.items():
        config = CompareConfig(suite=suite, base=BASE, tuned=spec, n_boot=200)
        scored = recorded(config, store)
        observed = compare_scores(config, scored)
        rng = np.random.default_rng(args.seed)
        verdicts: Counter[str] = Counter()
        deciding: Counter[str] = Counter()
        for _ in range(args.redraws):
            r = compare_scores(config, [redraw(st, rng) for st in scored])
            verdicts[r.verdict] += 1
            for g in r.gates:
                if g.outcome != "pass":
                    deciding[f"{g.task}/{g.metric} {g.outcome}"] += 1
        shares = ", ".join(f"{v} {100 * n / args.redraws:.1f}%" for v, n in verdicts.most_common())
        print(f"{label}: observed {observed.verdict}; redraws: {shares}")
        for name, n in deciding.most_common():
            print(f"    {name}: {100 * n / args.redraws:.1f}% of redraws")
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
