"""The rating app: an app factory with the study store and limits injected.

Rater pages (server-rendered, a small script for keys) and a rater JSON API, both reachable only with
an invite token (its cookie); an owner API behind the study's owner token (``Authorization: Bearer``).
Blinding: nothing served to a rater names a model; answers come as A and B in the rater's order, items
by their position in the rater's queue. Domain errors map to HTTP codes in one place (``_errors``).
"""

from __future__ import annotations

import hmac
import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from tunegate.preference._limits import Limits, RateLimiter
from tunegate.preference._render import render_markdown, render_query
from tunegate.preference._study import (
    MAX_REASON,
    Assignment,
    Rater,
    RaterRevoked,
    StudyError,
    StudyStore,
)

__all__ = ["COOKIE", "create_app"]

COOKIE = "tg_rater"
_HERE = Path(__file__).parent
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self'; frame-ancestors 'none'; form-action 'self'"
    ),
}


_RAW_HEADERS = [(k.lower().encode(), v.encode()) for k, v in _HEADERS.items()]


class _Guard:
    """Pure ASGI middleware (BaseHTTPMiddleware costs a task group per request): refuse bodies over
    the limit by their Content-Length (413), and add the security headers to every response."""

    def __init__(self, app: Any, max_body: int) -> None:
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for k, v in scope["headers"]:
            if k == b"content-length" and (not v.isdigit() or int(v) > self.max_body):
                resp = JSONResponse({"error": "request too large"}, status_code=413)
                await resp(scope, receive, self._send_with_headers(send))
                return
        await self.app(scope, receive, self._send_with_headers(send))

    @staticmethod
    def _send_with_headers(send: Any) -> Any:
        async def wrapped(message: Any) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in _RAW_HEADERS if k not in have
                ]
            await send(message)

        return wrapped


_NO_INVITE = "open your personal invite link to rate (this one is missing, wrong or revoked)"


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def create_app(ss: StudyStore, limits: Limits | None = None, inline_votes: bool | None = None) -> FastAPI:
    """The FastAPI app serving every study of ``ss``'s store.

    ``inline_votes``: run a vote's transaction on the event loop rather than in the thread pool
    (default: on SQLite, whose writes are local, take about a millisecond and are serialised by the
    store's writer lock anyway, so the pool would only add two thread switches per vote; a network
    database keeps the pool so that votes overlap their round trips)."""
    limits = limits or Limits()
    if inline_votes is None:
        inline_votes = ss.engine.dialect.name == "sqlite"
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    env = Environment(loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(["html"]))
    per_rater = RateLimiter(limits.rater_rate, limits.rater_burst)
    failures = RateLimiter(limits.failures_per_minute / 60, limits.failures_per_minute)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")

    def page(name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**ctx), status_code=status)

    app.add_middleware(_Guard, max_body=limits.max_body)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        if request.url.path.startswith(("/api/", "/owner/")):
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        return page("message.html", exc.status, title="Not allowed", message=exc.message)

    @app.exception_handler(StudyError)
    async def _study_error(request: Request, exc: StudyError) -> Response:
        if isinstance(exc, RaterRevoked):
            return await _refused(request, Refused(403, _NO_INVITE))
        return await _refused(request, Refused(400, str(exc)))

    def client(request: Request) -> str:
        return request.client.host if request.client else "?"

    def rater_of(request: Request, cached: bool = False) -> Rater:
        """The rater of the request's cookie (``cached``: see ``StudyStore.rater_by_token``; only
        for a vote, whose transaction re-checks revocation)."""
        token = request.cookies.get(COOKIE, "")
        rater = ss.rater_by_token(token, cached=cached) if token else None
        if rater is None:
            if not failures.allow(client(request)):
                raise Refused(429, "too many attempts; wait a minute")
            raise Refused(403, _NO_INVITE)
        if not per_rater.allow(rater.id):
            raise Refused(429, "slow down: too many requests")
        return rater

    def check_csrf(rater: Rater, given: str | None) -> None:
        if not given or not hmac.compare_digest(given, ss.csrf_token(rater)):
            raise Refused(403, "the form token is missing or wrong; reload the page")

    def current(queue: list[Assignment], revise: bool) -> tuple[Assignment | None, bool]:
        voted = [a for a in queue if a.choice is not None]
        if revise and voted:
            return voted[-1], True
        todo = [a for a in queue if a.choice is None]
        return (todo[0] if todo else None), False

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return page("message.html", title="Rating", message="Open the personal invite link you were sent.")

    @app.get("/invite/{token}")
    def invite(token: str, request: Request) -> Response:
        if ss.rater_by_token(token) is None:
            if not failures.allow(client(request)):
                raise Refused(429, "too many attempts; wait a minute")
            raise Refused(403, "this invite link is not valid (wrong, or revoked)")
        resp = RedirectResponse("/rate", status_code=303)
        resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/", max_age=60 * 60 * 24 * 90)
        return resp

    @app.get("/rate", response_class=HTMLResponse)
    def rate(request: Request, revise: int = 0) -> HTMLResponse:
        rater = rater_of(request)
        study = ss.get_study(rater.study_id)
        ss.next_item(rater)
        queue = ss.queue(rater)
        done = sum(a.choice is not None for a in queue)
        total = ss.budget(rater) or len(queue)
        item, revising = current(queue, bool(revise))
        if item is None:
            return page("done.html", done=done, total=len(queue), can_revise=done > 0)
        return page(
            "rate.html",
            instructions=study["config"]["instructions"],
            query=render_query(item.query),
            answer_a=render_markdown(item.answer_a),
            answer_b=render_markdown(item.answer_b),
            position=item.position,
            number=item.position + 1,
            choice=item.choice if revising else None,
            reason=item.reason if revising else "",
            revising=revising,
            can_revise=done > 0 and not revising,
            done=done,
            total=total,
            csrf=ss.csrf_token(rater),
            max_reason=MAX_REASON,
        )

    @app.post("/vote")
    def vote_form(
        request: Request,
        position: int = Form(...),
        choice: str = Form(...),
        csrf: str = Form(""),
        reason: str = Form(""),
    ) -> Response:
        rater = rater_of(request)
        check_csrf(rater, csrf)
        ss.vote(rater, position, choice, reason.strip())
        return RedirectResponse("/rate", status_code=303)

    # -- rater JSON API ----------------------------------------------------------------------------
    @app.get("/api/next")
    def api_next(request: Request) -> dict[str, Any]:
        rater = rater_of(request)
        ss.next_item(rater)
        queue = ss.queue(rater)
        done = sum(a.choice is not None for a in queue)
        total = ss.budget(rater) or len(queue)
        item, _ = current(queue, False)
        body: dict[str, Any] = {"done": done, "total": total, "item": None, "csrf": ss.csrf_token(rater)}
        if item is not None:
            body["item"] = {
                "position": item.position,
                "query": item.query,
                "a": item.answer_a,
                "b": item.answer_b,
            }
        return body

    @app.post("/api/vote")
    async def api_vote(request: Request) -> Response:
        try:
            data = json.loads(await request.body())
        except ValueError:
            raise Refused(400, "the body must be JSON") from None
        if not isinstance(data, dict):
            raise Refused(400, "the body must be a JSON object")

        def work() -> dict[str, Any]:
            rater = rater_of(request, cached=True)
            check_csrf(rater, request.headers.get("x-csrf-token"))
            pos = data.get("position")
            if not isinstance(pos, int) or isinstance(pos, bool):
                raise Refused(400, "position must be an integer")
            revision, done, total = ss.vote_and_progress(
                rater, pos, str(data.get("choice", "")), str(data.get("reason", ""))
            )
            return {"ok": True, "revision": revision, "done": done, "total": total}

        if inline_votes:
            return JSONResponse(work())
        from starlette.concurrency import run_in_threadpool

        return JSONResponse(await run_in_threadpool(work))

    @app.get("/api/progress")
    def api_progress(request: Request) -> dict[str, int]:
        done, total = ss.progress(rater_of(request))
        return {"done": done, "total": total}

    # -- owner API ---------------------------------------------------------------------------------
    def owner(request: Request, study_id: str) -> str:
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else ""
        try:
            sid = str(ss.get_study(study_id)["id"])
        except StudyError:
            sid = ""
        if not sid or not ss.check_owner(sid, token):
            if not failures.allow(client(request)):
                raise Refused(429, "too many attempts; wait a minute")
            raise Refused(403, "owner token missing or wrong")
        return sid

    @app.get("/owner/{study_id}/results")
    def owner_results(study_id: str, request: Request) -> dict[str, Any]:
        from tunegate.preference._results import study_results

        return study_results(ss, owner(request, study_id), n_boot=1000)

    @app.post("/owner/{study_id}/raters")
    async def owner_invite(study_id: str, request: Request) -> dict[str, Any]:
        data = await request.json()
        names = data.get("names") if isinstance(data, dict) else None
        if not isinstance(names, list) or not all(isinstance(n, str) and 0 < len(n) <= 200 for n in names):
            raise Refused(400, 'send {"names": ["..."]}')
        sid = owner(request, study_id)
        made = ss.invite(sid, names)
        return {"raters": [{"id": r.id, "name": r.name, "invite": f"/invite/{tok}"} for r, tok in made]}

    @app.post("/owner/{study_id}/raters/{rater}/revoke")
    def owner_revoke(study_id: str, rater: str, request: Request) -> dict[str, Any]:
        r = ss.revoke(owner(request, study_id), rater)
        return {"id": r.id, "name": r.name, "revoked": True}

    return app
