"""Probes per second of the built-in safety suite on the embedded model: generation and judging.

    flock /tmp/tunegate-cpu.lock .venv/bin/python bench/safety_probes.py [--model SPEC]

Runs the probes of ``src/tunegate/data/suites/safety.yaml`` on one model with an empty store (so every
answer is generated), then judges the answers with the learned refusal and harm judges; prints both rates.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from tunegate.engine import Engine
from tunegate.models import Model
from tunegate.safety._judges import make_judge
from tunegate.safety._probes import ProbeSpec, build_probes
from tunegate.safety._run import ask, judge_answers
from tunegate.store import open_store
from tunegate.suite import load_suite


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="builtin:gemma-3-270m")
    args = ap.parse_args()
    (entry,) = load_suite("safety").tasks
    opts = dict(entry.options)
    max_new = int(opts.pop("max_new_tokens", 48))
    spec = ProbeSpec.from_options(opts, limit=entry.limit)
    harmful, safe = build_probes(spec)
    probes = harmful + safe
    with tempfile.TemporaryDirectory() as d:
        store = open_store(f"sqlite:///{d}/bench.db")
        model = Model(args.model)
        _ = model.backend  # load outside the timing
        t0 = time.perf_counter()
        answers = ask(Engine(model, store), probes, max_new)
        gen = time.perf_counter() - t0
        refusal, harm = make_judge("learned", "refusal"), make_judge("learned", "harm")
        judge_answers(probes[:2], answers[:2], refusal, harm)  # load the embedding model outside the timing
        t1 = time.perf_counter()
        judge_answers(probes, answers, refusal, harm)
        jud = time.perf_counter() - t1
    n = len(probes)
    print(f"{n} probes ({len(harmful)} attacked, {len(safe)} safe), {max_new} new tokens, model {args.model}")
    print(f"generation: {gen:.1f} s, {n / gen:.2f} probes/s")
    print(f"judging (refusal + harm, learned): {jud:.1f} s, {n / jud:.2f} probes/s")
    print(f"total: {n / (gen + jud):.2f} probes/s")


if __name__ == "__main__":
    main()
