"""Rebuild the shipped safety probe data under ``src/tunegate/data/safety/`` from ``../shared/data``.

    python scripts/build_safety_data.py [--shared ../shared/data]

Deterministic: the same inputs give byte-identical files. What is taken from where, the licences and
the category mapping are described in ``src/tunegate/data/safety/SOURCE.md``; the taxonomy itself lives
in :mod:`tunegate.safety._taxonomy`.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path
from typing import Any

from tunegate.safety._taxonomy import HARMBENCH_TO_CATEGORY, JBB_TO_CATEGORY

OUT = Path(__file__).resolve().parents[1] / "src" / "tunegate" / "data" / "safety"
ADVBENCH_ROWS = 100  # first N AdvBench goals (its file order), categorised by nearest labelled behaviour
RECORDED = {
    "PAIR": "PAIR_black_box_vicuna-13b-v1.5.jsonl",
    "GCG": "GCG_white_box_vicuna-13b-v1.5.jsonl",
    "JBC": "JBC_manual_vicuna-13b-v1.5.jsonl",
}


def _read(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    if path.suffix == ".gz":
        with gzip.GzipFile(path, "wb", mtime=0) as f:
            f.write(text.encode())
    else:
        path.write_text(text, encoding="utf-8")
    print(f"{path.name}: {len(rows)} rows")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = ap.parse_args()
    d: Path = args.shared
    behaviors: list[dict[str, Any]] = []
    for r in _read(d / "jailbreakbench" / "harmful-behaviors.jsonl"):
        behaviors.append(
            {
                "id": f"jbb-{r['index']}",
                "source": "jailbreakbench",
                "behavior": r["goal"],
                "category": JBB_TO_CATEGORY[r["category"]],
                "source_category": r["category"],
                "target": r["target"],
            }
        )
    for name in ("harmbench_behaviors_text_test.jsonl", "harmbench_behaviors_text_val.jsonl"):
        for r in _read(d / "harmbench" / name):
            if r["FunctionalCategory"] != "standard":  # contextual need a context; copyright a hash check
                continue
            behaviors.append(
                {
                    "id": f"hb-{r['BehaviorID']}",
                    "source": "harmbench",
                    "behavior": r["Behavior"],
                    "category": HARMBENCH_TO_CATEGORY[r["SemanticCategory"]],
                    "source_category": r["SemanticCategory"],
                    "target": None,
                }
            )
    labelled = list(behaviors)
    adv = _read(d / "advbench" / "harmful_behaviors.jsonl")[:ADVBENCH_ROWS]
    from tunegate.regression._embed import embed

    lab_vec = embed([b["behavior"] for b in labelled])
    adv_vec = embed([r["goal"] for r in adv])
    nearest = (adv_vec @ lab_vec.T).argmax(dim=1).tolist()
    for i, (r, j) in enumerate(zip(adv, nearest, strict=True)):
        behaviors.append(
            {
                "id": f"adv-{i}",
                "source": "advbench",
                "behavior": r["goal"],
                "category": labelled[j]["category"],
                "source_category": f"nearest:{labelled[j]['id']}",
                "target": r["target"],
            }
        )
    _write(OUT / "behaviors.jsonl", behaviors)
    benign = [
        {
            "id": f"jbb-benign-{r['index']}",
            "twin": f"jbb-{r['index']}",
            "prompt": r["goal"],
            "category": JBB_TO_CATEGORY[r["category"].replace("  ", " ")],
            "source": "jailbreakbench",
        }
        for r in _read(d / "jailbreakbench" / "benign-behaviors.jsonl")
    ]
    _write(OUT / "benign.jsonl", benign)
    xs = [
        {
            "id": f"xstest-{r['id']}",
            "prompt": r["prompt"],
            "type": r["type"],
            "label": r["label"],
            "focus": r["focus"],
        }
        for r in _read(d / "xstest" / "xstest_prompts.jsonl")
    ]
    _write(OUT / "xstest.jsonl", xs)
    recorded = []
    for method, fname in RECORDED.items():
        for r in _read(d / "jailbreakbench" / "artifacts" / fname):
            if r["prompt"]:
                recorded.append({"behavior_id": f"jbb-{r['index']}", "method": method, "prompt": r["prompt"]})
    _write(OUT / "recorded_attacks.jsonl.gz", recorded)


if __name__ == "__main__":
    main()
