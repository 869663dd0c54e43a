"""Backend for any OpenAI-compatible server (vLLM, llama.cpp server, TGI, ...).

Spec: ``openai:MODEL?base_url=http://host:port/v1[&api_key_env=VAR][&batch_size=N]``. ``MODEL`` is the
name the server knows the model by; the key, if any, is read from the environment variable ``VAR``
and sent as ``Authorization: Bearer ...``. ``batch_size=N`` (default 1) is the requests per engine
sub-batch: they are sent at once, and retried, stored and reported together.

Pointing tunegate at vLLM::

    vllm serve google/gemma-3-270m --enable-lora --lora-modules tuned=/path/to/adapter --port 8000
    tunegate compare --base "openai:google/gemma-3-270m?base_url=http://host:8000/v1" \\
                     --tuned "openai:tuned?base_url=http://host:8000/v1" ...

A LoRA adapter served by vLLM is named by its LoRA name (``tuned`` above): base and tuned share one
server and one copy of the base weights.

What needs echo/logprobs: ``loglikelihood`` (multiple-choice tasks) and ``loglikelihood_rolling``
(perplexity) send ``echo=True, logprobs=1`` to ``/completions`` and read the prompt's token logprobs
back, as lm-evaluation-harness's ``local-completions`` does (``max_tokens=0``, or 1 where 0 is refused;
the tokens generated, counted by ``usage.completion_tokens``, are dropped). vLLM and llama.cpp's
server (``llama-cpp-python[server]``) support this; the OpenAI API and TGI's OpenAI route do not, and
tunegate says so (``BackendError``). Generation tasks only need ``/completions`` (string prompts) or
``/chat/completions`` (chat messages, where the *server* applies the chat template).

``server=llamacpp`` (``openai:M?base_url=...&server=llamacpp``) adapts to llama-cpp-python's server:

- its sampling defaults are not neutral (``top_k=40, min_p=0.05, repeat_penalty=1.1``: the penalty
  changes even greedy text), so generation also sends ``top_k=0, min_p=0, repeat_penalty=1``, and
  ``temperature=0`` is then plain argmax like every other backend;
- it reads ``max_tokens=0`` as "until the context is full", so echo requests send ``max_tokens=1``;
- chat needs the server started with the model's chat format (``--chat_format gemma`` for Gemma;
  without it llama-cpp-python falls back to llama-2's and the model answers junk).

The first-token gap: llama.cpp adds ``<bos>`` but does not echo it, and gives the first prompt token
no logprob (``None``), so that token is never scored. ``loglikelihood`` with an empty context (whose
continuation would start at that token) is refused with a ``BackendError`` rather than scored
without its first token; ``loglikelihood_rolling`` scores every token but the first, and its
``n_tokens`` says so (one fewer than the in-process backends). vLLM, which echoes its BOS, has no gap.

Fingerprint: no weights can be hashed, so a remote model's fingerprint is base_url + model name + what
``GET /models`` reports about it (id, root, parent; not ``created``, which vLLM and llama.cpp set to the
time of the request). It is only as good as the name: put a checkpoint or version in the model (or
LoRA) name, e.g. ``tuned-step1200``, or cached answers of an old checkpoint are reused for a new one.
When the server does not answer ``/models`` the fingerprint falls back to base_url + name (a warning
says so), which does not match answers cached while it was up.

Unlike the local backends, the context window is the server's: a prompt that does not fit is refused
by the server (a ``BackendError`` with its message), not cut from the left. Likewise, servers that add
no BOS token cannot score the first token of a text (an empty context is then refused).

Calls are async (httpx): each sub-batch is one request by default and the engine keeps
``TUNEGATE_OPENAI_CONCURRENCY`` (default 8) in flight, so it can cancel them on Ctrl-C and time them
out. This module makes *one* attempt per request and says whether a failure is worth retrying
(:class:`~tunegate.models.TransientBackendError`: timeouts, dropped connections, 429 with its
``Retry-After``, 5xx); retries, backoff, the overall deadline and the rate limit are the engine's
(:mod:`tunegate.engine._policy`). A body larger than the engine's response cap is refused while it
is read. Tuning, by environment variable: ``TUNEGATE_OPENAI_TIMEOUT`` (read timeout, s, default
120) and ``TUNEGATE_OPENAI_CONNECT_TIMEOUT`` (default 10).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import httpx

from tunegate._display import mask_url
from tunegate._settings import env_number, env_whole
from tunegate.errors import BackendError, ModelSpecError
from tunegate.models._backend import Backend, TransientBackendError
from tunegate.models._factory import BACKENDS
from tunegate.models._fingerprint import combine
from tunegate.models._requests import (
    GenerateRequest,
    GenerateResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Result,
    RollingRequest,
    RollingResult,
)
from tunegate.models._spec import ModelSpec

__all__ = ["OpenAIBackend", "OpenAILoader", "Settings"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_ECHO_HELP = (
    "loglikelihood tasks need a server that returns prompt logprobs (echo=True with logprobs: vLLM, "
    "llama.cpp's server; the OpenAI API and TGI do not); generation tasks still work"
)

#: ``server=NAME`` -> extra body fields of every generation request (what makes the server neutral)
SERVERS: dict[str, dict[str, Any]] = {
    "generic": {},
    "llamacpp": {"top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0},
}


def _excerpt(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."


@dataclass(frozen=True)
class Settings:
    """Timeouts of the HTTP client and requests in flight (defaults from ``TUNEGATE_OPENAI_*``)."""

    read_timeout: float = 120.0
    connect_timeout: float = 10.0
    concurrency: int = 8

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            read_timeout=env_number("TUNEGATE_OPENAI_TIMEOUT", cls.read_timeout),
            connect_timeout=env_number("TUNEGATE_OPENAI_CONNECT_TIMEOUT", cls.connect_timeout),
            concurrency=env_whole("TUNEGATE_OPENAI_CONCURRENCY", cls.concurrency),
        )


class _Refused(BackendError):
    """The server answered a 4xx other than 429: retrying the same request will not help."""

    def __init__(self, message: str, status: int, body: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class _Garbled(Exception):
    """A response lacks a field tunegate needs (turned into a BackendError naming the endpoint)."""


def _dig(data: Any, *path: str | int) -> Any:
    """``data[p0][p1]...``; raise _Garbled naming the missing path."""
    cur = data
    for i, key in enumerate(path):
        try:
            cur = cur[key]
        except (KeyError, IndexError, TypeError):
            where = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path[: i + 1]).lstrip(".")
            raise _Garbled(f"no {where}") from None
    return cur


class _Client:
    """An async JSON client making one attempt per request; failures say whether to retry."""

    def __init__(self, base_url: str, api_key: str | None, settings: Settings) -> None:
        self.base_url = base_url
        self.settings = settings
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.max_bytes: int | None = None
        self._http: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        # Created on first use, on the engine's event loop, which it then belongs to.
        if self._http is None:
            s = self.settings
            self._http = httpx.AsyncClient(
                headers=self.headers,
                timeout=httpx.Timeout(s.read_timeout, connect=s.connect_timeout),
                limits=httpx.Limits(max_connections=max(s.concurrency, 1) + 2),
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def get_json(self, path: str, *, timeout: float) -> Any:
        """One blocking GET (for ``/models``); raise httpx errors or ValueError on non-JSON."""
        with httpx.Client(headers=self.headers, timeout=timeout) as http:
            resp = http.get(self.base_url + path)
            resp.raise_for_status()
            return resp.json()

    async def post(self, path: str, body: dict[str, Any], parse: Callable[[Any], T]) -> T:
        """POST ``body`` as JSON once and return ``parse(response json)``."""
        url = self.base_url + path
        s = self.settings
        try:
            async with self._client().stream("POST", url, json=body) as resp:
                raw = await self._read(url, resp)
        except httpx.TimeoutException:
            raise TransientBackendError(
                f"endpoint {url} timed out (read timeout {s.read_timeout:g} s, connect "
                f"{s.connect_timeout:g} s); is the server healthy? A slow server needs a larger "
                "TUNEGATE_OPENAI_TIMEOUT"
            ) from None
        except httpx.TransportError as e:
            raise TransientBackendError(
                f"could not reach endpoint {url} ({type(e).__name__}: {e}); is the server running, and "
                "is base_url right?"
            ) from None
        status = resp.status_code
        text = raw.decode("utf-8", "replace")
        if status == 429 or status >= 500:
            raise TransientBackendError(
                f"endpoint {url} returned {status}: {_excerpt(text)}; is the server healthy?",
                retry_after=_retry_after(resp) if status == 429 else None,
            )
        if status >= 400:
            hint = "; check api_key_env" if status in (401, 403) else ""
            msg = f"endpoint {url} refused the request ({status}): {_excerpt(text)}{hint}"
            raise _Refused(msg, status, text)
        try:
            data = json.loads(raw)
        except ValueError:
            raise BackendError(
                f"endpoint {url} returned a garbled response (not JSON): {_excerpt(text)}"
            ) from None
        try:
            return parse(data)
        except _Garbled as e:
            raise BackendError(
                f"endpoint {url} returned a garbled response ({e}): {_excerpt(text)}"
            ) from None

    async def _read(self, url: str, resp: httpx.Response) -> bytes:
        """The body, refused as soon as it passes the engine's size cap."""
        cap = self.max_bytes
        declared = resp.headers.get("content-length", "")
        if cap is not None and declared.isdigit() and int(declared) > cap:
            raise BackendError(_too_big(url, cap, f"announces {int(declared):,} bytes"))
        chunks, total = [], 0
        async for chunk in resp.aiter_bytes():
            total += len(chunk)
            if cap is not None and total > cap:
                raise BackendError(_too_big(url, cap, "sent more"))
            chunks.append(chunk)
        return b"".join(chunks)


def _too_big(url: str, cap: int, what: str) -> str:
    return (
        f"endpoint {url} {what} than the response cap of {cap:,} bytes allows; nothing was stored "
        "(raise TUNEGATE_MAX_RESPONSE_BYTES if such answers are expected)"
    )


def _retry_after(resp: httpx.Response) -> float | None:
    try:
        return max(float(resp.headers.get("retry-after", "")), 0.0)
    except ValueError:  # absent, or an HTTP date: fall back to the engine's own backoff
        return None


@dataclass(frozen=True)
class _Echo:
    """The prompt tokens of an echoed ``/completions`` answer."""

    tokens: list[str]
    logprobs: list[float | None]
    offsets: list[int]
    top: list[dict[str, float] | None]


def _parse_echo(n_generated: int) -> Callable[[Any], _Echo]:
    def parse(data: Any) -> _Echo:
        lp = _dig(data, "choices", 0, "logprobs")
        if lp is None:
            raise BackendError(f"the server returned no logprobs for an echo=True request; {_ECHO_HELP}")
        tokens, logprobs = _dig(lp, "tokens"), _dig(lp, "token_logprobs")
        offsets, top = _dig(lp, "text_offset"), lp.get("top_logprobs") or [None] * len(tokens)
        if not all(isinstance(x, list) for x in (tokens, logprobs, offsets, top)):
            raise _Garbled("logprobs fields are not lists")
        if not len(tokens) == len(logprobs) == len(offsets) == len(top):
            raise _Garbled("logprobs fields differ in length")
        if not all(isinstance(t, str) for t in tokens) or not all(isinstance(o, int) for o in offsets):
            raise _Garbled("logprobs.tokens or text_offset hold the wrong types")
        if not all(lp is None or _is_number(lp) for lp in logprobs):
            raise _Garbled("logprobs.token_logprobs hold something other than numbers")
        # What the server says it generated, where it says it (llama.cpp's max_tokens=0 is unbounded).
        usage = data.get("usage") if isinstance(data, dict) else None
        counted = usage.get("completion_tokens") if isinstance(usage, dict) else None
        n = len(tokens) - (
            counted if isinstance(counted, int) and 0 <= counted <= len(tokens) else n_generated
        )
        return _Echo(tokens[:n], logprobs[:n], offsets[:n], top[:n])

    return parse


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _parse_completion(data: Any) -> tuple[str, str | None, Any, int]:
    choice = _dig(data, "choices", 0)
    text = _dig(choice, "text")
    if not isinstance(text, str):
        raise _Garbled("choices[0].text is not a string")
    return text, choice.get("finish_reason"), choice.get("stop_reason"), _usage(data)


def _parse_chat(data: Any) -> tuple[str, str | None, Any, int]:
    choice = _dig(data, "choices", 0)
    content = _dig(choice, "message", "content")
    if content is not None and not isinstance(content, str):
        raise _Garbled("choices[0].message.content is not a string")
    return content or "", choice.get("finish_reason"), choice.get("stop_reason"), _usage(data)


def _usage(data: dict[str, Any]) -> int:
    usage = data.get("usage")
    n = usage.get("completion_tokens") if isinstance(usage, dict) else None
    return n if isinstance(n, int) else 0


def _first_stop(text: str, stops: Sequence[str]) -> int | None:
    hits = [text.find(s) for s in stops if s and s in text]
    return min(hits) if hits else None


def _finish(reason: str | None, stop_reason: Any, stops: Sequence[str]) -> Literal["stop", "length", "eos"]:
    """Map a server's finish_reason (vLLM's stop_reason, TGI's names) to stop / length / eos."""
    if reason in ("length", "max_tokens"):
        return "length"
    if reason == "stop_sequence" or (isinstance(stop_reason, str) and stop_reason in stops):
        return "stop"
    return "eos"


class OpenAIBackend(Backend):
    """A model behind an OpenAI-compatible HTTP server."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        settings: Settings | None = None,
        batch_size: int = 1,
        server: str = "generic",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.server = server
        self._sampling = SERVERS[server]
        self.settings = settings or Settings.from_env()
        self.default_batch_size = batch_size
        self.max_in_flight = self.settings.concurrency
        self._client = _Client(self.base_url, api_key, self.settings)
        # 1 once the server refused max_tokens=0; at once for llama.cpp, which reads 0 as "no limit"
        self._echo_max_tokens = 1 if server == "llamacpp" else 0

    def close(self) -> None:
        """Close the HTTP connections."""
        _sync(self._client.aclose())

    def describe(self) -> dict[str, object]:
        info: dict[str, object] = {
            "backend": "openai",
            "base_url": mask_url(self.base_url),
            "model": self.model,
        }
        return info if self.server == "generic" else {**info, "server": self.server}

    # -- batches ----------------------------------------------------------------------------------
    async def abatch(self, kind: str, requests: Sequence[Any]) -> list[Result]:
        """Every request of the batch at once (the engine bounds how many batches are in flight)."""
        self._client.max_bytes = self.max_response_bytes
        tasks: list[asyncio.Future[Result]] = [asyncio.ensure_future(self._one(kind, r)) for r in requests]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _one(self, kind: str, r: Any) -> Result:
        if kind == "loglikelihood":
            return await self._ll_one(r)
        if kind == "loglikelihood_rolling":
            return await self._rolling_one(r)
        return await self._generate_one(r)

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        return [
            r for r in _sync(self.abatch("loglikelihood", requests)) if isinstance(r, LoglikelihoodResult)
        ]

    def loglikelihood_rolling(self, requests: Sequence[RollingRequest]) -> list[RollingResult]:
        return [
            r for r in _sync(self.abatch("loglikelihood_rolling", requests)) if isinstance(r, RollingResult)
        ]

    def generate(self, requests: Sequence[GenerateRequest]) -> list[GenerateResult]:
        return [r for r in _sync(self.abatch("generate", requests)) if isinstance(r, GenerateResult)]

    # -- scoring ------------------------------------------------------------------------------------
    async def _echo(self, prompt: str) -> _Echo:
        """The prompt's token logprobs, echoed by the server (max_tokens 0, or 1 where 0 is refused)."""
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": prompt,
            "echo": True,
            "logprobs": 1,
            "temperature": 0,
        }
        n = self._echo_max_tokens
        try:
            return await self._client.post("/completions", {**body, "max_tokens": n}, _parse_echo(n))
        except _Refused as first:
            if n != 0:
                raise BackendError(f"{first}; {_ECHO_HELP}") from None
        try:
            echo = await self._client.post("/completions", {**body, "max_tokens": 1}, _parse_echo(1))
        except _Refused as second:
            raise BackendError(f"{second}; {_ECHO_HELP}") from None
        self._echo_max_tokens = 1
        return echo

    async def _score(self, prompt: str, n_chars: int) -> tuple[float, bool, int]:
        """Sum of logprobs of the tokens covering the last ``n_chars`` characters of ``prompt``.

        Offsets are anchored at the end of the echoed prompt, so a BOS token the server prints in front
        (vLLM's ``<s>``, counted in its offsets) does not shift the split.
        """
        echo = await self._echo(prompt)
        if not echo.tokens:
            raise BackendError(f"the server echoed no prompt tokens for {prompt[:60]!r}; {_ECHO_HELP}")
        end = echo.offsets[-1] + len(echo.tokens[-1])
        if end < len(prompt):
            raise BackendError(
                f"the server did not echo the whole prompt ({end} of {len(prompt)} characters); {_ECHO_HELP}"
            )
        boundary = end - n_chars
        total, greedy, count = 0.0, True, 0
        for tok, lp, off, top in zip(echo.tokens, echo.logprobs, echo.offsets, echo.top, strict=True):
            if off + len(tok) <= boundary:
                continue
            if lp is None:
                raise BackendError(
                    f"the server gave no logprob for the first token of {prompt[:60]!r} (it adds no BOS "
                    "token, or does not score the token after it, as llama.cpp's server), so the "
                    "continuation cannot be scored whole; give a non-empty context"
                )
            total += float(lp)
            count += 1
            if top:
                best = max(top, key=lambda k: top[k])
                greedy = greedy and (best == tok or top[best] <= float(lp))
            else:
                greedy = False
        return total, greedy, count

    async def _ll_one(self, r: LoglikelihoodRequest) -> LoglikelihoodResult:
        if not r.continuation:
            raise ValueError("loglikelihood needs a non-empty continuation")
        if self.server == "llamacpp" and not r.context.strip():
            raise BackendError(
                "llama.cpp's server gives the first token of a prompt no logprob, so "
                f"{r.continuation[:60]!r} after an empty context cannot be scored whole (the "
                "first-token gap); give a non-empty context, or a backend that scores it (gguf:, hf:, vLLM)"
            )
        # Trailing whitespace of the context belongs to the continuation (as in the HF backend).
        n_chars = len(r.continuation) + len(r.context) - len(r.context.rstrip())
        lp, greedy, n = await self._score(r.context + r.continuation, n_chars)
        return LoglikelihoodResult(logprob=lp, is_greedy=greedy, n_tokens=n)

    async def _rolling_one(self, r: RollingRequest) -> RollingResult:
        if not r.text:
            return RollingResult(logprob=0.0, n_tokens=0)
        echo = await self._echo(r.text)
        scored = [float(lp) for lp in echo.logprobs if lp is not None]
        return RollingResult(logprob=sum(scored), n_tokens=len(scored))

    # -- generation ---------------------------------------------------------------------------------
    async def _generate_one(self, r: GenerateRequest) -> GenerateResult:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": r.max_new_tokens,
            "temperature": r.temperature,
            "top_p": r.top_p,
            "seed": r.seed,
            **self._sampling,
        }
        if r.stop:
            body["stop"] = list(r.stop)
        use_chat = r.chat is True or (not isinstance(r.prompt, str) and r.chat is not False)
        if use_chat:
            messages = (
                [{"role": "user", "content": r.prompt}]
                if isinstance(r.prompt, str)
                else [{"role": m.role, "content": m.content} for m in r.prompt]
            )
            text, reason, stop_reason, n = await self._client.post(
                "/chat/completions", {**body, "messages": messages}, _parse_chat
            )
        else:
            prompt = (
                r.prompt
                if isinstance(r.prompt, str)
                else ("".join(f"{m.role}: {m.content}\n" for m in r.prompt) + "assistant:")
            )
            text, reason, stop_reason, n = await self._client.post(
                "/completions", {**body, "prompt": prompt}, _parse_completion
            )
        finish = _finish(reason, stop_reason, r.stop)
        cut = _first_stop(text, r.stop)  # in case the server did not stop at it
        if cut is not None:
            text, finish = text[:cut], "stop"
        return GenerateResult(text=text, n_tokens=n, finish=finish, chat_template=use_chat)


def _sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on the engine's loop (the loop the HTTP client belongs to) and wait."""
    from tunegate.engine._loop import run_sync

    return run_sync(coro)


class OpenAILoader:
    """``openai:MODEL?base_url=...`` — a model served by an OpenAI-compatible server."""

    #: seconds the fingerprint waits for ``GET /models``
    models_timeout: float = 5.0

    def _base_url(self, spec: ModelSpec) -> str:
        url = (spec.option("base_url") or os.environ.get("OPENAI_BASE_URL") or "").rstrip("/")
        if not url:
            raise ModelSpecError(
                f"{spec}: say where the server is, e.g. openai:{spec.target}?base_url=http://localhost:8000/v1"
            )
        if not url.startswith(("http://", "https://")):
            raise ModelSpecError(f"{spec}: base_url {url!r} must start with http:// or https://")
        return url

    def _api_key(self, spec: ModelSpec, *, required: bool = True) -> str | None:
        var = spec.option("api_key_env")
        if not var:
            return None
        key = os.environ.get(var)
        if not key and required:
            raise ModelSpecError(f"{spec}: environment variable {var} (api_key_env) is not set")
        return key

    def _server(self, spec: ModelSpec) -> str:
        name = spec.option("server") or "generic"
        if name not in SERVERS:
            from tunegate.registry import did_you_mean

            raise ModelSpecError(
                f"{spec}: unknown server {name!r}.{did_you_mean(name, list(SERVERS))} "
                f"Known: {', '.join(SERVERS)}"
            )
        return name

    def _batch_size(self, spec: ModelSpec) -> int:
        raw = spec.option("batch_size") or "1"
        if not raw.isdigit() or int(raw) < 1:
            raise ModelSpecError(f"{spec}: batch_size {raw!r} must be a positive integer")
        return int(raw)

    def served(self, spec: ModelSpec) -> tuple[list[str], dict[str, Any] | None]:
        """(ids the server lists, the entry for this model) from ``GET /models``; ([], None) if unknown."""
        client = _Client(self._base_url(spec), self._api_key(spec, required=False), Settings.from_env())
        try:
            data = client.get_json("/models", timeout=self.models_timeout)
            entries = [d for d in data["data"] if isinstance(d, dict) and isinstance(d.get("id"), str)]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as e:
            log.warning("%s: GET /models failed (%s); fingerprinting by base_url and name only", spec, e)
            return [], None
        mine = next((d for d in entries if d["id"] == spec.target), None)
        return sorted(d["id"] for d in entries), mine

    def fingerprint(self, spec: ModelSpec) -> str:
        parts = ["openai", f"base_url={mask_url(self._base_url(spec))}", f"model={spec.target}"]
        if (server := self._server(spec)) != "generic":  # other sampling parameters, other answers
            parts.append(f"server={server}")
        ids, entry = self.served(spec)
        if entry is not None:
            parts += [f"{k}={entry[k]}" for k in ("id", "root", "parent") if entry.get(k) is not None]
        elif ids:
            log.warning("%s: the server lists %s but not %r", spec, ", ".join(ids), spec.target)
            parts.append("served=" + ",".join(ids))
        return combine(parts)

    def load(self, spec: ModelSpec) -> Backend:
        return OpenAIBackend(
            self._base_url(spec),
            spec.target,
            api_key=self._api_key(spec),
            batch_size=self._batch_size(spec),
            server=self._server(spec),
        )


BACKENDS.add("openai", OpenAILoader())
