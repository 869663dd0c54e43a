"""A small OpenAI-compatible server on 127.0.0.1 for the openai backend's tests.

Tokens are whitespace-led words (``re.findall(r"\\s*\\S+|\\s+", text)``, so they concatenate to the
text); a token's logprob is ``-0.25 * len(token)`` (exact in binary), and the top-1 alternative is the
token itself unless the word starts with a capital letter (then ``" the"`` is likelier). Like vLLM, an
echoed prompt starts with a ``<s>`` token whose logprob is None and whose length counts in the offsets.

The model name picks the behaviour:

- ``m`` (or any other name): a well-behaved vLLM-like server
- ``nobos``: no ``<s>`` token in front of echoed prompts
- ``slow``: the first request sleeps ``slow_seconds`` (past the client's timeout), later ones answer
- ``flaky``: 500 twice, then answers
- ``broken``: always 500 ("CUDA error: out of memory")
- ``garbage``: 200 with an HTML body; ``nofields``: 200 with JSON lacking ``choices``
- ``busy``: 429 with ``Retry-After: 1`` once, then answers
- ``noecho``: refuses echo (400); ``needs1``: refuses ``max_tokens=0`` but echoes with ``max_tokens=1``
- ``nostop``: ignores stop strings (the client must cut)
- ``locked``: 401 without an ``Authorization`` header
- ``trickle``: a valid answer sent one byte every ``trickle_seconds`` (each read is quick, the whole
  is not)
- ``nan``: echoed logprobs are NaN; ``strings``: echoed logprobs are strings such as ``"-0.5"``
- ``huge``: a 2 MB body (with Content-Length); ``hugechunked``: the same without Content-Length
- ``drop``: the first request's connection is closed without an answer, later ones answer
- ``hang``: answers the first ``answer_first`` requests, then holds every later one until ``stop()``
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeOpenAIServer", "token_logprob", "tokenize"]


def tokenize(text: str) -> list[str]:
    return re.findall(r"\s*\S+|\s+", text)


def token_logprob(token: str) -> float:
    return -0.25 * len(token)


def _top(token: str) -> dict[str, float]:
    lp = token_logprob(token)
    return {" the": -0.125, token: lp} if token.strip()[:1].isupper() else {token: lp}


class FakeOpenAIServer:
    """Start with ``start()``; ``url`` is its ``/v1`` base; ``requests`` records (path, headers, body)."""

    def __init__(
        self, slow_seconds: float = 1.0, trickle_seconds: float = 0.2, answer_first: int = 4
    ) -> None:
        self.slow_seconds = slow_seconds
        self.trickle_seconds = trickle_seconds
        self.answer_first = answer_first
        self.released = threading.Event()
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.calls: Counter[str] = Counter()
        self.roots: dict[str, str] = {"m": "/models/m-step-100", "tuned": "/adapters/tuned-step-100"}
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.calls.clear()
            self.max_in_flight = 0

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [b for p, _, b in self.requests if p == path]

    # -- responses ----------------------------------------------------------------------------------
    def models(self) -> dict[str, Any]:
        data = [
            {"id": k, "object": "model", "created": int(time.time() * 1000), "owned_by": "vllm", "root": v}
            for k, v in self.roots.items()
        ]
        return {"object": "list", "data": data}

    def completion(self, body: dict[str, Any]) -> dict[str, Any]:
        model, prompt = body.get("model", ""), body["prompt"]
        max_tokens = body.get("max_tokens", 16)
        if body.get("echo"):
            if model == "noecho":
                raise _Status(400, {"error": {"message": "echo is not supported"}})
            if model == "needs1" and max_tokens == 0:
                raise _Status(400, {"error": {"message": "max_tokens must be at least 1"}})
            tokens = tokenize(prompt)
            lps: list[Any] = [token_logprob(t) for t in tokens]
            if model == "nan":
                lps = [float("nan")] * len(tokens)
            if model == "strings":
                lps = [str(x) for x in lps]
            tops: list[dict[str, float] | None] = [_top(t) for t in tokens]
            if model != "nobos":
                tokens, lps, tops = ["<s>", *tokens], [None, *lps], [None, *tops]
            else:
                lps[0], tops[0] = None, None
            if max_tokens:
                tokens, lps, tops = [*tokens, " end"], [*lps, -0.5], [*tops, {" end": -0.5}]
            offsets, pos = [], 0
            for t in tokens:
                offsets.append(pos)
                pos += len(t)
            logprobs = {"tokens": tokens, "token_logprobs": lps, "top_logprobs": tops, "text_offset": offsets}
            choice = {"index": 0, "text": prompt + (" end" if max_tokens else ""), "logprobs": logprobs}
            return {"choices": [{**choice, "finish_reason": "length", "stop_reason": None}]}
        words = prompt.split()
        text, reason, stop_reason = self._continue(words[-1] if words else "", body, model)
        return {
            "object": "text_completion",
            "model": model,
            "choices": [{"index": 0, "text": text, "finish_reason": reason, "stop_reason": stop_reason}],
            "usage": {"completion_tokens": len(tokenize(text))},
        }

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        last = body["messages"][-1]["content"]
        text, reason, stop_reason = self._continue(f"chat:{last}", body, body.get("model", ""))
        message = {"role": "assistant", "content": text}
        return {
            "choices": [
                {"index": 0, "message": message, "finish_reason": reason, "stop_reason": stop_reason}
            ],
            "usage": {"completion_tokens": len(tokenize(text))},
        }

    @staticmethod
    def _continue(word: str, body: dict[str, Any], model: str) -> tuple[str, str, str | None]:
        tokens = tokenize(f" {word} is nice. END of the answer")
        max_tokens = body.get("max_tokens", 16)
        text = "".join(tokens[:max_tokens])
        if model != "nostop":
            hits = [(text.find(s), s) for s in body.get("stop") or [] if s in text]
            if hits:
                cut, s = min(hits)
                return text[:cut], "stop", s
        return text, ("length" if len(tokens) > max_tokens else "stop"), None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(raw)
                except OSError:  # the client gave up (timed out) and closed the connection
                    pass

            def _trickle(self, payload: Any) -> None:
                raw = json.dumps(payload).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    for i in range(len(raw)):
                        if server.released.wait(server.trickle_seconds):
                            return
                        self.wfile.write(raw[i : i + 1])
                        self.wfile.flush()
                except OSError:
                    pass

            def _huge(self, chunked: bool) -> None:
                filler = "x" * (2 * 1024 * 1024)
                raw = json.dumps(
                    {"choices": [{"index": 0, "text": filler, "finish_reason": "length"}]}
                ).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    if chunked:
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    else:
                        self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    for a in range(0, len(raw), 65536):
                        self.wfile.write(raw[a : a + 65536])
                except OSError:
                    pass

            def do_GET(self) -> None:
                with server.lock:
                    server.requests.append((self.path, dict(self.headers), {}))
                if self.path == "/v1/models":
                    self._send(200, server.models())
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                model = body.get("model", "")
                with server.lock:
                    server.requests.append((self.path, dict(self.headers), body))
                    server.calls[model] += 1
                    n = server.calls[model]
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    self._answer(body, model, n)
                finally:
                    with server.lock:
                        server.in_flight -= 1

            def _answer(self, body: dict[str, Any], model: str, n: int) -> None:
                time.sleep(random.uniform(0, 0.02))  # answers finish out of order
                if model == "slow" and n == 1:
                    time.sleep(server.slow_seconds)
                if model == "broken" or (model == "flaky" and n <= 2):
                    return self._send(500, b"CUDA error: out of memory")
                if model == "busy" and n == 1:
                    return self._send(429, {"error": "rate limited"}, {"Retry-After": "1"})
                if model == "locked" and "authorization" not in {k.lower() for k in self.headers}:
                    return self._send(401, {"error": "missing API key"})
                if model == "garbage":
                    return self._send(200, b"<html>502 Bad Gateway</html>")
                if model == "nofields":
                    return self._send(200, {"id": "cmpl-1", "object": "text_completion"})
                if model == "drop" and n == 1:
                    self.close_connection = True
                    return None
                if model in ("huge", "hugechunked"):
                    return self._huge(chunked=model == "hugechunked")
                if model == "hang" and n > server.answer_first:
                    server.released.wait(60)
                    return None
                if model == "trickle":
                    return self._trickle(server.completion(body))
                try:
                    if self.path == "/v1/completions":
                        return self._send(200, server.completion(body))
                    if self.path == "/v1/chat/completions":
                        return self._send(200, server.chat(body))
                except _Status as e:
                    return self._send(e.status, e.payload)
                return self._send(404, {"error": "not found"})

        return Handler


class _Status(Exception):
    def __init__(self, status: int, payload: Any) -> None:
        super().__init__(status)
        self.status, self.payload = status, payload
