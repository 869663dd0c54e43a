"""Import and load time of the builtin model from a warm cache.

flock /tmp/tunegate-cpu.lock .venv/bin/python bench/load_time.py [--model SPEC]
"""

from __future__ import annotations

import argparse
import importlib
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="builtin:gemma-3-270m")
    spec = ap.parse_args().model
    t0 = time.perf_counter()
    for name in ("torch", "transformers"):
        importlib.import_module(name)
    t1 = time.perf_counter()
    from tunegate.models import Model

    backend = Model(spec).backend
    t2 = time.perf_counter()
    print(
        f"imports torch+transformers {t1 - t0:.2f} s; {spec} load {t2 - t1:.2f} s ({type(backend).__name__})"
    )


if __name__ == "__main__":
    main()
