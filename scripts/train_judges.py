"""Train the learned safety judges and measure them by cross-validation split by prompt.

    flock /tmp/tunegate-cpu.lock python scripts/train_judges.py [--shared ../shared/data]

Refusal judge (comply / refuse / partial): XSTest v2 completions, human ``final_label``.
Harm judge (harmful / safe): HarmBench's classifier validation set and JailbreakBench's judge comparison,
human majority label. Both are multinomial / binary logistic regressions on standardised features
(``tunegate.safety._features``). Accuracy is measured by nested GroupKFold: the outer 5 folds never
share a prompt (a behaviour, or an XSTest prompt) between training and test rows; the regularisation C
is chosen by an inner GroupKFold on the training folds only. CIs: percentile bootstrap over prompt
groups (2,000 resamples). The final weights are fitted on all rows with C chosen on all rows, and written
with the CV figures to ``src/tunegate/data/safety/judges/*.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler

from tunegate.safety._features import harm_features, refusal_features

OUT = Path(__file__).resolve().parents[1] / "src" / "tunegate" / "data" / "safety" / "judges"
CACHE = Path("/tmp/tunegate-judge-features")
GRID = (0.001, 0.003, 0.01, 0.03, 0.1)
REFUSAL_CLASSES = ("comply", "refuse", "partial")
XSTEST_LABELS = {"1_full_compliance": "comply", "2_full_refusal": "refuse", "3_partial_refusal": "partial"}


def _read(p: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in p.open(encoding="utf-8") if line.strip()]


def _norm(s: str) -> str:
    return " ".join(s.lower().split())


def _cached(name: str, key: str, fn: Any) -> np.ndarray:
    CACHE.mkdir(exist_ok=True)
    f = CACHE / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npy"
    if f.exists():
        return np.load(f)
    x = fn()
    np.save(f, x)
    return x


def _fit(x: np.ndarray, y: np.ndarray, c: float) -> tuple[StandardScaler, LogisticRegression]:
    sc = StandardScaler().fit(x)
    lr = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(sc.transform(x), y)
    return sc, lr


def _choose_c(x: np.ndarray, y: np.ndarray, groups: np.ndarray, binary_of: Any) -> float:
    best, best_acc = GRID[0], -1.0
    for c in GRID:
        pred = np.empty_like(y)
        for tr, te in GroupKFold(n_splits=4).split(x, y, groups):
            sc, lr = _fit(x[tr], y[tr], c)
            pred[te] = lr.predict(sc.transform(x[te]))
        acc = float(np.mean(binary_of(pred) == binary_of(y)))
        if acc > best_acc:
            best, best_acc = c, acc
    return best


def _nested_cv(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, binary_of: Any
) -> tuple[np.ndarray, list[float]]:
    pred = np.empty_like(y)
    chosen = []
    for tr, te in GroupKFold(n_splits=5).split(x, y, groups):
        c = _choose_c(x[tr], y[tr], groups[tr], binary_of)
        chosen.append(c)
        sc, lr = _fit(x[tr], y[tr], c)
        pred[te] = lr.predict(sc.transform(x[te]))
    return pred, chosen


def _bootstrap_ci(stat: Any, groups: np.ndarray, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    uniq = np.unique(groups)
    members = [np.flatnonzero(groups == g) for g in uniq]
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(uniq), len(uniq))
        idx = np.concatenate([members[i] for i in pick])
        v = stat(idx)
        if v is not None:
            vals.append(v)
    lo, hi = np.quantile(vals, [0.025, 0.975])
    return float(lo), float(hi)


def _binary_report(truth: np.ndarray, pred: np.ndarray, groups: np.ndarray) -> dict[str, Any]:
    """Accuracy, sensitivity, specificity (positive = refusal / harmful) with clustered CIs and counts."""
    t, p = truth.astype(bool), pred.astype(bool)

    def acc(i: np.ndarray) -> float:
        return float(np.mean(t[i] == p[i]))

    def sens(i: np.ndarray) -> float | None:
        m = t[i]
        return float(np.mean(p[i][m])) if m.any() else None

    def spec(i: np.ndarray) -> float | None:
        m = ~t[i]
        return float(np.mean(~p[i][m])) if m.any() else None

    allidx = np.arange(t.size)
    out: dict[str, Any] = {
        "n": int(t.size),
        "groups": int(np.unique(groups).size),
        "tp": int((t & p).sum()),
        "fn": int((t & ~p).sum()),
        "tn": int((~t & ~p).sum()),
        "fp": int((~t & p).sum()),
    }
    for name, fn in (("accuracy", acc), ("sensitivity", sens), ("specificity", spec)):
        out[name] = fn(allidx)
        out[f"{name}_ci"] = list(_bootstrap_ci(fn, groups))
    return out


def _export(sc: StandardScaler, lr: LogisticRegression) -> dict[str, Any]:
    return {
        "mean": sc.mean_.tolist(),
        "scale": sc.scale_.tolist(),
        "coef": lr.coef_.round(7).tolist(),
        "intercept": lr.intercept_.round(7).tolist(),
        "classes": [str(c) for c in lr.classes_],
    }


def train_refusal(shared: Path) -> dict[str, Any]:
    rows = _read(shared / "xstest_completions" / "xstest_completions.jsonl")
    texts = [r["completion"] or "" for r in rows]
    x = _cached("refusal", "\n".join(texts), lambda: refusal_features(texts))
    y = np.array([XSTEST_LABELS[r["final_label"]] for r in rows])
    groups = np.array([r["prompt_id"] for r in rows])

    def binary_of(a: np.ndarray) -> np.ndarray:
        return a != "comply"

    pred, chosen = _nested_cv(x, y, groups, binary_of)
    report = {
        "xstest_completions": {
            **_binary_report(binary_of(y), binary_of(pred), groups),
            "accuracy_3class": float(np.mean(pred == y)),
        },
        "inner_c": chosen,
    }
    strm = np.array([XSTEST_LABELS.get(r["strmatch_label"], "comply") for r in rows])
    report["xstest_completions"]["string_matcher_accuracy"] = float(np.mean(binary_of(strm) == binary_of(y)))
    c = _choose_c(x, y, groups, binary_of)
    sc, lr = _fit(x, y, c)
    return {"kind": "refusal", "positive": ["refuse", "partial"], "C": c, **_export(sc, lr), "cv": report}


def train_harm(shared: Path) -> dict[str, Any]:
    hb = [r for r in _read(shared / "harmbench_val" / "harmbench_val.jsonl") if r["behavior_text_available"]]
    jb = _read(shared / "jbb_judge_comparison" / "jbb_judge_comparison.jsonl")
    beh = [r["behavior"] for r in hb] + [r["behavior"] for r in jb]
    gen = [r["generation"] or "" for r in hb] + [r["generation"] or "" for r in jb]
    x = _cached("harm", "\n".join(beh) + "\0" + "\n".join(gen), lambda: harm_features(beh, gen))
    y = np.array([int(r["human_majority"]) for r in hb] + [int(r["human_majority"]) for r in jb])
    groups = np.array([_norm(b) for b in beh])
    source = np.array(["harmbench_val"] * len(hb) + ["jbb_judge_comparison"] * len(jb))

    def binary_of(a: np.ndarray) -> np.ndarray:
        return a == 1

    pred, chosen = _nested_cv(x, y, groups, binary_of)
    report: dict[str, Any] = {"inner_c": chosen}
    for name in ("harmbench_val", "jbb_judge_comparison"):
        m = source == name
        report[name] = _binary_report(y[m] == 1, pred[m] == 1, groups[m])
    report["pooled"] = _binary_report(y == 1, pred == 1, groups)
    report["harmbench_val"]["stored_cls_accuracy"] = float(
        np.mean([r["cls"] == r["human_majority"] for r in hb])
    )
    report["jbb_judge_comparison"]["stored_llama3_accuracy"] = float(
        np.mean([r["llama3_cf"] == r["human_majority"] for r in jb])
    )
    c = _choose_c(x, y, groups, binary_of)
    sc, lr = _fit(x, y, c)
    return {"kind": "harm", "positive": ["1"], "C": c, **_export(sc, lr), "cv": report}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--only", choices=("refusal", "harm"))
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for kind, fn in (("refusal", train_refusal), ("harm", train_harm)):
        if args.only and args.only != kind:
            continue
        t0 = time.perf_counter()
        model = fn(args.shared)
        model["trained_by"] = "scripts/train_judges.py"
        (OUT / f"{kind}.json").write_text(json.dumps(model, separators=(",", ":")) + "\n", encoding="utf-8")
        cv = {k: v for k, v in model["cv"].items()}
        print(kind, f"{time.perf_counter() - t0:.0f}s", json.dumps(cv, indent=1))


if __name__ == "__main__":
    main()
