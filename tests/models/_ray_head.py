"""A stand-alone local Ray cluster for ``test_ray.py``'s --ray-address test: prints its address, then
waits; SIGINT (or stdin closing) shuts it down."""

from __future__ import annotations

import sys

import ray

ctx = ray.init(
    address="local", num_cpus=2, include_dashboard=False, _temp_dir=sys.argv[1], _node_ip_address="127.0.0.1"
)
print(ctx.address_info["gcs_address"], flush=True)
sys.stdin.read()
ray.shutdown()
