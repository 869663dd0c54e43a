"""A scripted backend: answers and log-likelihoods read from a JSONL file, keyed by prompt.

For scripted statistics tests, and for engines that cannot run here (a GPU-only server on a CPU box).
It is a real registered backend and passes the conformance suite. Spec: ``mock:FILE.jsonl``.

One JSON object per line::

    {"prompt": "What is 2+2?", "text": "4"}                         # generate (string prompt, or the
                                                                    # content of a lone user message)
    {"context": "2+2=", "continuation": " 4", "logprob": -0.1, "is_greedy": true}   # loglikelihood
    {"rolling": "some text", "logprob": -12.5}                      # loglikelihood_rolling
    {"options": {"unscripted": "hash", "delay": 0.05, "calls_log": "calls.jsonl", "max_in_flight": 4,
                 "default_text": "PASS", "batch_size": 4}}

Unscripted requests are an error (``unscripted: "error"``, the default) or get a deterministic answer
derived from a hash of the request (``"hash"``); ``default_text`` answers every unscripted
generation. ``delay`` sleeps per request (a slow engine); ``calls_log`` appends one line per backend
call (``{"kind": ..., "n": ...}``), so a test in another process can count calls. Scripted texts are
cut at the request's stop strings and at ``max_new_tokens`` whitespace-separated words. Trailing
whitespace of a context is moved to the continuation before lookup, as the contract says.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from tunegate.errors import BackendError, ModelSpecError
from tunegate.models._backend import Backend
from tunegate.models._factory import BACKENDS
from tunegate.models._fingerprint import combine, file_sha256
from tunegate.models._order import by_prefix_family
from tunegate.models._requests import (
    GenerateRequest,
    GenerateResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Request,
    RollingRequest,
    RollingResult,
)
from tunegate.models._spec import ModelSpec

__all__ = ["MockBackend", "MockLoader"]

_OPTIONS = ("unscripted", "delay", "calls_log", "max_in_flight", "default_text", "batch_size")


def _split(context: str, continuation: str) -> tuple[str, str]:
    stripped = context.rstrip()
    return stripped, context[len(stripped) :] + continuation


def _prompt_key(prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    if len(prompt) == 1 and prompt[0].role == "user":
        return str(prompt[0].content)
    return json.dumps([[m.role, m.content] for m in prompt], ensure_ascii=False)


def _unit(*parts: str) -> float:
    """A number in [0, 1) from a hash of ``parts``."""
    h = hashlib.sha256("\0".join(parts).encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


class MockBackend(Backend):
    """Answers from a script (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.texts: dict[str, str] = {}
        self.scores: dict[tuple[str, str], tuple[float, bool]] = {}
        self.rolling: dict[str, float] = {}
        self.options: dict[str, Any] = {}
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                self._add(row)
            except (ValueError, KeyError, TypeError) as e:
                raise ModelSpecError(f"{path}:{n}: not a mock script line ({e}): {line[:80]}") from None
        unknown = set(self.options) - set(_OPTIONS)
        if unknown:
            allowed = ", ".join(_OPTIONS)
            raise ModelSpecError(f"{path}: unknown mock options {sorted(unknown)}; allowed: {allowed}")
        if self.options.get("unscripted", "error") not in ("error", "hash"):
            raise ModelSpecError(f"{path}: options.unscripted must be 'error' or 'hash'")
        self.delay = float(self.options.get("delay", 0.0))
        self.max_in_flight = int(self.options.get("max_in_flight", 1))
        self.default_batch_size = int(self.options.get("batch_size", 8))
        self.calls = 0

    def _add(self, row: dict[str, Any]) -> None:
        if "options" in row:
            self.options.update(row["options"])
        elif "prompt" in row:
            self.texts[str(row["prompt"])] = str(row["text"])
        elif "context" in row:
            key = _split(str(row["context"]), str(row["continuation"]))
            self.scores[key] = (row["logprob"], bool(row.get("is_greedy", False)))
        elif "rolling" in row:
            self.rolling[str(row["rolling"])] = row["logprob"]
        else:
            raise KeyError("one of options, prompt, context or rolling")

    def plan(self, requests: Sequence[Request], missing: Sequence[int], size: int) -> list[list[int]]:
        return by_prefix_family(requests, missing, size)

    def _called(self, kind: str, n: int) -> None:
        self.calls += 1
        log = self.options.get("calls_log")
        if log:
            with open(log, "a", encoding="utf-8") as f:
                f.write(json.dumps({"kind": kind, "n": n}) + "\n")
        if self.delay:
            time.sleep(self.delay * n)

    def _unscripted(self, what: str) -> None:
        if self.options.get("unscripted", "error") != "hash":
            raise BackendError(f"mock {self.path}: no scripted answer for {what}")

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        self._called("loglikelihood", len(requests))
        out = []
        for r in requests:
            if not r.continuation:
                raise ValueError("loglikelihood needs a non-empty continuation")
            ctx, cont = _split(r.context, r.continuation)
            n = max(1, len(cont.split()))
            if (ctx, cont) in self.scores:
                lp, greedy = self.scores[(ctx, cont)]
            else:
                self._unscripted(f"context {ctx[-60:]!r} + continuation {cont[:40]!r}")
                u = _unit("ll", ctx, cont)
                lp, greedy = -20.0 * u - 0.01 * len(cont), u < 0.25
            out.append(LoglikelihoodResult(logprob=lp, is_greedy=greedy, n_tokens=n))
        return out

    def loglikelihood_rolling(self, requests: Sequence[RollingRequest]) -> list[RollingResult]:
        self._called("loglikelihood_rolling", len(requests))
        out = []
        for r in requests:
            n = len(r.text.split())
            if not r.text:
                out.append(RollingResult(logprob=0.0, n_tokens=0))
            elif r.text in self.rolling:
                out.append(RollingResult(logprob=self.rolling[r.text], n_tokens=n))
            else:
                self._unscripted(f"text {r.text[:60]!r}")
                out.append(RollingResult(logprob=-(1 + 5 * _unit("roll", r.text)) * max(n, 1), n_tokens=n))
        return out

    def generate(self, requests: Sequence[GenerateRequest]) -> list[GenerateResult]:
        self._called("generate", len(requests))
        out = []
        for r in requests:
            key = _prompt_key(r.prompt)
            if key in self.texts:
                text = self.texts[key]
            elif "default_text" in self.options:
                text = str(self.options["default_text"])
            else:
                self._unscripted(f"prompt {key[:60]!r}")
                seed = f"{r.seed}" if r.temperature > 0 else "greedy"
                text = f" mock answer {_unit('gen', key, seed):.6f} to the prompt."
            finish: Literal["stop", "length", "eos"] = "eos"
            hits = [text.find(s) for s in r.stop if s and s in text]
            if hits:
                text, finish = text[: min(hits)], "stop"
            words = text.split(" ")
            if len([w for w in words if w]) > r.max_new_tokens:
                kept, count = [], 0
                for w in words:
                    count += bool(w)
                    if count > r.max_new_tokens:
                        break
                    kept.append(w)
                text, finish = " ".join(kept), "length"
            out.append(GenerateResult(text=text, n_tokens=len(text.split()), finish=finish))
        return out

    def describe(self) -> dict[str, object]:
        return {"backend": "mock", "script": str(self.path)}


class MockLoader:
    """``mock:FILE.jsonl`` — scripted answers."""

    def _path(self, spec: ModelSpec) -> Path:
        path = Path(spec.target).expanduser()
        if not path.is_file():
            raise ModelSpecError(f"{spec}: mock script {path} does not exist")
        return path

    def fingerprint(self, spec: ModelSpec) -> str:
        return combine(["mock", f"script={file_sha256(self._path(spec))}"])

    def load(self, spec: ModelSpec) -> Backend:
        return MockBackend(self._path(spec))


BACKENDS.add("mock", MockLoader())
