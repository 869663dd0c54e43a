"""tunegate's ``openai:`` backend against a real llama.cpp server: requests/s and tokens/s.

    flock /tmp/tunegate-cpu.lock .venv/bin/python bench/openai_server.py [--gen 16] [--ll 4]

Starts ``llama_cpp.server`` (the venv of ``scripts/engines/llamacpp.sh``) on loopback serving the
embedded GGUF, then runs the same requests through tunegate's engine (fresh store each time, so every
request reaches the server) at concurrency 1 and at the backend's default: greedy generations of
TriviaQA questions (32 new tokens, stop at newline) and short log-likelihood requests (echo + logprobs).
Prints wall time, requests/s and tokens/s (generated tokens for generation, scored tokens for scoring).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.models._llamacpp_server import LlamaCppServer, embedded_gguf, engine_python  # noqa: E402


def _questions(n: int) -> list[str]:
    from tunegate.suite import build_task, load_suite

    suite = load_suite("demo")
    entry = next(t for t in suite.tasks if t.task == "triviaqa")
    task = build_task(entry)
    out = []
    for doc in task.docs()[:n]:
        (req,) = task.requests(doc)
        out.append(req.prompt if isinstance(req.prompt, str) else req.prompt[-1].content)
    return out


def _run(spec: str, reqs: list, concurrency: int) -> tuple[float, int]:
    from tunegate.engine import Engine
    from tunegate.models import Model
    from tunegate.store import open_store

    os.environ["TUNEGATE_OPENAI_CONCURRENCY"] = str(concurrency)
    with tempfile.TemporaryDirectory() as d:
        store = open_store(f"sqlite:///{d}/s.db")
        eng = Engine(Model(spec), store)
        t0 = time.perf_counter()
        got = eng.run(reqs)
        wall = time.perf_counter() - t0
        store.close()
    return wall, sum(int(getattr(r, "n_tokens", 0)) for r in got)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--gen", type=int, default=16, help="generation requests")
    ap.add_argument("--ll", type=int, default=4, help="log-likelihood requests (slow on llama.cpp)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    python = engine_python()
    if python is None:
        sys.exit("llama.cpp server not built: run bash scripts/engines/llamacpp.sh")
    from tunegate.models import GenerateRequest, LoglikelihoodRequest
    from tunegate.models._openai import Settings

    default = Settings.concurrency
    gen = [GenerateRequest(q, max_new_tokens=32, stop=("\n",)) for q in _questions(a.gen)]
    ll = [LoglikelihoodRequest(f"Question {i}: the capital of France is", " Paris") for i in range(a.ll)]
    srv = LlamaCppServer(python, embedded_gguf()).start()
    rows = []
    try:
        for kind, reqs in (("generate", gen), ("loglikelihood", ll)):
            for c in sorted({1, default}):
                wall, tokens = _run(srv.spec(), reqs, c)
                row = {
                    "kind": kind,
                    "concurrency": c,
                    "requests": len(reqs),
                    "wall_s": round(wall, 2),
                    "req_per_s": round(len(reqs) / wall, 3),
                    "tokens_per_s": round(tokens / wall, 2),
                    "tokens": tokens,
                }
                rows.append(row)
                print(
                    f"{kind:13s} c={c}: {len(reqs)} requests in {wall:.1f} s -> {row['req_per_s']} req/s, "
                    f"{row['tokens_per_s']} tok/s ({tokens} tokens)",
                    flush=True,
                )
    finally:
        srv.stop()
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
