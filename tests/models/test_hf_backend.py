"""The transformers backend against the plain computation, on a tiny random model.

Golden invariants: scoring only the needed positions equals a full forward pass; results do not
depend on the batch size; the LoRA adapter shares the base weights and switching it off gives the
base model's numbers exactly.
"""

from __future__ import annotations

import math

import pytest
import torch

from tunegate.models import GenerateRequest, LoglikelihoodRequest, Model, RollingRequest

REQS = [
    LoglikelihoodRequest("The cat sat on the", " mat"),
    LoglikelihoodRequest("Paris is the capital of ", "France"),
    LoglikelihoodRequest("", "hello world"),
    LoglikelihoodRequest("A much longer context that goes on and on for a while,", " then ends."),
]


def _plain_loglikelihood(model, tok, context: str, continuation: str) -> tuple[float, bool]:  # type: ignore[no-untyped-def]
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        continuation, context = context[-n_spaces:] + continuation, context[:-n_spaces]
    ctx = [tok.bos_token_id, *tok(context, add_special_tokens=False)["input_ids"]]
    whole = [tok.bos_token_id, *tok(context + continuation, add_special_tokens=False)["input_ids"]]
    cont = whole[len(ctx) :]
    with torch.no_grad():
        logits = model(torch.tensor([whole[:-1]])).logits[0]
    logp = torch.log_softmax(logits.float(), -1)
    positions = range(len(whole) - 1 - len(cont), len(whole) - 1)
    total = sum(float(logp[p, whole[p + 1]]) for p in positions)
    greedy = all(int(logp[p].argmax()) == whole[p + 1] for p in positions)
    return total, greedy


def test_loglikelihood_equals_full_forward(base, tiny_model_dir) -> None:  # type: ignore[no-untyped-def]
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    got = base.loglikelihood(REQS)
    for req, res in zip(REQS, got, strict=True):
        want, greedy = _plain_loglikelihood(model, tok, req.context, req.continuation)
        assert res.logprob == pytest.approx(want, abs=1e-4)
        assert res.is_greedy == greedy
        assert res.n_tokens > 0


def test_scores_do_not_depend_on_batch_size(base) -> None:  # type: ignore[no-untyped-def]
    together = base.loglikelihood(REQS)
    alone = [base.loglikelihood([r])[0] for r in REQS]
    for a, b in zip(together, alone, strict=True):
        assert a.logprob == pytest.approx(b.logprob, abs=1e-4)


def test_trailing_context_space_moves_to_continuation(base) -> None:  # type: ignore[no-untyped-def]
    a = base.loglikelihood([LoglikelihoodRequest("Hello ", "world")])[0]
    b = base.loglikelihood([LoglikelihoodRequest("Hello", " world")])[0]
    assert a.logprob == pytest.approx(b.logprob, abs=1e-5)


def test_empty_continuation_is_refused(base) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="non-empty continuation"):
        base.loglikelihood([LoglikelihoodRequest("x", "")])


def test_rolling_equals_loglikelihood_after_bos(base) -> None:  # type: ignore[no-untyped-def]
    text = "hello world, again"
    rolling = base.loglikelihood_rolling([RollingRequest(text), RollingRequest("")])
    single = base.loglikelihood([LoglikelihoodRequest("", text)])[0]
    assert rolling[0].logprob == pytest.approx(single.logprob, abs=1e-4)
    assert rolling[1].logprob == 0.0


def test_rolling_windows_cover_long_texts(tiny_model_dir) -> None:  # type: ignore[no-untyped-def]
    from tunegate.models._hf import HFBackend

    shared = Model(f"hf:{tiny_model_dir}").backend.weights
    short_window = HFBackend(shared, max_length=16)
    text = "abcdefghij" * 5  # 50 byte tokens -> 4 windows of 16
    res = short_window.loglikelihood_rolling([RollingRequest(text)])[0]
    assert res.n_tokens == 50 and math.isfinite(res.logprob) and res.logprob < 0


def test_greedy_generation_is_batch_independent_and_stops(base) -> None:  # type: ignore[no-untyped-def]
    reqs = [GenerateRequest("Hi", max_new_tokens=6), GenerateRequest("Hello there friend", max_new_tokens=6)]
    together = base.generate(reqs)
    alone = [base.generate([r])[0] for r in reqs]
    assert [r.text for r in together] == [r.text for r in alone]
    first = together[0].text
    assert first, "tiny model generated nothing"
    stop_char = first[1] if len(first) > 1 else first[0]
    cut = base.generate([GenerateRequest("Hi", max_new_tokens=6, stop=(stop_char,))])[0]
    assert cut.finish == "stop" and stop_char not in cut.text and first.startswith(cut.text)


def test_sampling_is_seeded(base) -> None:  # type: ignore[no-untyped-def]
    a = base.generate([GenerateRequest("Hi", max_new_tokens=8, temperature=1.0, seed=3)])[0]
    b = base.generate([GenerateRequest("Hi", max_new_tokens=8, temperature=1.0, seed=3)])[0]
    assert a.text == b.text


def test_adapter_shares_base_weights_and_switches_off_exactly(tiny_model_dir, tiny_adapter_dir) -> None:  # type: ignore[no-untyped-def]
    base_model = Model(f"hf:{tiny_model_dir}")
    before = base_model.backend.loglikelihood(REQS)
    tuned = Model(f"hf:{tiny_model_dir}?adapter={tiny_adapter_dir}").backend
    assert tuned.weights is base_model.backend.weights  # one copy of the base weights
    after = base_model.backend.loglikelihood(REQS)
    tuned_scores = tuned.loglikelihood(REQS)
    assert [r.logprob for r in after] == pytest.approx([r.logprob for r in before], abs=1e-6)
    assert any(abs(a.logprob - b.logprob) > 1e-3 for a, b in zip(after, tuned_scores, strict=True))
