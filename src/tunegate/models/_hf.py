"""Hugging Face transformers backend (causal LMs, optionally with a PEFT/LoRA adapter).

Scoring computes the output layer only at the positions that are scored: Gemma's output layer is most
of its parameters, and full-vocabulary logits at every position are most of the work. Greedy
generation decodes each call's prompts as one pool whose rows leave as they finish
(:mod:`tunegate.models._hf_generate`); sampling uses transformers' ``generate``.

Base and tuned models that share base weights share one copy in memory: :class:`SharedWeights` holds
the (possibly PEFT-wrapped) model, and each backend switches its adapter on or off around its calls,
holding the weights' lock for the whole call, so no switch happens while another role's batch runs
(the engine may run base and tuned at once).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from tunegate.models._backend import Backend
from tunegate.models._hf_scoring import TOKENS_PER_FORWARD, plan, score_segments
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
from tunegate.models._tokens import encode_with_bos, render_prompt, split_pair

if TYPE_CHECKING:
    import torch

__all__ = ["HFBackend", "SharedWeights"]

log = logging.getLogger(__name__)


@dataclass
class SharedWeights:
    """One loaded base model (and tokenizer) that several backends may use with different adapters."""

    model: Any
    tokenizer: Any
    adapters: dict[str, str] = field(default_factory=dict)  # adapter name -> directory
    #: held for every call on these weights: adapter switching is global to the model
    lock: threading.RLock = field(default_factory=threading.RLock)

    def add_adapter(self, directory: str) -> str:
        """Load a PEFT adapter onto the shared model (once per directory) and return its name."""
        with self.lock:
            for name, d in self.adapters.items():
                if d == directory:
                    return name
            from peft import PeftModel

            name = f"adapter{len(self.adapters)}"
            if not self.adapters:
                self.model = PeftModel.from_pretrained(self.model, directory, adapter_name=name)
            else:
                self.model.load_adapter(directory, adapter_name=name)
            self.model.eval()
            self.adapters[name] = directory
            return name

    @contextlib.contextmanager
    def use(self, adapter: str | None) -> Iterator[Any]:
        """Yield the model with ``adapter`` active (None: the bare base weights), holding the lock."""
        with self.lock:
            if not self.adapters:
                yield self.model
            elif adapter is None:
                with self.model.disable_adapter():
                    yield self.model
            else:
                self.model.set_adapter(adapter)
                yield self.model


def _core(model: Any) -> Any:
    """The transformers model under a PEFT wrapper (LoRA layers stay injected)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


class HFBackend(Backend):
    """A transformers causal LM on CPU or GPU.

    Log-likelihood calls may carry many requests: the backend groups those sharing a context and
    splits the work into forward passes of at most ``tokens_per_forward`` tokens, so the number of
    requests per call (``default_batch_size``) sets no memory peak of its own.
    """

    #: requests per engine call; a document's choices are scored together only within one call
    default_batch_size = 128
    #: token budget of one decoder forward (its segments back to back in one row)
    tokens_per_forward = TOKENS_PER_FORWARD
    #: prompts per generation call: greedy ones go through one pool (see ``_hf_generate``), which
    #: refills finished rows from the call's waiting prompts; the store and progress advance per call
    generate_batch_size = 128
    #: rows decoding at once in that pool. 32, not 64: a pool's KV cache grows a step at a time and its
    #: freed blocks stay with the process (bench/lm_eval_compare.py's gen workload, without refill: 64
    #: peaked at 1.92 GiB, 32 at 1.79; lm-eval 1.90)
    generate_pool_rows = 32

    def __init__(self, weights: SharedWeights, adapter: str | None = None, max_length: int | None = None):
        import torch

        self.weights = weights
        self.adapter = adapter
        self.tok = weights.tokenizer
        cfg = _core(weights.model).config
        self.max_length = max_length or min(int(getattr(cfg, "max_position_embeddings", 2048)), 4096)
        self.device = next(_core(weights.model).parameters()).device
        self.dtype = next(_core(weights.model).parameters()).dtype
        self.softcap = getattr(cfg, "final_logit_softcapping", None)
        if self.tok.pad_token_id is None:
            self.tok.pad_token = self.tok.eos_token
        self.bos_id = self.tok.bos_token_id
        self._torch = torch

    def batch_size(self, kind: str) -> int:
        """Scoring: many requests per call (the token budget sets memory); generation:
        ``generate_batch_size`` prompts per call (one refilled pool), so progress and the store
        advance with every call."""
        return self.generate_batch_size if kind == "generate" else self.default_batch_size

    def plan(self, requests: Sequence[Request], missing: Sequence[int], size: int) -> list[list[int]]:
        """Families of shared prefixes together: the prefix-tree scorer then runs each prefix once."""
        return by_prefix_family(requests, missing, size)

    def describe(self) -> dict[str, object]:
        return {
            "backend": "hf",
            "device": str(self.device),
            "dtype": str(self.dtype).replace("torch.", ""),
            "adapter": self.weights.adapters.get(self.adapter or "", None),
            "has_chat_template": bool(getattr(self.tok, "chat_template", None)),
        }

    # -- tokenization -------------------------------------------------------------------------------
    def _encode(self, text: str) -> list[int]:
        """Token ids of ``text`` with the BOS token first (when the model has one)."""
        return encode_with_bos(self.tok, self.bos_id, text)

    def _encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """Context and continuation ids, split the way lm-evaluation-harness splits them."""
        return split_pair(self._encode, context, continuation)

    # -- scoring ------------------------------------------------------------------------------------
    def _score_rows(self, rows: list[tuple[list[int], int]]) -> list[tuple[float, bool]]:
        """For each (input ids, n scored), sum log P of the last n tokens given what precedes them.

        Shared prefixes run once (see :mod:`tunegate.models._hf_scoring`).
        """
        segments, forwards = plan(rows, self.tokens_per_forward)
        with self.weights.use(self.adapter) as model, self._torch.inference_mode():
            core = _core(model)
            return score_segments(
                core.get_decoder(),
                core.get_output_embeddings(),
                core.config,
                segments,
                forwards,
                len(rows),
                device=self.device,
                softcap=self.softcap,
            )

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        rows = []
        for r in requests:
            if not r.continuation:
                raise ValueError("loglikelihood needs a non-empty continuation")
            ctx, cont = self._encode_pair(r.context, r.continuation)
            if not ctx:  # no BOS token and an empty context: condition on EOS, as rolling scoring does
                ctx = [self.tok.eos_token_id]
            ids = (ctx + cont)[-(self.max_length + 1) :]
            rows.append((ids, len(cont)))
        return [
            LoglikelihoodResult(logprob=lp, is_greedy=g, n_tokens=n)
            for (lp, g), (_, n) in zip(self._score_rows(rows), rows, strict=True)
        ]

    def loglikelihood_rolling(self, requests: Sequence[RollingRequest]) -> list[RollingResult]:
        out = []
        for r in requests:
            tokens: list[int] = self.tok(r.text, add_special_tokens=False)["input_ids"]
            if not tokens:
                out.append(RollingResult(logprob=0.0, n_tokens=0))
                continue
            rows = []
            prefix = [self.bos_id if self.bos_id is not None else self.tok.eos_token_id]
            # Disjoint windows of predictions, each conditioned on up to max_length preceding tokens.
            for start in range(0, len(tokens), self.max_length):
                target = tokens[start : start + self.max_length]
                history = (prefix + tokens[:start])[-(self.max_length + 1 - len(target)) :]
                rows.append((history + target, len(target)))
            total = sum(lp for lp, _ in self._score_rows(rows))
            out.append(RollingResult(logprob=total, n_tokens=len(tokens)))
        return out

    # -- generation ---------------------------------------------------------------------------------
    def _render(self, req: GenerateRequest) -> tuple[str, bool]:
        """The prompt text after the chat template (if applied), and whether it was applied."""
        return render_prompt(self.tok, req)

    def generate(self, requests: Sequence[GenerateRequest]) -> list[GenerateResult]:
        results: list[GenerateResult | None] = [None] * len(requests)
        greedy = [i for i, r in enumerate(requests) if r.temperature == 0]
        # Greedy requests with the same settings are batched; sampled ones run alone, seeded by their own
        # seed, so a sample never depends on which other requests shared its batch.
        groups: dict[tuple[int, tuple[str, ...]], list[int]] = {}
        for i in greedy:
            groups.setdefault((requests[i].max_new_tokens, requests[i].stop), []).append(i)
        for idx in groups.values():
            for a in range(0, len(idx), self.generate_batch_size):
                part = idx[a : a + self.generate_batch_size]
                for i, res in zip(part, self._generate_greedy([requests[i] for i in part]), strict=True):
                    results[i] = res
        for i, r in enumerate(requests):
            if r.temperature != 0:
                results[i] = self._generate_batch([r])[0]
        return [r for r in results if r is not None]

    def _prompts(self, reqs: list[GenerateRequest]) -> tuple[list[tuple[str, bool]], list[list[int]]]:
        """Rendered prompts and their ids, cut from the left to leave room for the new tokens."""
        rendered = [self._render(r) for r in reqs]
        budget = max(1, self.max_length - reqs[0].max_new_tokens)
        return rendered, [self._encode(text)[-budget:] for text, _ in rendered]

    def _eos_ids(self) -> set[int]:
        return {self.tok.eos_token_id, *(_as_list(_core(self.weights.model).generation_config.eos_token_id))}

    def _result(self, req: GenerateRequest, new: list[int], ended_eos: bool, chat: bool) -> GenerateResult:
        text = self.tok.decode(new, skip_special_tokens=True)
        finish: Literal["stop", "length", "eos"] = "eos" if ended_eos else "length"
        cut = _first_stop(text, req.stop)
        if cut is not None:
            text, finish = text[:cut], "stop"
        return GenerateResult(text=text, n_tokens=len(new), finish=finish, chat_template=chat)

    def _generate_greedy(self, reqs: list[GenerateRequest]) -> list[GenerateResult]:
        """Greedy requests sharing ``max_new_tokens`` and ``stop``, decoded as one pool."""
        from tunegate.models._hf_generate import greedy_pool

        rendered, encoded = self._prompts(reqs)
        stops = [s for s in reqs[0].stop if s]

        def stopped(tokens: list[int]) -> bool:
            text = self.tok.decode(tokens, skip_special_tokens=True)
            return any(s in text for s in stops)

        with self.weights.use(self.adapter) as model, self._torch.inference_mode():
            decoded = greedy_pool(
                _core(model),
                encoded,
                max_new_tokens=reqs[0].max_new_tokens,
                eos=self._eos_ids(),
                pad_id=self.tok.pad_token_id,
                stopped=stopped if stops else None,
                live=self.generate_pool_rows,
            )
        return [
            self._result(r, d.tokens, d.ended_eos, chat)
            for r, d, (_, chat) in zip(reqs, decoded, rendered, strict=True)
        ]

    def _generate_batch(self, reqs: list[GenerateRequest]) -> list[GenerateResult]:
        """transformers' ``generate`` on one batch (sampling; also the reference greedy path)."""
        torch = self._torch
        rendered, encoded = self._prompts(reqs)
        first = reqs[0]
        width = max(len(x) for x in encoded)
        pad = self.tok.pad_token_id
        input_ids = torch.full((len(reqs), width), pad, dtype=torch.long)
        mask = torch.zeros((len(reqs), width), dtype=torch.long)
        for i, x in enumerate(encoded):  # left padding: every prompt ends at the same column
            input_ids[i, width - len(x) :] = torch.tensor(x)
            mask[i, width - len(x) :] = 1
        kwargs: dict[str, Any] = {"max_new_tokens": first.max_new_tokens, "pad_token_id": pad}
        if first.temperature > 0:
            torch.manual_seed(first.seed)
            kwargs.update(do_sample=True, temperature=first.temperature, top_p=first.top_p, top_k=0)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if first.stop:
            kwargs["stopping_criteria"] = [_StopOnStrings(self.tok, list(first.stop), width)]
        with self.weights.use(self.adapter) as model, torch.inference_mode():
            out = model.generate(
                input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device), **kwargs
            )
        results = []
        eos = self._eos_ids()
        for i, r in enumerate(reqs):
            new = out[i, width:].tolist()
            ended_eos = False
            for k, t in enumerate(new):
                if t in eos or t == pad:
                    new, ended_eos = new[:k], True
                    break
            results.append(self._result(r, new, ended_eos, rendered[i][1]))
        return results


def _as_list(x: Any) -> list[Any]:
    if x is None:
        return []
    return list(x) if isinstance(x, list | tuple) else [x]


def _first_stop(text: str, stops: Sequence[str]) -> int | None:
    hits = [text.find(s) for s in stops if s and s in text]
    return min(hits) if hits else None


class _StopOnStrings:
    """Stops generation once every row's new text contains one of the stop strings."""

    def __init__(self, tokenizer: Any, stops: list[str], prompt_width: int):
        self.tok, self.stops, self.width = tokenizer, stops, prompt_width

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> Any:
        import torch

        done = []
        for row in input_ids:
            text = self.tok.decode(row[self.width :].tolist(), skip_special_tokens=True)
            done.append(any(s in text for s in self.stops))
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)
