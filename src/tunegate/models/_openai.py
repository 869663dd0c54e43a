"""Backend for any OpenAI-compatible server (vLLM, llama.cpp server, TGI, ...).

Spec: ``openai:MODEL?base_url=http://host:port/v1[&api_key_env=VAR][&batch_size=N]``. ``MODEL`` is the
name the server knows the model by; the key, if any, is read from the environment variable ``VAR``
and sent as ``Authorization: Bearer ...``.

Pointing tunegate at vLLM::

    vllm serve google/gemma-3-270m --enable-lora --lora-modules tuned=/path/to/adapter --port 8000
    tunegate compare --base "openai:google/gemma-3-270m?base_url=http://host:8000/v1" \\
                     --tuned "openai:tuned?base_url=http://host:8000/v1" ...

A LoRA adapter served by vLLM is named by its LoRA name (``tuned`` above): base and tuned share one
server and one copy of the base weights.

What needs echo/logprobs: ``loglikelihood`` (multiple-choice tasks) and ``loglikelihood_rolling``
(perplexity) send ``echo=True, logprobs=1, max_tokens=0`` to ``/completions`` and read the prompt's
token logprobs back, as lm-evaluation-harness's ``local-completions`` does. vLLM supports this; the
OpenAI API, llama.cpp server and TGI's OpenAI route do not, and tunegate says so (``BackendError``).
Generation tasks only need ``/completions`` (string prompts) or ``/chat/completions`` (chat messages,
where the *server* applies the chat template).

Fingerprint: no weights can be hashed, so a remote model's fingerprint is base_url + model name + what
``GET /models`` reports about it (id, root, parent; not ``created``, which vLLM and llama.cpp set to the
time of the request). It is only as good as the name: put a checkpoint or version in the model (or
LoRA) name, e.g. ``tuned-step1200``, or cached answers of an old checkpoint are reused for a new one.
When the server does not answer ``/models`` the fingerprint falls back to base_url + name (a warning
says so), which does not match answers cached while it was up.

Unlike the local backends, the context window is the server's: a prompt that does not fit is refused
by the server (a ``BackendError`` with its message), not cut from the left. Likewise, servers that add
no BOS token cannot score the first token of a text (an empty context is then refused).

Tuning, by environment variable: ``TUNEGATE_OPENAI_TIMEOUT`` (read timeout, s, default 120),
``TUNEGATE_OPENAI_CONNECT_TIMEOUT`` (default 10), ``TUNEGATE_OPENAI_ATTEMPTS`` (tries per request on
timeouts, connection errors, 429 and 5xx, default 5), ``TUNEGATE_OPENAI_BACKOFF`` (first wait, s,
doubling each retry, default 1; a 429's ``Retry-After`` is honoured, up to 60 s) and
``TUNEGATE_OPENAI_CONCURRENCY`` (requests in flight per batch, default 8).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import httpx

from tunegate._display import mask_url
from tunegate._settings import env_number, env_whole
from tunegate.errors import BackendError, ModelSpecError
from tunegate.models._backend import Backend
from tunegate.models._factory import BACKENDS
from tunegate.models._fingerprint import combine
from tunegate.models._requests import (
    GenerateRequest,
    GenerateResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    RollingRequest,
    RollingResult,
)
from tunegate.models._spec import ModelSpec

__all__ = ["OpenAIBackend", "OpenAILoader", "Settings"]

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

_MAX_RETRY_AFTER = 60.0
_MAX_BACKOFF = 30.0
_TIMES = ("never", "once", "twice", "three times", "four times", "five times", "six times", "seven times")
_ECHO_HELP = (
    "loglikelihood tasks need a server that returns prompt logprobs (echo=True with logprobs, e.g. vLLM; "
    "the OpenAI API, llama.cpp server and TGI do not); generation tasks still work"
)


def _times(n: int) -> str:
    return _TIMES[n] if n < len(_TIMES) else f"{n} times"


def _excerpt(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."


@dataclass(frozen=True)
class Settings:
    """Timeouts, retries and concurrency of the HTTP client (defaults from ``TUNEGATE_OPENAI_*``)."""

    read_timeout: float = 120.0
    connect_timeout: float = 10.0
    attempts: int = 5
    backoff: float = 1.0
    concurrency: int = 8

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            read_timeout=env_number("TUNEGATE_OPENAI_TIMEOUT", cls.read_timeout),
            connect_timeout=env_number("TUNEGATE_OPENAI_CONNECT_TIMEOUT", cls.connect_timeout),
            attempts=env_whole("TUNEGATE_OPENAI_ATTEMPTS", cls.attempts),
            backoff=env_number("TUNEGATE_OPENAI_BACKOFF", cls.backoff),
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
    """A thread-safe JSON client with bounded retries and exponential backoff."""

    def __init__(self, base_url: str, api_key: str | None, settings: Settings) -> None:
        self.base_url = base_url
        self.settings = settings
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            limits=httpx.Limits(max_connections=max(settings.concurrency, 1) + 2),
        )

    def close(self) -> None:
        self._http.close()

    def get_json(self, path: str, *, timeout: float) -> Any:
        """One GET without retries (for ``/models``); raise httpx errors or ValueError on non-JSON."""
        resp = self._http.get(self.base_url + path, timeout=timeout)
        resp.raise_for_status()
        return resp.json()

    def post(self, path: str, body: dict[str, Any], parse: Callable[[Any], T]) -> T:
        """POST ``body`` as JSON and return ``parse(response json)``, retrying transient failures."""
        url = self.base_url + path
        s = self.settings
        failures = 0
        while True:
            retry_after = 0.0
            try:
                resp = self._http.post(url, json=body)
            except httpx.TimeoutException:
                failures += 1
                reason = (
                    f"endpoint {url} timed out {_times(failures)} (read timeout {s.read_timeout:g} s, "
                    f"connect {s.connect_timeout:g} s); is the server healthy? A slow server needs a "
                    "larger TUNEGATE_OPENAI_TIMEOUT"
                )
            except httpx.TransportError as e:
                failures += 1
                reason = (
                    f"could not reach endpoint {url} ({failures} attempts, last: {type(e).__name__}: {e}); "
                    "is the server running, and is base_url right?"
                )
            else:
                status = resp.status_code
                if status < 400:
                    return self._parse(url, resp, parse)
                text = resp.text
                if status != 429 and status < 500:
                    hint = "; check api_key_env" if status in (401, 403) else ""
                    raise _Refused(
                        f"endpoint {url} refused the request ({status}): {_excerpt(text)}{hint}", status, text
                    )
                failures += 1
                retry_after = _retry_after(resp) if status == 429 else 0.0
                reason = (
                    f"endpoint {url} returned {status} {_times(failures)}: {_excerpt(text)}; "
                    "is the server healthy?"
                )
            if failures >= s.attempts:
                raise BackendError(reason)
            delay = max(min(s.backoff * 2 ** (failures - 1), _MAX_BACKOFF), retry_after)
            log.info("%s; retrying in %.2f s", reason, delay)
            time.sleep(delay)

    @staticmethod
    def _parse(url: str, resp: httpx.Response, parse: Callable[[Any], T]) -> T:
        try:
            data = resp.json()
        except ValueError:
            raise BackendError(
                f"endpoint {url} returned a garbled response (not JSON): {_excerpt(resp.text)}"
            ) from None
        try:
            return parse(data)
        except _Garbled as e:
            raise BackendError(
                f"endpoint {url} returned a garbled response ({e}): {_excerpt(resp.text)}"
            ) from None


def _retry_after(resp: httpx.Response) -> float:
    try:
        return min(max(float(resp.headers.get("retry-after", "0")), 0.0), _MAX_RETRY_AFTER)
    except ValueError:  # an HTTP date: fall back to our own backoff
        return 0.0


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
        n = len(tokens) - n_generated
        return _Echo(tokens[:n], logprobs[:n], offsets[:n], top[:n])

    return parse


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
        batch_size: int = 16,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.settings = settings or Settings.from_env()
        self.default_batch_size = batch_size
        self._client = _Client(self.base_url, api_key, self.settings)
        self._echo_max_tokens = 0  # 1 once the server refused max_tokens=0
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def describe(self) -> dict[str, object]:
        return {"backend": "openai", "base_url": mask_url(self.base_url), "model": self.model}

    # -- concurrency --------------------------------------------------------------------------------
    def _map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``[fn(x) for x in items]``, ``concurrency`` at a time; the first error cancels the rest."""
        if len(items) <= 1:
            return [fn(x) for x in items]
        pool = ThreadPoolExecutor(
            min(self.settings.concurrency, len(items)), thread_name_prefix="tunegate-http"
        )
        futures: list[Future[R]] = [pool.submit(fn, x) for x in items]
        try:
            return [f.result() for f in futures]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    # -- scoring ------------------------------------------------------------------------------------
    def _echo(self, prompt: str) -> _Echo:
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
            return self._client.post("/completions", {**body, "max_tokens": n}, _parse_echo(n))
        except _Refused as first:
            if n != 0:
                raise BackendError(f"{first}; {_ECHO_HELP}") from None
        try:
            echo = self._client.post("/completions", {**body, "max_tokens": 1}, _parse_echo(1))
        except _Refused as second:
            raise BackendError(f"{second}; {_ECHO_HELP}") from None
        with self._lock:
            self._echo_max_tokens = 1
        return echo

    def _score(self, prompt: str, n_chars: int) -> tuple[float, bool, int]:
        """Sum of logprobs of the tokens covering the last ``n_chars`` characters of ``prompt``.

        Offsets are anchored at the end of the echoed prompt, so a BOS token the server prints in front
        (vLLM's ``<s>``, counted in its offsets) does not shift the split.
        """
        echo = self._echo(prompt)
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
                    "token), so it cannot be scored; give a non-empty context"
                )
            total += float(lp)
            count += 1
            if top:
                best = max(top, key=lambda k: top[k])
                greedy = greedy and (best == tok or top[best] <= float(lp))
            else:
                greedy = False
        return total, greedy, count

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        def one(r: LoglikelihoodRequest) -> LoglikelihoodResult:
            if not r.continuation:
                raise ValueError("loglikelihood needs a non-empty continuation")
            # Trailing whitespace of the context belongs to the continuation (as in the HF backend).
            n_chars = len(r.continuation) + len(r.context) - len(r.context.rstrip())
            lp, greedy, n = self._score(r.context + r.continuation, n_chars)
            return LoglikelihoodResult(logprob=lp, is_greedy=greedy, n_tokens=n)

        return self._map(one, requests)

    def loglikelihood_rolling(self, requests: Sequence[RollingRequest]) -> list[RollingResult]:
        def one(r: RollingRequest) -> RollingResult:
            if not r.text:
                return RollingResult(logprob=0.0, n_tokens=0)
            echo = self._echo(r.text)
            scored = [float(lp) for lp in echo.logprobs if lp is not None]
            return RollingResult(logprob=sum(scored), n_tokens=len(scored))

        return self._map(one, requests)

    # -- generation ---------------------------------------------------------------------------------
    def generate(self, requests: Sequence[GenerateRequest]) -> list[GenerateResult]:
        return self._map(self._generate_one, requests)

    def _generate_one(self, r: GenerateRequest) -> GenerateResult:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": r.max_new_tokens,
            "temperature": r.temperature,
            "top_p": r.top_p,
            "seed": r.seed,
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
            text, reason, stop_reason, n = self._client.post(
                "/chat/completions", {**body, "messages": messages}, _parse_chat
            )
        else:
            prompt = (
                r.prompt
                if isinstance(r.prompt, str)
                else ("".join(f"{m.role}: {m.content}\n" for m in r.prompt) + "assistant:")
            )
            text, reason, stop_reason, n = self._client.post(
                "/completions", {**body, "prompt": prompt}, _parse_completion
            )
        finish = _finish(reason, stop_reason, r.stop)
        cut = _first_stop(text, r.stop)  # in case the server did not stop at it
        if cut is not None:
            text, finish = text[:cut], "stop"
        return GenerateResult(text=text, n_tokens=n, finish=finish, chat_template=use_chat)


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

    def _batch_size(self, spec: ModelSpec) -> int:
        raw = spec.option("batch_size") or "16"
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
        finally:
            client.close()
        mine = next((d for d in entries if d["id"] == spec.target), None)
        return sorted(d["id"] for d in entries), mine

    def fingerprint(self, spec: ModelSpec) -> str:
        parts = ["openai", f"base_url={mask_url(self._base_url(spec))}", f"model={spec.target}"]
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
        )


BACKENDS.add("openai", OpenAILoader())
