"""Import and load time of the builtin model from a warm cache: ``python bench/load_time.py``."""

import time

t0 = time.perf_counter()
import torch, transformers  # noqa

t1 = time.perf_counter()
from tunegate.models import Model

m = Model("builtin:gemma-3-270m")
m.backend
t2 = time.perf_counter()
print(f"imports torch+transformers {t1 - t0:.2f} s; builtin:gemma-3-270m load (warm cache) {t2 - t1:.2f} s")
