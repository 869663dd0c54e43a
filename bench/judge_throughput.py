"""LLM-judge throughput of a regression suite with an ``llm-rubric`` judge, before and after batching.

A suite of N cases, each with one ``llm-rubric`` assertion judged by ``builtin:gemma-3-270m``; the
answers under test come from a scripted ``mock:`` model (so only the judge costs anything). The
judge's requests (what ``case_followups`` asks) are answered twice, each time on an empty store with
the judge already loaded:

- *before*: one engine call per judge request, as the old ``_judge_fn`` bridge did from inside
  ``score()``;
- *after*: the batched second round (``Roles.answer``: one engine call for all of them, cut into the
  backend's generation batches).

Both must give the same replies. Prints judge calls per second of each and their ratio.

    flock /tmp/tunegate-cpu.lock .venv/bin/python bench/judge_throughput.py [--cases 32]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import yaml

JUDGE = "builtin:gemma-3-270m"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=32)
    args = ap.parse_args()

    from tunegate.engine import Engine, Roles
    from tunegate.models import GenerateResult, Model
    from tunegate.regression import case_followups, load_regression_suite
    from tunegate.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        target = root / "target.jsonl"
        target.write_text(json.dumps({"options": {"unscripted": "hash"}}) + "\n", encoding="utf-8")
        rubrics = ["is polite", "answers the question", "is in English", "is short"]
        cases = [
            {
                "id": f"c{i}",
                "prompt": f"Question {i}: what is {i} plus {i}?",
                "assert": [{"type": "llm-rubric", "value": rubrics[i % len(rubrics)]}],
            }
            for i in range(args.cases)
        ]
        path = root / "suite.yaml"
        data = {"name": "judged", "defaults": {"judge": JUDGE, "max_new_tokens": 12}, "cases": cases}
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        suite = load_regression_suite(path)

        answers = Engine(Model(f"mock:{target}"), open_store(f"sqlite:///{root / 'a.db'}")).run(
            [r for c in suite.cases for r in c.requests()]
        )
        texts = [a.text for a in answers if isinstance(a, GenerateResult)]
        follow = [rr for c, t in zip(suite.cases, texts, strict=True) for rr in case_followups(suite, c, [t])]
        judge = Model(JUDGE)
        t0 = time.perf_counter()
        _ = judge.backend  # load once, outside both timings
        load_s = time.perf_counter() - t0

        before_engine = Engine(judge, open_store(f"sqlite:///{root / 'before.db'}"))
        t0 = time.perf_counter()
        before = [before_engine.run([rr.request], "llm-rubric")[0] for rr in follow]
        before_s = time.perf_counter() - t0

        roles = Roles(open_store(f"sqlite:///{root / 'after.db'}"), models={"judge": judge})
        t0 = time.perf_counter()
        got = roles.answer(follow, "llm-rubric")
        after_s = time.perf_counter() - t0
        after = [got[rr] for rr in follow]
        same = sum(a == b for a, b in zip(before, after, strict=True))
        calls = roles.engine("judge").stats.backend_calls

    n = len(follow)
    print(
        f"judge {JUDGE}: {n} llm-rubric requests, judge load {load_s:.1f} s (not timed), cpus {os.cpu_count()}"
    )
    print(
        f"before (one call per request): {before_s:7.2f} s  {n / before_s:6.2f} judge calls/s  ({n} backend calls)"
    )
    print(
        f"after  (batched second round): {after_s:7.2f} s  {n / after_s:6.2f} judge calls/s  ({calls} backend calls)"
    )
    print(f"speed-up {before_s / after_s:.2f}x; identical replies {same}/{n}")


if __name__ == "__main__":
    main()
