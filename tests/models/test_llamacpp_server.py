"""The ``openai:`` backend against a real llama.cpp server on loopback, serving the embedded GGUF.

The server is ``llama-cpp-python[server]`` from the venv ``scripts/engines/llamacpp.sh`` builds once per
machine (``make test`` runs it first, so CI always has it); without that venv these tests skip and
say how to build it. Its answers are compared with the in-process ``gguf:`` backend on the *same*
file. They are not equal, and are not expected to be: llama.cpp computes with the 4-bit Q4_K weights
(quantised dot products), tunegate's ``gguf:`` backend dequantises them to fp32 and runs transformers.
Measured on these prompts: log-likelihoods differ by 0.02-0.14 nats (at most 0.08 nats per scored
token), the ranking of choices is the same, and greedy text is identical for the first 15+ tokens,
then may take another near-tied token (2 of 3 prompts at 24 tokens). Hence the tolerances below.

llama.cpp's server scores a prompt slowly (it sorts the 262k-token vocabulary in Python for every
prompt token, ~0.8 s a token here), so every scored text is a few words long.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.models._llamacpp_server import LlamaCppServer, embedded_gguf, engine_python
from tunegate.cli.main import app
from tunegate.errors import BackendError
from tunegate.models import (
    Backend,
    ChatMessage,
    GenerateRequest,
    LoglikelihoodRequest,
    Model,
    RollingRequest,
)

KEY_ENV = "TUNEGATE_TEST_LLAMACPP_KEY"
#: |server - in-process| log-likelihood allowed per scored token, nats (measured: at most 0.08)
TOL_PER_TOKEN = 0.15
#: greedy continuations must agree on at least their first words (measured: 15+ tokens)
SAME_WORDS = 6
FILE_BUDGET_S = 150.0


@pytest.fixture(scope="module")
def server() -> Iterator[LlamaCppServer]:
    python = engine_python()
    if python is None:
        pytest.skip("llama.cpp server not built: run `bash scripts/engines/llamacpp.sh` (make test does)")
    started = time.monotonic()
    os.environ[KEY_ENV] = "tunegate-test-key"
    srv = LlamaCppServer(python, embedded_gguf(), api_key=os.environ[KEY_ENV]).start()
    yield srv
    srv.stop()
    del os.environ[KEY_ENV]
    elapsed = time.monotonic() - started
    assert elapsed < FILE_BUDGET_S, f"llama.cpp tests took {elapsed:.0f} s (budget {FILE_BUDGET_S:g} s)"


@pytest.fixture(scope="module")
def remote(server: LlamaCppServer) -> Backend:
    return Model(server.spec(api_key_env=KEY_ENV)).backend


@pytest.fixture(scope="module")
def local() -> Backend:
    return Model(f"gguf:{embedded_gguf()}").backend


def test_loglikelihood_agrees_and_ranks_choices_alike(remote: Backend, local: Backend) -> None:
    reqs = [LoglikelihoodRequest("The capital of France is", c) for c in (" Paris", " London", " a city")]
    reqs.append(LoglikelihoodRequest("Water boils at", " 100 degrees"))
    got, want = remote.loglikelihood(reqs), local.loglikelihood(reqs)
    for r, g, w in zip(reqs, got, want, strict=True):
        assert g.n_tokens == w.n_tokens, r
        assert abs(g.logprob - w.logprob) <= TOL_PER_TOKEN * w.n_tokens, (r, g, w)
        assert g.is_greedy == w.is_greedy, (r, g, w)
    rank = sorted(range(3), key=lambda i: got[i].logprob)
    assert rank == sorted(range(3), key=lambda i: want[i].logprob)  # what a multiple-choice metric reads


def test_rolling_scores_all_but_the_first_token(remote: Backend, local: Backend) -> None:
    """The first-token gap: llama.cpp gives the first token no logprob; the rest matches."""
    text = "The capital of France is Paris."
    (got,) = remote.loglikelihood_rolling([RollingRequest(text)])
    (whole,) = local.loglikelihood_rolling([RollingRequest(text)])
    (rest,) = local.loglikelihood([LoglikelihoodRequest("The", " capital of France is Paris.")])
    assert got.n_tokens == whole.n_tokens - 1 == rest.n_tokens
    assert abs(got.logprob - rest.logprob) <= TOL_PER_TOKEN * rest.n_tokens


def test_empty_context_is_refused_not_scored_short(remote: Backend) -> None:
    with pytest.raises(BackendError, match="first-token gap"):
        remote.loglikelihood([LoglikelihoodRequest("", "Paris")])


def test_greedy_generation_agrees_on_the_first_words(remote: Backend, local: Backend) -> None:
    reqs = [
        GenerateRequest("The capital of France is", max_new_tokens=16),
        GenerateRequest("def fibonacci(n):", max_new_tokens=16),
        GenerateRequest("Question: What is the largest planet?\nAnswer:", max_new_tokens=16, stop=("\n",)),
    ]
    got, want = remote.generate(reqs), local.generate(reqs)
    for r, g, w in zip(reqs, got, want, strict=True):
        assert g.text.split()[:SAME_WORDS] == w.text.split()[:SAME_WORDS], (r.prompt, g.text, w.text)
        assert len(w.text.split()) >= 1
    assert got[0].finish == want[0].finish == "length" and got[0].n_tokens == 16
    assert "\n" not in got[2].text and got[2].text.strip() == want[2].text.strip()


def test_chat_goes_through_the_servers_gemma_template(remote: Backend, local: Backend) -> None:
    """The server applies ``--chat_format gemma``; the base GGUF has no template of its own, so the
    in-process side is given the same turns written out by hand."""
    question = "What is the capital of France?"
    (got,) = remote.generate([GenerateRequest((ChatMessage("user", question),), max_new_tokens=12)])
    turns = f"<start_of_turn>user\n{question}<end_of_turn>\n<start_of_turn>model\n"
    (want,) = local.generate([GenerateRequest(turns, max_new_tokens=12, stop=("<end_of_turn>",))])
    assert got.chat_template is True
    assert got.text.split()[:SAME_WORDS] == want.text.split()[:SAME_WORDS], (got.text, want.text)


def test_a_wrong_key_is_a_clear_error(server: LlamaCppServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEGATE_TEST_WRONG_KEY", "not-the-key")
    backend = Model(server.spec(api_key_env="TUNEGATE_TEST_WRONG_KEY")).backend
    with pytest.raises(BackendError, match=r"\(401\).*check api_key_env"):
        backend.generate([GenerateRequest("Hi", max_new_tokens=1)])


def test_compare_cli_against_the_server(server: LlamaCppServer, tmp_path: Path) -> None:
    """End to end: the in-process model as base, the same weights served by llama.cpp as tuned."""
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "name: served\ntasks:\n  - task: triviaqa\n    limit: 3\n"
        "    gates:\n      - metric: exact_match\n        max_drop: 0.5\n"
    )
    out = tmp_path / "r.json"
    args = ["compare", "--base", f"gguf:{embedded_gguf()}", "--tuned", server.spec(api_key_env=KEY_ENV)]
    args += ["--suite", str(suite), "--db", f"sqlite:///{tmp_path / 's.db'}", "--json", str(out), "-q"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code in (0, 3), res.output  # 3 items cannot show a drop is small: INCONCLUSIVE
    data = json.loads(out.read_text())
    (metric,) = [m for m in data["tasks"][0]["metrics"] if m["metric"] == "exact_match"]
    assert metric["n"] == 3 and metric["base"] == metric["tuned"]  # short greedy answers agree
    assert "server=llamacpp" in json.dumps(data) and "tunegate-test-key" not in out.read_text()
