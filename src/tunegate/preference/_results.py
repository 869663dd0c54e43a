"""A study's results: every statistic of :mod:`tunegate.stats` applied to its counted votes.

The headline is the *candidate* (e.g. the tuned model) against the *reference* (the base) on the items
that pair them. A vote scores 1 when the candidate won, 0 when the reference won and 1/2 for "tie" and
for "both bad" (no preference either way). Votes are taken in the order they first arrived for the
confidence sequence (a revision keeps its vote's place). With more than two models, Bradley–Terry
ratings cover every pair. The automatic judge's verdicts, where present, are reported beside the
humans with their agreement (kappa and accuracy against the human majority of each item).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable
from dataclasses import asdict
from typing import Any

from tunegate.preference._study import StudyStore
from tunegate.stats._agreement import cohen_kappa, krippendorff_alpha, near_chance_raters, pairwise_kappas
from tunegate.stats._bradley_terry import bradley_terry
from tunegate.stats._confseq import confidence_sequence
from tunegate.stats._prefbias import length_controlled, per_tag, position_bias
from tunegate.stats._winrate import WinRate, clustered_win_rate, des_raj_win_rate, win_rate

__all__ = ["MIN_HUMAN_VOTES", "result_for_run", "study_results"]

#: below this many human votes on the headline pair, the scorecard uses the judge (when there is one)
MIN_HUMAN_VOTES = 30


def _score(winner: str, candidate: str, reference: str) -> float:
    return 1.0 if winner == candidate else 0.0 if winner == reference else 0.5


def _judge_section(
    judged: list[dict[str, Any]], votes: list[dict[str, Any]], cand: str, ref: str, pair: set[str]
) -> dict[str, Any] | None:
    if not judged:
        return None
    rows = [j for j in judged if j["detail"].get("pair") is None or set(j["detail"]["pair"]) == pair]
    scores = [_score(j["winner"], cand, ref) for j in rows]
    out: dict[str, Any] = {"judge": rows[0]["judge"] if rows else None, "win_rate": asdict(win_rate(scores))}
    by_item: dict[int, Counter[str]] = defaultdict(Counter)
    for v in votes:
        by_item[v["item_id"]][_label(v["winner"])] += 1
    majority: dict[int, str] = {}
    for item, cnt in by_item.items():
        top = cnt.most_common(2)
        if len(top) == 1 or top[0][1] > top[1][1]:
            majority[item] = top[0][0]
    shared = [j for j in rows if j["item_id"] in majority]
    jl = [_label(j["winner"]) for j in shared]
    hl = [majority[j["item_id"]] for j in shared]
    out["agreement"] = {
        "items": len(shared),
        "accuracy_vs_human_majority": (sum(a == b for a, b in zip(jl, hl, strict=True)) / len(shared))
        if shared
        else None,
        "kappa_vs_human_majority": cohen_kappa(jl, hl) if shared else None,
    }
    return out


def _label(winner: str) -> str:
    # ties and "both bad" are one label for agreement: the judge cannot say "both bad"
    return "no preference" if winner in ("tie", "both_bad") else winner


def _design_weighted(ss: StudyStore, sid: str, votes: list[dict[str, Any]], cand: str, ref: str) -> WinRate:
    """Uncertainty allocation: the Des Raj estimate over each rater's draws, in draw order."""
    pair = {cand, ref}
    n_head = sum({it["model_x"], it["model_y"]} == pair for it in ss.items(sid))
    vote_of = {(v["rater_id"], v["item_id"]): v for v in votes}
    steps: dict[str, list[tuple[float | None, float]]] = defaultdict(list)
    for a in ss.assignments(sid):  # ordered by rater, then position (draw order)
        v = vote_of.get((a["rater_id"], a["item_id"]))
        if v is None or a["prob"] is None:  # drawn, not yet voted: its draw is not complete
            continue
        head = {v["model_x"], v["model_y"]} == pair
        steps[a["rater_id"]].append((_score(v["winner"], cand, ref) if head else None, float(a["prob"])))
    return des_raj_win_rate(list(steps.values()), max(1, n_head))


def study_results(ss: StudyStore, study_id: str, *, n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Everything the report shows, as plain JSON-able data."""
    study = ss.get_study(study_id)
    sid = study["id"]
    cfg = study["config"]
    cand, ref = cfg["candidate"], cfg["reference"]
    pair = {cand, ref}
    votes = ss.votes(sid)
    head = [v for v in votes if {v["model_x"], v["model_y"]} == pair]
    head.sort(key=lambda v: (v["created_at"], v["rater_id"], v["item_id"]))
    scores = [_score(v["winner"], cand, ref) for v in head]
    items = [v["item_id"] for v in head]
    several = len(set(items)) < len(items)
    wr = win_rate(scores)
    cl = clustered_win_rate(scores, items, n_boot=n_boot, seed=seed) if several else None
    allocation = cfg.get("allocation", "balanced")
    weighted = _design_weighted(ss, sid, votes, cand, ref) if allocation == "uncertainty" else None
    cs = confidence_sequence(scores)
    labels: dict[Hashable, dict[Hashable, Hashable]] = defaultdict(dict)
    for v in votes:
        labels[v["rater"]][v["item_id"]] = v["winner"]
    kappas = pairwise_kappas(labels)
    alpha = krippendorff_alpha(labels)
    flags = near_chance_raters(labels)
    pos = position_bias(
        [None if v["winner"] in ("tie", "both_bad") else v["winner"] == v["left_model"] for v in votes]
    )

    def _len(v: dict[str, Any], model: str) -> int:
        return len(v["answer_x"] if v["model_x"] == model else v["answer_y"])

    lc = length_controlled(scores, [_len(v, cand) - _len(v, ref) for v in head])
    tags = per_tag(scores, [v["tags"] or [] for v in head])
    bt = None
    models = sorted({v["model_x"] for v in votes} | {v["model_y"] for v in votes})
    if len(models) > 2:
        ma = [v["model_x"] for v in votes]
        mb = [v["model_y"] for v in votes]
        sa_ = [_score(v["winner"], v["model_x"], v["model_y"]) for v in votes]
        bt = [
            asdict(r)
            for r in bradley_terry(ma, mb, sa_, items=[v["item_id"] for v in votes], n_boot=200, seed=seed)
        ]
    judge = _judge_section(ss.judgements(sid), head, cand, ref, pair)
    n_items = len(ss.items(sid))
    raters = ss.raters(sid)
    used = "human"
    if wr.n < MIN_HUMAN_VOTES and judge is not None:
        used = "judge"
    headline = asdict(weighted or cl or wr)
    if used == "judge" and judge is not None:
        headline = judge["win_rate"]
    return {
        "study": {
            "id": sid,
            "name": study["name"],
            "source_run_id": study["source_run_id"],
            "models": cfg["models"],
            "candidate": cand,
            "reference": ref,
            "overlap": cfg["overlap"],
            "allocation": allocation,
            "items_per_rater": cfg["items_per_rater"],
            "items": n_items,
            "raters": len(raters),
            "raters_revoked": sum(r.revoked for r in raters),
        },
        "votes": len(votes),
        "ties_and_both_bad": "counted as half a win (no preference); excluded from the sign test",
        "win_rate": asdict(wr),
        "clustered": asdict(cl) if cl else None,
        "design_weighted": asdict(weighted) if weighted else None,
        "confidence_sequence": asdict(cs),
        "choices": dict(
            Counter(v["winner"] if v["winner"] in ("tie", "both_bad") else "decisive" for v in head)
        ),
        "bradley_terry": bt,
        "agreement": {
            "krippendorff_alpha": alpha,
            "pairs": [asdict(k) for k in kappas],
            "raters": [asdict(f) for f in flags],
        },
        "position_bias": asdict(pos),
        "length": asdict(lc),
        "tags": {k: asdict(v) for k, v in tags.items()},
        "judge": judge,
        "preference": {
            "study_id": sid,
            "source": used,
            "human_votes": wr.n,
            "min_human_votes": MIN_HUMAN_VOTES,
            "alpha": wr.alpha,
            "win_rate": headline["rate"],
            "ci_low": headline["ci_low"],
            "ci_high": headline["ci_high"],
            "p_value": headline["p_value"],
            "n": headline["n"],
            "significant_loss": headline["ci_high"] < 0.5,
            "method": headline["method"],
            # the confidence sequence needs votes that arrive exchangeably: not so when contested
            # items are drawn more often, so an uncertainty-allocated study is never "decided" by it
            "decided": cs.decided if used == "human" and weighted is None else False,
        },
    }


def result_for_run(ss: StudyStore, run_id: str) -> dict[str, Any] | None:
    """The latest study made from compare run ``run_id``, its results (None when there is none).

    ``["preference"]`` is what the scorecard's preference row shows: win rate, CI, p, n and which
    source (human votes, or the automatic judge when humans gave fewer than MIN_HUMAN_VOTES)."""
    studies = ss.studies_for_run(run_id)
    if not studies:
        return None
    return study_results(ss, studies[-1]["id"])
