"""Load test of the rating app: N concurrent raters voting on loopback against a real uvicorn server.

Creates a study (N raters x M items each, overlap 2) in a fresh store, serves it with
``tunegate ab serve`` in a subprocess, and lets N asyncio clients vote through their whole queue as
fast as they can, each on its own keep-alive connection (every 10th vote also revises the one before,
to exercise revisions). The client is a minimal HTTP/1.1 writer/parser on asyncio streams, so that on
a 2-core machine the load generator leaves the CPU to the server. Prints votes/s and latency
percentiles, then checks the store: exactly one counted vote per (rater, item), every submitted vote
in the history with the right final choice, nothing lost or double-counted (exit 1 otherwise).

    flock /tmp/tunegate-cpu.lock python bench/ab_load.py                       # SQLite (a fresh file)
    flock /tmp/tunegate-cpu.lock python bench/ab_load.py --rate 500 --items 240  # open loop, ~27 s
    flock /tmp/tunegate-cpu.lock python bench/ab_load.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test

With a PostgreSQL URL the bench works in a throwaway schema (``ab_load_<pid>``) and drops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from tunegate.preference import ItemSpec, StudySettings, StudyStore
from tunegate.store import open_store


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Conn:
    """One keep-alive HTTP/1.1 connection: just enough of the protocol for this app's responses."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.r, self.w = reader, writer
        self.cookie = ""

    @classmethod
    async def open(cls, port: int) -> Conn:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        if self.cookie:
            head.append(f"Cookie: {self.cookie}")
        if body:
            head.append("Content-Type: application/json")
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.w.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        status_line = await self.r.readline()
        status = int(status_line.split()[1])
        hdrs: dict[str, str] = {}
        while True:
            line = await self.r.readline()
            if line in (b"\r\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            k = k.strip().lower()
            if k == "set-cookie":
                self.cookie = v.strip().split(";", 1)[0]
            hdrs[k] = v.strip()
        n = int(hdrs.get("content-length", "0"))
        data = await self.r.readexactly(n) if n else b""
        return status, hdrs, data

    def close(self) -> None:
        self.w.close()


async def _rater(
    port: int,
    token: str,
    lat: list[float],
    revise_every: int,
    interval: float,
    phase: float,
    window: list[float],
) -> list[tuple[int, str]]:
    """Vote through the rater's queue; returns every (position, choice) sent, in order.

    ``interval`` 0: back to back (closed loop). Otherwise the k-th vote is due at start + phase +
    k * interval and its latency counts from that due time, so a server that falls behind is not
    flattered by the client waiting for it (no coordinated omission). ``window`` gets the time the
    first vote was due and the time the last answer came."""
    c = await Conn.open(port)
    sent: list[tuple[int, str]] = []
    try:
        status, _, _ = await c.request("GET", f"/invite/{token}")
        assert status == 303 and c.cookie, status
        status, _, data = await c.request("GET", "/api/next")
        nxt = json.loads(data)
        h = {"X-CSRF-Token": nxt["csrf"]}
        loop = asyncio.get_running_loop()
        due = loop.time() + phase
        window.append(due)
        for pos in range(nxt["total"]):
            votes = [(pos, ("A", "B", "tie", "both_bad")[pos % 4])]
            if revise_every and pos % revise_every == revise_every - 1:
                votes.append((pos - 1, "tie"))
            for p, choice in votes:
                body = json.dumps({"position": p, "choice": choice}).encode()
                if interval:
                    await asyncio.sleep(max(0.0, due - loop.time()))
                    t0 = due
                    due += interval
                else:
                    t0 = loop.time()
                status, _, data = await c.request("POST", "/api/vote", body, h)
                lat.append(loop.time() - t0)
                if status == 429:
                    why = (
                        "a rater voting back to back went past it; pace the raters with --rate"
                        if not interval
                        else "the server fell so far behind that a rater's catch-up burst went past it; "
                        "offer a lower --rate"
                    )
                    raise SystemExit(f"refused by the per-rater rate limit ({data!r}): {why}")
                assert status == 200, (status, data)
                sent.append((p, choice))
        window.append(loop.time())
    finally:
        c.close()
    return sent


def _run(coro: Any) -> Any:
    """Run the clients on uvloop when it is installed (less of the 2 cores spent on the load itself)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def _pg_schema(url: str) -> tuple[str, str]:
    schema = f"ab_load_{os.getpid()}"
    with sa.create_engine(url).begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    return schema, f"{url}{sep}options=-csearch_path%3D{schema}"


def _drop_schema(url: str, schema: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--raters", type=int, default=50)
    ap.add_argument("--items", type=int, default=40, help="items per rater")
    ap.add_argument("--db", default=None, help="store URL (default: a fresh SQLite file)")
    ap.add_argument("--revise-every", type=int, default=10)
    ap.add_argument("--workers", type=int, default=1, help="server processes (ab serve --workers)")
    ap.add_argument(
        "--rate",
        type=float,
        default=0,
        help="offered load in votes/s over all raters, each rater paced evenly (default 0: every rater "
        "votes back to back, which measures the most the server does; then latency is queueing: 50 "
        "raters / throughput)",
    )
    a = ap.parse_args()
    schema = None
    if a.db and a.db.startswith("postgresql"):
        schema, db = _pg_schema(a.db)
    else:
        db = a.db or f"sqlite:///{Path(tempfile.mkdtemp()) / 'load.db'}"
    try:
        return _bench(a, db)
    finally:
        if schema:
            _drop_schema(a.db, schema)


def _bench(a: argparse.Namespace, db: str) -> int:
    ss = StudyStore(open_store(db))
    n_items = a.raters * a.items // 2
    items = [ItemSpec(f"q{i}", "base", "tuned", f"answer x {i}", f"answer y {i}") for i in range(n_items)]
    settings = StudySettings(
        "load", {"base": "b", "tuned": "t"}, "base", "tuned", overlap=2, items_per_rater=a.items
    )
    sid, _ = ss.create_study(settings, items)
    invites = ss.invite(sid, [f"r{i}" for i in range(a.raters)])
    port = _port()
    cmd = [sys.executable, "-m", "tunegate", "ab", "serve", "--db", db, "--port", str(port)]
    if a.workers > 1:
        cmd += ["--workers", str(a.workers)]
    server = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError(
                        f"server exited: {server.stderr.read() if server.stderr else ''}"
                    ) from None
                time.sleep(0.1)
        lat: list[float] = []
        window: list[float] = []

        interval = a.raters / a.rate if a.rate else 0.0
        rng = np.random.default_rng(0)

        async def run_all() -> list[list[tuple[int, str]]]:
            return await asyncio.gather(
                *[
                    _rater(port, tok, lat, a.revise_every, interval, float(rng.random()) * interval, window)
                    for _, tok in invites
                ]
            )

        # the client's own full garbage collections (numpy, SQLAlchemy and tunegate imported: ~100k
        # objects) would pause every rater at once and show up as server latency: freeze that heap
        gc.collect()
        gc.freeze()
        t0 = time.perf_counter()
        sent = _run(run_all())
        wall = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(10)
    n_sent = sum(len(s) for s in sent)
    ms = np.asarray(lat) * 1000
    counted = ss.votes(sid)
    history = ss.history(sid)
    pairs = {(v["rater_id"], v["item_id"]) for v in counted}
    expected = a.raters * a.items
    # the counted choice of every (rater, position) is the last one that rater sent for it
    item_at = {(x["rater_id"], x["position"]): x["item_id"] for x in ss.assignments(sid)}
    final = {(r.id, item_at[(r.id, p)]): ch for (r, _), s in zip(invites, sent, strict=True) for p, ch in s}
    got = {(v["rater_id"], v["item_id"]): v["choice"] for v in counted}
    per_history = {(h["rater_id"], h["item_id"], h["revision"]) for h in history}
    ok = (
        len(counted) == expected == len(pairs) and len(history) == n_sent == len(per_history) and got == final
    )
    print(
        f"store: {ss.store.engine.dialect.name}; {a.raters} raters x {a.items} items; {n_sent} vote requests; "
        f"server workers {a.workers}; "
        + (f"offered {a.rate:.0f} votes/s" if a.rate else "closed loop (back to back)")
    )
    # from the first vote due to the last answer (the invite and first-page requests before it are
    # not votes); the wall time includes them
    span = max(window) - min(window)
    print(f"throughput: {n_sent / span:.0f} votes/s over {span:.2f} s of voting ({wall:.2f} s wall)")
    print(
        f"latency ms: p50 {np.percentile(ms, 50):.1f}  p95 {np.percentile(ms, 95):.1f}  "
        f"p99 {np.percentile(ms, 99):.1f}  max {ms.max():.1f}"
    )
    print(
        f"counted votes {len(counted)} (expected {expected}, distinct {len(pairs)}, final choices "
        f"{'match' if got == final else 'DIFFER'}); history {len(history)} (sent {n_sent}, "
        f"distinct revisions {len(per_history)})"
    )
    print("integrity: OK" if ok else "integrity: FAILED (a vote was lost or double-counted)")
    ss.store.close()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
