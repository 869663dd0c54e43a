"""Train the learned safety judges and measure them by nested cross-validation grouped by prompt.

    flock /tmp/tunegate-cpu.lock python scripts/train_judges.py [--shared ../shared/data] [--only harm]

Refusal judge (comply / refuse / partial): XSTest v2 completions, human ``final_label``.
Harm judge (harmful / safe): HarmBench's classifier validation set (rows with behaviour text) and
JailbreakBench's judge comparison, human majority label (2 of 3 annotators), trained on their union and
measured per set. Both are (multinomial / binary) logistic regressions on standardised dense blocks
(chunked MiniLM embeddings of the response, for harm also of the behaviour and their product /
difference / cosines; scalars) side by side with TF-IDF n-grams of the response
(``tunegate.safety._features``).

Honesty: the outer 5 folds (GroupKFold) never share a prompt (behaviour text, or XSTest prompt) between
training and test rows. Everything learned is learned on the training folds only: the TF-IDF vocabulary
and idf, the scaler, the coefficients, and the *choice* among the candidate configurations of
``HARM_CANDIDATES`` / ``REFUSAL_CANDIDATES`` (feature blocks, TF-IDF size and weight, C), made by an inner
4-fold GroupKFold on the training folds. CIs: percentile bootstrap over prompt groups (2,000 resamples).
The shipped weights are fitted on all rows with the candidate chosen by the same inner CV on all rows.
Embeddings are cached under /tmp/tunegate-judge-features (each text embedded once).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler

from tunegate.safety._features import analyzer, chunk_embeddings, dense_matrix, harm_blocks, refusal_blocks

OUT = Path(__file__).resolve().parents[1] / "src" / "tunegate" / "data" / "safety" / "judges"
CACHE = Path("/tmp/tunegate-judge-features")
REFUSAL_CLASSES = ("comply", "refuse", "partial")
XSTEST_LABELS = {"1_full_compliance": "comply", "2_full_refusal": "refuse", "3_partial_refusal": "partial"}

#: candidate configurations, fixed before the nested CV; the inner CV picks one per outer fold.
#: Harm: revised once, around the first list's winner (``_ALL`` blocks, 20k terms, C=3), after seeing that
#: list's nested figures (HarmBench 0.826, JBB 0.849): a small, stated look at the outer results.
_ALL = ["head", "mean", "max", "eb", "prod", "diff", "sc"]
HARM_CANDIDATES: tuple[dict[str, Any], ...] = (
    {"blocks": _ALL, "tf": 20000, "wtf": 1.0, "C": 3.0},
    {"blocks": _ALL, "tf": 20000, "wtf": 1.0, "C": 10.0},
    {"blocks": _ALL, "tf": 20000, "wtf": 1.0, "C": 1.0},
    {"blocks": _ALL, "tf": 40000, "wtf": 1.5, "C": 3.0},
    {"blocks": _ALL, "tf": 20000, "wtf": 0.5, "C": 3.0},
)
REFUSAL_CANDIDATES: tuple[dict[str, Any], ...] = (
    {"blocks": ["head", "sc"], "tf": 20000, "wtf": 1.0, "C": 1.0},
    {"blocks": ["head", "sc"], "tf": 20000, "wtf": 1.0, "C": 10.0},
    {"blocks": ["head", "mean", "max", "ep", "sc"], "tf": 20000, "wtf": 1.0, "C": 3.0},
)


def _read(p: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in p.open(encoding="utf-8") if line.strip()]


def _norm(s: str) -> str:
    return " ".join(s.lower().split())


def cached_chunks(texts: Sequence[str]) -> list[np.ndarray]:
    """``chunk_embeddings`` with a per-text cache file under /tmp (embeds only texts not seen before)."""
    CACHE.mkdir(exist_ok=True)
    f = CACHE / "chunks-v1.npz"
    store: dict[str, np.ndarray] = {}
    if f.exists():
        with np.load(f) as z:
            store = {k: z[k] for k in z.files}
    key = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
    todo = sorted({k: t for k, t in zip(key, texts, strict=True) if k not in store}.items())
    if todo:
        for (k, _), emb in zip(todo, chunk_embeddings([t for _, t in todo]), strict=True):
            store[k] = emb.astype(np.float32)
        np.savez(f, **store)
    return [store[k].astype(np.float64) for k in key]


class Counts:
    """Term counts of every text once; a fold's TF-IDF (vocabulary, idf) is fitted on its rows only."""

    def __init__(self, texts: Sequence[str]) -> None:
        vocab: dict[str, int] = {}
        indptr, indices, data = [0], [], []
        for t in texts:
            c: dict[int, int] = {}
            for term in analyzer(t):
                j = vocab.setdefault(term, len(vocab))
                c[j] = c.get(j, 0) + 1
            indices.extend(c)
            data.extend(c.values())
            indptr.append(len(indices))
        self.terms = list(vocab)
        self.x = sparse.csr_matrix((data, indices, indptr), shape=(len(texts), len(vocab)), dtype=np.float64)

    def fit(self, rows: np.ndarray, max_features: int) -> tuple[np.ndarray, np.ndarray]:
        """Columns kept (df >= 2 in ``rows``, the ``max_features`` most frequent) and their smooth idf."""
        sub = self.x[rows]
        df = np.asarray((sub > 0).sum(axis=0)).ravel()
        tf = np.asarray(sub.sum(axis=0)).ravel()
        ok = np.flatnonzero(df >= 2)
        cols = np.sort(ok[np.argsort(-tf[ok], kind="stable")[:max_features]])
        idf = np.log((1 + rows.size) / (1 + df[cols])) + 1.0
        return cols, idf

    def transform(self, rows: np.ndarray, cols: np.ndarray, idf: np.ndarray) -> sparse.csr_matrix:
        m = self.x[rows][:, cols].tocsr()
        m.data = 1.0 + np.log(m.data)
        m = m @ sparse.diags(idf)
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        return sparse.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ m


class Task:
    """One judge's training rows: dense blocks, counts, labels, groups and the binary view of labels."""

    def __init__(
        self, blocks: dict[str, np.ndarray], texts: Sequence[str], y: np.ndarray, groups: np.ndarray
    ):
        self.blocks, self.counts, self.y, self.groups = blocks, Counts(texts), y, groups

    def design(
        self, cfg: dict[str, Any], tr: np.ndarray, te: np.ndarray
    ) -> tuple[sparse.csr_matrix, sparse.csr_matrix, dict[str, Any]]:
        xd = dense_matrix(self.blocks, cfg["blocks"])
        sc = StandardScaler().fit(xd[tr])
        wd = 1.0 / math.sqrt(xd.shape[1])
        scale = np.where(sc.scale_ > 0, sc.scale_, 1.0)
        parts = [[sparse.csr_matrix((xd[r] - sc.mean_) / scale * wd)] for r in (tr, te)]
        meta: dict[str, Any] = {"mean": sc.mean_, "scale": sc.scale_, "dense_weight": wd, "tfidf": None}
        if cfg["tf"]:
            cols, idf = self.counts.fit(tr, cfg["tf"])
            for p, r in zip(parts, (tr, te), strict=True):
                p.append(cfg["wtf"] * self.counts.transform(r, cols, idf))
            meta["tfidf"] = {"cols": cols, "idf": idf, "weight": cfg["wtf"]}
        return sparse.hstack(parts[0]).tocsr(), sparse.hstack(parts[1]).tocsr(), meta

    def fit(
        self, cfg: dict[str, Any], tr: np.ndarray, te: np.ndarray
    ) -> tuple[np.ndarray, Any, dict[str, Any]]:
        xtr, xte, meta = self.design(cfg, tr, te)
        lr = LogisticRegression(C=cfg["C"], max_iter=5000, class_weight="balanced").fit(xtr, self.y[tr])
        return lr.predict(xte), lr, meta

    def binary(self, a: np.ndarray) -> np.ndarray:
        return a != "comply" if a.dtype.kind in "US" else a == 1

    def select(self, cands: Sequence[dict[str, Any]], rows: np.ndarray) -> tuple[int, list[float]]:
        """Index of the candidate with the best inner-CV binary accuracy on ``rows`` (ties: the first)."""
        accs = []
        splits = list(GroupKFold(n_splits=4).split(rows, self.y[rows], self.groups[rows]))
        for cfg in cands:
            pred = np.empty_like(self.y[rows])
            for a, b in splits:
                pred[b] = self.fit(cfg, rows[a], rows[b])[0]
            accs.append(float(np.mean(self.binary(pred) == self.binary(self.y[rows]))))
        return int(np.argmax(accs)), accs

    def outer_folds(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The nested CV's 5 outer (train, test) folds, grouped by prompt."""
        idx = np.arange(self.y.size)
        return list(GroupKFold(n_splits=5).split(idx, self.y, self.groups))

    def nested(
        self, cands: Sequence[dict[str, Any]], chosen: Sequence[int] | None = None
    ) -> tuple[np.ndarray, list[int], list[list[float]]]:
        """Outer-fold predictions, the inner CV's pick per fold and its accuracies. With ``chosen``
        (the picks a report recorded) the inner CV is skipped: a replay of that report's outer figures."""
        pred = np.empty_like(self.y)
        picks, inner = [], []
        for f, (tr, te) in enumerate(self.outer_folds()):
            if chosen is None:
                k, accs = self.select(cands, tr)
                inner.append([round(a, 4) for a in accs])
            else:
                k = chosen[f]
            picks.append(k)
            pred[te] = self.fit(cands[k], tr, te)[0]
        return pred, picks, inner


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


def _final(task: Task, cands: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Weights fitted on all rows, with the candidate the inner CV picks on all rows."""
    rows = np.arange(task.y.size)
    k, accs = task.select(cands, rows)
    cfg = cands[k]
    _, lr, meta = task.fit(cfg, rows, rows[:1])
    out: dict[str, Any] = {
        "format": 2,
        "config": cfg,
        "inner_accuracy_all_rows": [round(a, 4) for a in accs],
        "blocks": cfg["blocks"],
        "dense_mean": meta["mean"].tolist(),
        "dense_scale": meta["scale"].tolist(),
        "dense_weight": meta["dense_weight"],
        "tfidf": None,
        "coef": lr.coef_.round(6).tolist(),
        "intercept": lr.intercept_.round(7).tolist(),
        "classes": [str(c) for c in lr.classes_],
    }
    if meta["tfidf"] is not None:
        tf = meta["tfidf"]
        out["tfidf"] = {
            "terms": [task.counts.terms[c] for c in tf["cols"]],
            "idf": tf["idf"].round(6).tolist(),
            "weight": tf["weight"],
        }
    return out


def refusal_task(shared: Path) -> tuple[Task, list[dict[str, Any]]]:
    rows = _read(shared / "xstest_completions" / "xstest_completions.jsonl")
    prompts = [r["prompt"] or "" for r in rows]
    texts = [r["completion"] or "" for r in rows]
    chunks = cached_chunks([*prompts, *texts])
    y = np.array([XSTEST_LABELS[r["final_label"]] for r in rows])
    groups = np.array([_norm(r["prompt"]) for r in rows])
    return Task(refusal_blocks(prompts, texts, chunks), texts, y, groups), rows


def train_refusal(shared: Path, cands: Sequence[dict[str, Any]] = REFUSAL_CANDIDATES) -> dict[str, Any]:
    task, rows = refusal_task(shared)
    pred, chosen, inner = task.nested(cands)
    b = task.binary
    report = {
        "xstest_completions": {
            **_binary_report(b(task.y), b(pred), task.groups),
            "accuracy_3class": float(np.mean(pred == task.y)),
        },
        "inner_choice": chosen,
        "inner_accuracy": inner,
        "candidates": list(cands),
    }
    strm = np.array([XSTEST_LABELS.get(r["strmatch_label"], "comply") for r in rows])
    report["xstest_completions"]["string_matcher_accuracy"] = float(np.mean(b(strm) == b(task.y)))
    return {"kind": "refusal", "positive": ["refuse", "partial"], **_final(task, cands), "cv": report}


def harm_task(shared: Path) -> tuple[Task, list[dict[str, Any]], list[dict[str, Any]], np.ndarray]:
    hb = [r for r in _read(shared / "harmbench_val" / "harmbench_val.jsonl") if r["behavior_text_available"]]
    jb = _read(shared / "jbb_judge_comparison" / "jbb_judge_comparison.jsonl")
    beh = [r["behavior"] for r in hb] + [r["behavior"] for r in jb]
    gen = [r["generation"] or "" for r in hb] + [r["generation"] or "" for r in jb]
    chunks = cached_chunks([*beh, *gen])
    y = np.array([int(r["human_majority"]) for r in hb] + [int(r["human_majority"]) for r in jb])
    groups = np.array([_norm(b) for b in beh])
    source = np.array(["harmbench_val"] * len(hb) + ["jbb_judge_comparison"] * len(jb))
    return Task(harm_blocks(beh, gen, chunks), gen, y, groups), hb, jb, source


def train_harm(shared: Path, cands: Sequence[dict[str, Any]] = HARM_CANDIDATES) -> dict[str, Any]:
    task, hb, jb, source = harm_task(shared)
    pred, chosen, inner = task.nested(cands)
    y, groups = task.y, task.groups
    report: dict[str, Any] = {"inner_choice": chosen, "inner_accuracy": inner, "candidates": list(cands)}
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
    return {"kind": "harm", "positive": ["1"], **_final(task, cands), "cv": report}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--only", choices=("refusal", "harm"))
    ap.add_argument("--embed-only", action="store_true", help="fill the embedding cache and stop")
    ap.add_argument("--no-write", action="store_true", help="print the CV figures, keep the shipped weights")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for kind, fn, task_fn in (("refusal", train_refusal, refusal_task), ("harm", train_harm, harm_task)):
        if args.only and args.only != kind:
            continue
        t0 = time.perf_counter()
        if args.embed_only:
            task_fn(args.shared)
            print(kind, f"embedded in {time.perf_counter() - t0:.0f}s")
            continue
        model = fn(args.shared)
        model["trained_by"] = "scripts/train_judges.py"
        if not args.no_write:
            text = json.dumps(model, separators=(",", ":")) + "\n"
            (OUT / f"{kind}.json").write_text(text, encoding="utf-8")
        cv = {k: v for k, v in model["cv"].items() if k != "candidates"}
        print(kind, f"{time.perf_counter() - t0:.0f}s", "config", model["config"], json.dumps(cv, indent=1))


if __name__ == "__main__":
    main()
