"""Seconds to score one context cut to the model's window (4096 tokens on builtin:gemma-3-270m) --
where Gemma 3's sliding-window layers (512) run in bands (``models/_hf_segments.py:Layout.bands``)
instead of one masked 4096 x 4096 attention per layer. No peer runs here: lm-eval's HF backend has no
per-segment attention to compare; the figure is tunegate's own before/after.

    flock /tmp/tunegate-cpu.lock .venv/bin/python bench/long_context.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import time

from tunegate.models import LoglikelihoodRequest, Model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--spec", default="builtin:gemma-3-270m")
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    backend = Model(a.spec).backend
    backend.loglikelihood([LoglikelihoodRequest("warm", " up")])
    req = LoglikelihoodRequest("lorem ipsum dolor sit amet " * 2000, " end")
    for _ in range(a.repeat):
        t = time.perf_counter()
        (res,) = backend.loglikelihood([req])
        print(
            f"{a.spec}: {backend.max_length}-token context scored in {time.perf_counter() - t:.1f} s, logprob {res.logprob:.6f}"
        )


if __name__ == "__main__":
    main()
