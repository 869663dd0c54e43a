"""Cold compare vs the same compare rerun from the cache, on the demo suite.

Prints the wall time of a cold ``tunegate compare`` (empty store; the converted model copy already
cached, as after the first ever load), the wall time of the identical rerun answered from the store,
and their ratio (goal: rerun at least 50x faster; an unchanged model is not even loaded).

    .venv/bin/python bench/cache_rerun.py [--suite demo] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE = "builtin:gemma-3-270m"
TUNED = "builtin:gemma-3-270m?adapter=builtin:triviaqa-lora"


def _compare(db: str, out: Path, suite: str, limit: int | None) -> tuple[float, dict[str, object]]:
    cmd = [sys.executable, "-m", "tunegate", "compare", "--base", BASE, "--tuned", TUNED, "--suite", suite]
    cmd += ["--db", db, "--json", str(out), "-q"] + (["--limit", str(limit)] if limit else [])
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1, 3):
        sys.exit(f"compare failed ({proc.returncode}):\n{proc.stderr}")
    return wall, json.loads(out.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", default="demo")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/bench.db"
        cold, r1 = _compare(db, Path(tmp) / "cold.json", args.suite, args.limit)
        warm, r2 = _compare(db, Path(tmp) / "warm.json", args.suite, args.limit)
    same = [t["metrics"] for t in r1["tasks"]] == [t["metrics"] for t in r2["tasks"]]  # type: ignore[index]
    print(f"suite {args.suite!r}: base {BASE} vs tuned {TUNED}")
    print(f"cold compare (empty store)     {cold:8.2f} s   engine: {r1['engine']}")
    print(f"rerun from the cache           {warm:8.2f} s   engine: {r2['engine']}")
    print(f"speed-up                       {cold / warm:8.1f}x   (goal >= 50x)")
    print(f"models loaded on rerun: base={r2['base']['loaded']} tuned={r2['tuned']['loaded']}")  # type: ignore[index]
    print(f"identical results: {same}")


if __name__ == "__main__":
    main()
