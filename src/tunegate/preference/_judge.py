"""LLM-as-judge, pairwise: the judge sees both answers in both orders (MT-Bench style); it must name
the same model both times, otherwise the item counts as a tie (position-inconsistent verdict)."""

from __future__ import annotations

import re
from typing import Any

from tunegate.preference._study import StudyStore

__all__ = ["JUDGE_TEMPLATE", "parse_verdict", "run_judge"]

JUDGE_TEMPLATE = (
    "You compare two answers to a user's query. Reply with exactly one of: 1, 2 or tie.\n\n"
    "Query:\n{query}\n\nAnswer 1:\n{first}\n\nAnswer 2:\n{second}\n\n"
    "Which answer is better? Reply 1, 2 or tie.\n"
    "Verdict:"
)


def parse_verdict(text: str) -> str:
    """ "1", "2" or "tie" from the judge's reply (anything unreadable is a tie)."""
    m = re.search(r"\b(1|2|tie)\b", text.strip().lower())
    return m.group(1) if m else "tie"


def _text(query: Any) -> str:
    return query if isinstance(query, str) else "\n".join(f"{m['role']}: {m['content']}" for m in query)


def run_judge(ss: StudyStore, study_id: str, judge_spec: str, *, progress: Any = None) -> int:
    """Judge every item of the study through the engine (cached); returns the number judged."""
    from tunegate.engine import Engine
    from tunegate.models import GenerateRequest, Model

    sid = ss.get_study(study_id)["id"]
    items = ss.items(sid)
    reqs = []
    for it in items:
        q = _text(it["query"])
        for first, second in ((it["answer_x"], it["answer_y"]), (it["answer_y"], it["answer_x"])):
            reqs.append(
                GenerateRequest(JUDGE_TEMPLATE.format(query=q, first=first, second=second), max_new_tokens=8)
            )
    eng = Engine(Model(judge_spec), ss.store, progress=progress, label="judge")
    out = eng.run(reqs, description="judge")
    rows = []
    for k, it in enumerate(items):
        v1 = parse_verdict(out[2 * k].text)  # type: ignore[union-attr]
        v2 = parse_verdict(out[2 * k + 1].text)  # type: ignore[union-attr]
        w1 = {"1": it["model_x"], "2": it["model_y"]}.get(v1, "tie")
        w2 = {"1": it["model_y"], "2": it["model_x"]}.get(v2, "tie")
        winner = w1 if w1 == w2 else "tie"
        rows.append((it["id"], winner, {"orders": [v1, v2], "pair": [it["model_x"], it["model_y"]]}))
    ss.put_judgements(sid, judge_spec, rows)
    return len(rows)
