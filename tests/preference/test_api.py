"""The rating app's pages and APIs in-process (starlette's TestClient drives the real ASGI app, on a
real SQLite file and a real PostgreSQL schema): invite, vote, revise, tokens, CSRF, limits, blinding."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from fastapi.testclient import TestClient

from tests.preference.conftest import FINGERPRINTS, RUN_ID, SECRETS, Study
from tunegate.preference import Limits, create_app, study_results


def _client(study: Study, rater: str | None = None, limits: Limits | None = None) -> TestClient:
    c = TestClient(create_app(study.ss, limits), follow_redirects=False)
    if rater:
        r = c.get(f"/invite/{study.tokens[rater]}")
        assert r.status_code == 303 and r.headers["location"] == "/rate"
    return c


def _csrf(c: TestClient) -> str:
    return str(c.get("/api/next").json()["csrf"])


def test_invite_sets_cookie_and_rate_page_shows_blinded_item(study: Study) -> None:
    c = _client(study, "rater0")
    page = c.get("/rate")
    assert page.status_code == 200
    assert "Answer A" in page.text and "Answer B" in page.text
    assert "<script>alert" not in page.text and "&lt;script&gt;alert" in page.text  # no raw HTML
    assert '<code class="language-python">' in page.text  # code rendered
    assert "0 of 6 rated" in page.text
    assert page.headers["cache-control"] == "no-store"


def test_votes_count_once_revisions_replace_and_history_keeps_all(study: Study) -> None:
    c = _client(study, "rater0")
    csrf = _csrf(c)
    for pos in range(3):
        r = c.post("/api/vote", json={"position": pos, "choice": "A"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200, r.text
    assert c.get("/api/progress").json() == {"done": 3, "total": 6}
    r = c.post(
        "/api/vote", json={"position": 1, "choice": "tie", "reason": "same"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.json()["revision"] == 2 and r.json()["done"] == 3
    votes = study.ss.votes(study.id)
    assert len(votes) == 3 and Counter(v["choice"] for v in votes) == {"A": 2, "tie": 1}
    assert len(study.ss.history(study.id)) == 4
    # the form path: choice through the page's form, then the revise page shows it pre-selected
    form = c.post("/vote", data={"position": 3, "choice": "both_bad", "csrf": csrf, "reason": "meh"})
    assert form.status_code == 303
    revise = c.get("/rate?revise=1").text
    assert 'value="both_bad" checked' in revise and "meh" in revise and "Revising" in revise


def test_a_and_b_map_to_models_by_each_raters_flip(study: Study) -> None:
    c = _client(study, "rater0")
    csrf = _csrf(c)
    queue = study.ss.queue(next(r for r in study.ss.raters(study.id) if r.name == "rater0"))
    for a in queue:
        c.post("/api/vote", json={"position": a.position, "choice": "A"}, headers={"X-CSRF-Token": csrf})
    for v, a in zip(
        sorted(study.ss.votes(study.id), key=lambda v: v["item_id"]),
        sorted(queue, key=lambda a: a.item_id),
        strict=True,
    ):
        shown_a_is_tuned = a.answer_a.startswith("Tuned")
        assert v["winner"] == ("tuned" if shown_a_is_tuned else "base")
        assert v["left_model"] == v["winner"]


def test_csrf_and_tokens_are_enforced(study: Study) -> None:
    c0 = _client(study, "rater0")
    c1 = _client(study, "rater1")
    csrf0, csrf1 = _csrf(c0), _csrf(c1)
    assert csrf0 != csrf1
    body = {"position": 0, "choice": "A"}
    assert c0.post("/api/vote", json=body).status_code == 403  # no CSRF token
    assert c0.post("/api/vote", json=body, headers={"X-CSRF-Token": "x" * 32}).status_code == 403
    assert (
        c0.post("/api/vote", json=body, headers={"X-CSRF-Token": csrf1}).status_code == 403
    )  # another rater's
    assert c0.post("/vote", data={"position": 0, "choice": "A"}).status_code == 403  # form without csrf
    anon = _client(study)
    assert anon.get("/rate").status_code == 403
    assert anon.post("/api/vote", json=body, headers={"X-CSRF-Token": csrf0}).status_code == 403
    assert anon.get("/invite/not-a-token").status_code == 403
    assert study.ss.votes(study.id) == []
    # revoking: the token stops working at once
    study.ss.revoke(study.id, "rater1")
    assert c1.get("/rate").status_code == 403
    assert c1.post("/api/vote", json=body, headers={"X-CSRF-Token": csrf1}).status_code == 403
    assert _client(study).get(f"/invite/{study.tokens['rater1']}").status_code == 403


def test_bad_input_is_refused_cleanly(study: Study) -> None:
    c = _client(study, "rater0")
    h = {"X-CSRF-Token": _csrf(c)}
    assert c.post("/api/vote", json={"position": 0, "choice": "C"}, headers=h).status_code == 400
    assert c.post("/api/vote", json={"position": 99, "choice": "A"}, headers=h).status_code == 400
    assert c.post("/api/vote", json={"position": "0", "choice": "A"}, headers=h).status_code == 400
    too_long = {"position": 0, "choice": "A", "reason": "x" * 2001}
    assert c.post("/api/vote", json=too_long, headers=h).status_code == 400
    huge = {"position": 0, "choice": "A", "reason": "x" * 20000}
    assert c.post("/api/vote", json=huge, headers=h).status_code == 413
    assert c.post("/api/vote", content=b"not json", headers=h).status_code == 400
    assert study.ss.votes(study.id) == []


def test_rate_limits(study: Study) -> None:
    c = _client(study, "rater0", Limits(rater_rate=0.001, rater_burst=5, failures_per_minute=3))
    codes = [c.get("/api/progress").status_code for _ in range(8)]
    assert codes[:4] == [200] * 4 and codes[-1] == 429
    anon = _client(study, limits=Limits(failures_per_minute=3))
    codes = [anon.get("/invite/wrong").status_code for _ in range(5)]
    assert codes[:3] == [403] * 3 and codes[-1] == 429


def test_owner_api_needs_the_owner_token(study: Study) -> None:
    c = _client(study)
    assert c.get(f"/owner/{study.id}/results").status_code == 403
    assert c.get(f"/owner/{study.id}/results", headers={"Authorization": "Bearer nope"}).status_code == 403
    rater = _client(study, "rater0")
    assert rater.get(f"/owner/{study.id}/results").status_code == 403  # a rater's cookie is not enough
    h = {"Authorization": f"Bearer {study.owner}"}
    r = c.post(f"/owner/{study.id}/raters", json={"names": ["late"]}, headers=h)
    assert r.status_code == 200
    link = r.json()["raters"][0]["invite"]
    late = TestClient(create_app(study.ss), follow_redirects=False)
    assert late.get(link).status_code == 303 and late.get("/rate").status_code == 200
    res = c.get(f"/owner/{study.id}/results", headers=h).json()
    assert res["study"]["raters"] == 3 and res["votes"] == 0


def _crawl(c: TestClient) -> list[str]:
    """Every page, asset and API response a rater can reach from the rating page, with headers."""
    seen: dict[str, str] = {}
    todo = ["/", "/rate", "/rate?revise=1", "/api/next", "/api/progress"]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        r = c.get(url)
        seen[url] = url + "\n" + "\n".join(f"{k}: {v}" for k, v in r.headers.items()) + "\n" + r.text
        for link in re.findall(r'(?:href|src|action)="([^"#]+)"', r.text):
            if link.startswith("/") and link not in seen:
                todo.append(link)
    return list(seen.values())


def test_blinding_no_model_identity_reaches_a_rater(study: Study) -> None:
    c = _client(study, "rater0")
    invite = c.get(f"/invite/{study.tokens['rater0']}")
    texts = ["\n".join(f"{k}: {v}" for k, v in invite.headers.items())]
    csrf = _csrf(c)
    for pos in range(6):
        texts.extend(_crawl(c))
        r = c.post("/api/vote", json={"position": pos, "choice": "B"}, headers={"X-CSRF-Token": csrf})
        texts.append(r.text + str(r.headers))
        f = c.post("/vote", data={"position": pos, "choice": "A", "csrf": csrf})
        texts.append(f.text + str(f.headers))
    texts.extend(_crawl(c))
    texts.append(str(dict(c.cookies)))
    blob = "\n".join(texts)
    assert "/static/app.js" in blob and "Answer A" in blob  # the crawl did reach pages and assets
    forbidden = [*SECRETS.values(), *FINGERPRINTS, RUN_ID, study.id, "secret-org", "model_x", "model_y"]
    for s in forbidden:
        assert s not in blob, s
    # the words a rater sees are A and B, never the internal keys as labels
    assert not re.search(
        r"\b(tuned|base)\b", blob.replace("Tuned answer", "").replace("Base answer", ""), re.I
    )


@pytest.mark.parametrize("who", ["rater0", "rater1"])
def test_results_from_votes(study: Study, who: str) -> None:
    c = _client(study, who)
    h = {"X-CSRF-Token": _csrf(c)}
    rater = next(r for r in study.ss.raters(study.id) if r.name == who)
    for a in study.ss.queue(rater):
        c.post(
            "/api/vote",
            json={"position": a.position, "choice": "A" if a.answer_a.startswith("Tuned") else "B"},
            headers=h,
        )
    res = study_results(study.ss, study.id, n_boot=200)
    assert res["win_rate"]["wins"] == 6 and res["win_rate"]["rate"] == 1.0
    assert res["preference"]["source"] == "human" and res["preference"]["n"] == 6
