"""Pool decoding (``_hf_generate``) gives exactly what batch-1 greedy ``generate`` gives.

Rows of mixed prompt lengths (some longer than the tiny model's 64-token sliding window) leave the
pool at different steps -- by EOS, by a stop string, by ``max_new_tokens`` -- and every result (text,
token count, finish reason) must equal the plain loop that runs transformers' ``generate`` on one
prompt at a time. The tiny model has an untied output layer so its greedy text varies.
"""

from __future__ import annotations

import pytest

from tests._tiny import build_tiny_model
from tunegate.models import GenerateRequest, Model
from tunegate.models._hf import HFBackend

PROMPTS = [
    "Hi",
    "The quick brown fox jumps over the lazy dog. " * 3,  # > 64 tokens: the sliding window matters
    "Question: Who wrote Hamlet?\nAnswer:",
    "abc",
    "x" * 90,
    "Once upon a time",
    "z",
    "A longer prompt, which is padded less than the short ones, ends here:",
]


@pytest.fixture(scope="module")
def untied(tmp_path_factory: pytest.TempPathFactory) -> HFBackend:
    folder = build_tiny_model(tmp_path_factory.mktemp("untied") / "model", seed=0, untied=True)
    backend = Model(f"hf:{folder}").backend
    assert isinstance(backend, HFBackend)
    return backend


def _batch1(backend: HFBackend, reqs: list[GenerateRequest]):  # type: ignore[no-untyped-def]
    return [backend._generate_batch([r])[0] for r in reqs]


def test_pool_equals_batch1_generate_max_new_tokens_and_eos(untied: HFBackend) -> None:
    reqs = [GenerateRequest(p, max_new_tokens=n) for p in PROMPTS for n in (1, 5, 40)]
    pool = untied.generate(reqs)
    assert pool == _batch1(untied, reqs)
    assert {r.finish for r in pool} == {"eos", "length"}  # both endings happen
    assert len({r.n_tokens for r in pool}) > 3  # rows leave the pool at different steps


def test_pool_equals_batch1_generate_with_stop_strings(untied: HFBackend) -> None:
    free = untied.generate([GenerateRequest(p, max_new_tokens=30) for p in PROMPTS])
    # stop strings the model does produce, a few characters into some continuations
    stops = tuple(sorted({r.text[3] for r in free if len(r.text) > 3 and r.text[3].isprintable()})[:3])
    assert stops
    reqs = [GenerateRequest(p, max_new_tokens=30, stop=stops) for p in PROMPTS]
    pool = untied.generate(reqs)
    assert pool == _batch1(untied, reqs)
    assert "stop" in {r.finish for r in pool}
    assert all(not any(s in r.text for s in stops) for r in pool)


def test_pool_equals_batch1_with_a_custom_eos(untied: HFBackend) -> None:
    """A token the model emits mid-text made an EOS: many rows end early, on different steps."""
    import torch

    from tunegate.models._hf import _core
    from tunegate.models._hf_generate import greedy_pool

    _, encoded = untied._prompts([GenerateRequest(p) for p in PROMPTS])
    with torch.inference_mode():
        free = greedy_pool(
            _core(untied.weights.model), encoded, max_new_tokens=30, eos=set(), pad_id=untied.tok.pad_token_id
        )
    later = [set(d.tokens[2:]) for d in free]
    common = max(set().union(*later), key=lambda t: sum(t in x for x in later))
    config = _core(untied.weights.model).generation_config
    before = config.eos_token_id
    config.eos_token_id = [untied.tok.eos_token_id, common]
    try:
        reqs = [GenerateRequest(p, max_new_tokens=30) for p in PROMPTS]
        pool = untied.generate(reqs)
        assert pool == _batch1(untied, reqs)
        assert sum(r.finish == "eos" for r in pool) >= 2
    finally:
        config.eos_token_id = before


def test_one_pool_per_call_of_generate_batch_size(untied: HFBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    """More prompts than the pool size: several pools, same answers, input order kept."""
    reqs = [GenerateRequest(p, max_new_tokens=12) for p in PROMPTS]
    whole = untied.generate(reqs)
    monkeypatch.setattr(untied, "generate_batch_size", 3)
    assert untied.generate(reqs) == whole


@pytest.mark.parametrize(("rows", "admit"), [(1, 0.125), (2, 0.125), (3, 1.0), (5, 0.125), (5, 0.5)])
def test_refilled_pool_equals_batch1(
    untied: HFBackend, monkeypatch: pytest.MonkeyPatch, rows: int, admit: float
) -> None:
    """Fewer live rows than prompts: finished rows are replaced by waiting prompts of other widths
    (their KV caches padded to the pool's, or the pool's to theirs; rows past the 64-token sliding
    window), padding columns are cut as the longest rows leave, and every answer equals batch 1."""
    import tunegate.models._hf_generate as hg

    reqs = [GenerateRequest(p, max_new_tokens=n) for n in (3, 40, 9) for p in PROMPTS]
    monkeypatch.setattr(untied, "generate_pool_rows", rows)
    monkeypatch.setattr(hg, "ADMIT_FRACTION", admit)
    calls = {"admit": 0, "cut": 0, "pad": 0}
    for name, key in (("_cut_left", "cut"), ("_pad_left", "pad")):
        real = getattr(hg, name)

        def spy(*a, _real=real, _key=key):  # type: ignore[no-untyped-def]
            calls[_key] += 1
            return _real(*a)

        monkeypatch.setattr(hg, name, spy)
    assert untied.generate(reqs) == _batch1(untied, reqs)
    if rows > 1:  # the refill paths really ran (joining only when the pool is empty pads nothing)
        assert calls["cut"] > 0 and (calls["pad"] > 0) == (admit < 1)


def test_a_cache_we_cannot_pad_decodes_in_fixed_pools(
    untied: HFBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache layer kind the pool does not know is never padded or cut: fixed pools, same answers."""
    import tunegate.models._hf_generate as hg

    reqs = [GenerateRequest(p, max_new_tokens=12) for p in PROMPTS]
    monkeypatch.setattr(untied, "generate_pool_rows", 3)
    monkeypatch.setattr(hg, "_refillable", lambda model: False)
    monkeypatch.setattr(hg, "_pad_left", lambda *a: pytest.fail("padded a cache it cannot pad"))
    assert untied.generate(reqs) == _batch1(untied, reqs)


@pytest.mark.parametrize("tokens", [1, 100, 10_000])
def test_prefill_in_chunks_changes_nothing(
    untied: HFBackend, monkeypatch: pytest.MonkeyPatch, tokens: int
) -> None:
    """One row per prefill forward, a few, or the whole pool at once: the same answers as batch 1."""
    import tunegate.models._hf_generate as hg

    reqs = [GenerateRequest(p, max_new_tokens=12) for p in PROMPTS]
    monkeypatch.setattr(hg, "PREFILL_TOKENS", tokens)
    assert untied.generate(reqs) == _batch1(untied, reqs)


def test_sampling_keeps_generate_and_its_seed(untied: HFBackend) -> None:
    reqs = [GenerateRequest(p, max_new_tokens=8, temperature=1.0, seed=7) for p in PROMPTS[:3]]
    assert untied.generate(reqs) == untied.generate(reqs)


@pytest.mark.slow
def test_pool_equals_batch1_on_gemma() -> None:
    backend = Model("builtin:gemma-3-270m").backend
    assert isinstance(backend, HFBackend)
    prompts = [
        "Question: Which planet is known as the Red Planet?\nAnswer:",
        "Question: In Greek mythology, which virgin goddess of the hearth gave up her seat as one of "
        "the Twelve Olympians?\nAnswer:",
        "Write a short poem about the sea.",
        "Explain how to bake bread.",
    ]
    reqs = [GenerateRequest(p, max_new_tokens=24, stop=("\n",)) for p in prompts]
    reqs += [GenerateRequest(p, max_new_tokens=24) for p in prompts[2:]]
    pool = backend.generate(reqs)
    assert pool == _batch1(backend, reqs)
    assert all(r.n_tokens > 0 for r in pool)
    backend.generate_pool_rows = 2  # refilled: rows join a pool already decoding, of another width
    try:
        assert backend.generate(reqs) == pool
    finally:
        backend.generate_pool_rows = HFBackend.generate_pool_rows
