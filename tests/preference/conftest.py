"""A small two-model study on both store backends, with model identities that must never leak."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tunegate.preference import ItemSpec, StudySettings, StudyStore
from tunegate.store import open_store

#: strings that identify the models or the run: none may reach a rater
SECRETS = {
    "base": "hf:secret-org/base-model-7f3a",
    "tuned": "hf:secret-org/tuned-ckpt-9c1e@adapter",
}
RUN_ID = "runid4c0ffee"
FINGERPRINTS = ("fp0123456789abcdef0123", "fpfedcba9876543210fedc")


@dataclass
class Study:
    ss: StudyStore
    id: str
    owner: str
    tokens: dict[str, str]


def make_items(n: int = 6) -> list[ItemSpec]:
    out = []
    for i in range(n):
        out.append(
            ItemSpec(
                query=f"Question {i}: explain `sorted()` in **Python**",
                model_x="base",
                model_y="tuned",
                answer_x=f"Base answer {i} <script>alert('x{i}')</script>",
                answer_y=f"Tuned answer {i}\n\n```python\nprint(sorted([3, 1]))\n```",
                tags=("code",) if i % 2 else ("chat",),
            )
        )
    return out


def build_study(url: str, *, n: int = 6, overlap: int = 2, per_rater: int = 6, raters: int = 2) -> Study:
    ss = StudyStore(open_store(url))
    settings = StudySettings(
        name="demo",
        models=dict(SECRETS),
        reference="base",
        candidate="tuned",
        overlap=overlap,
        items_per_rater=per_rater,
        source_run_id=RUN_ID,
        extra={"fingerprints": list(FINGERPRINTS)},
    )
    sid, owner = ss.create_study(settings, make_items(n))
    made = ss.invite(sid, [f"rater{j}" for j in range(raters)])
    return Study(ss, sid, owner, {r.name: tok for r, tok in made})


@pytest.fixture()
def study(db_url: str) -> Iterator[Study]:
    s = build_study(db_url)
    try:
        yield s
    finally:
        s.ss.store.close()
