"""Load test of the rating app: N concurrent raters voting on loopback.

Creates a study (N raters x M items each) in a fresh store, serves it with uvicorn in a subprocess,
and lets N asyncio clients vote through their whole queue as fast as they can (each vote also
revises one earlier vote now and then, to exercise revisions). Prints votes/s and latency
percentiles, then checks the store: exactly one counted vote per (rater, item), every submitted vote
in the history, nothing lost or double-counted. Run it under ``flock /tmp/tunegate-cpu.lock``.

    python bench/ab_load.py [--raters 50] [--items 40] [--db postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from tunegate.preference import ItemSpec, StudySettings, StudyStore
from tunegate.store import open_store


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _rater(base: str, link: str, lat: list[float], revise_every: int) -> int:
    sent = 0
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        await c.get(link)
        nxt = (await c.get("/api/next")).json()
        csrf, total = nxt["csrf"], nxt["total"]
        h = {"X-CSRF-Token": csrf}
        for pos in range(total):
            choice = ("A", "B", "tie", "both_bad")[pos % 4]
            t0 = time.perf_counter()
            r = await c.post("/api/vote", json={"position": pos, "choice": choice}, headers=h)
            lat.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text
            sent += 1
            if revise_every and pos % revise_every == revise_every - 1:
                t0 = time.perf_counter()
                r = await c.post("/api/vote", json={"position": pos - 1, "choice": "tie"}, headers=h)
                lat.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.text
                sent += 1
    return sent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--raters", type=int, default=50)
    ap.add_argument("--items", type=int, default=40, help="items per rater")
    ap.add_argument("--db", default=None, help="store URL (default: a fresh SQLite file)")
    ap.add_argument("--revise-every", type=int, default=10)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    db = a.db or f"sqlite:///{Path(tmp) / 'load.db'}"
    ss = StudyStore(open_store(db))
    n_items = a.raters * a.items // 2
    items = [ItemSpec(f"q{i}", "base", "tuned", f"answer x {i}", f"answer y {i}") for i in range(n_items)]
    settings = StudySettings(
        "load", {"base": "b", "tuned": "t"}, "base", "tuned", overlap=2, items_per_rater=a.items
    )
    sid, _ = ss.create_study(settings, items)
    invites = ss.invite(sid, [f"r{i}" for i in range(a.raters)])
    port = _port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tunegate", "ab", "serve", "--db", db, "--port", str(port)],
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        lat: list[float] = []

        async def run_all() -> list[int]:
            return await asyncio.gather(
                *[_rater(base, f"/invite/{tok}", lat, a.revise_every) for _, tok in invites]
            )

        t0 = time.perf_counter()
        sent = sum(asyncio.run(run_all()))
        wall = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(10)
    ms = np.asarray(lat) * 1000
    counted = ss.votes(sid)
    history = ss.history(sid)
    pairs = {(v["rater_id"], v["item_id"]) for v in counted}
    expected = a.raters * a.items
    ok = len(counted) == expected == len(pairs) and len(history) == sent
    print(f"store: {ss.store.engine.dialect.name}; {a.raters} raters x {a.items} items; {sent} vote requests")
    print(f"throughput: {sent / wall:.0f} votes/s over {wall:.2f} s")
    print(
        f"latency ms: p50 {np.percentile(ms, 50):.1f}  p95 {np.percentile(ms, 95):.1f}  p99 {np.percentile(ms, 99):.1f}"
    )
    print(
        f"counted votes {len(counted)} (expected {expected}, distinct {len(pairs)}); history {len(history)} (sent {sent})"
    )
    print("integrity: OK" if ok else "integrity: FAILED (a vote was lost or double-counted)")
    ss.store.close()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
