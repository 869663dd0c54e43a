"""The openai backend against a real HTTP server on 127.0.0.1 (see ``_fake_openai_server``).

httpx is never patched: every request crosses a socket, and the server records what it received.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.models._fake_openai_server import FakeOpenAIServer, token_logprob, tokenize
from tunegate.engine import Engine, Policy
from tunegate.errors import BackendError, ConfigError, ModelSpecError
from tunegate.models import (
    ChatMessage,
    GenerateRequest,
    GenerateResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Model,
    Result,
    RollingRequest,
    TransientBackendError,
    parse_model_spec,
)
from tunegate.models._openai import OpenAIBackend, OpenAILoader, Settings
from tunegate.store import open_store

FILE_BUDGET_S = 20.0
Make = Callable[[str], OpenAIBackend]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAIServer]:
    started = time.monotonic()
    srv = FakeOpenAIServer(slow_seconds=2.0).start()
    yield srv
    srv.stop()
    elapsed = time.monotonic() - started
    assert elapsed < FILE_BUDGET_S, f"test_openai.py took {elapsed:.1f} s (budget {FILE_BUDGET_S:g} s)"


@pytest.fixture(autouse=True)
def _fast_client(server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Short timeouts and tiny backoff, so misbehaving endpoints cost milliseconds."""
    monkeypatch.setenv("TUNEGATE_OPENAI_TIMEOUT", "0.5")
    monkeypatch.setenv("TUNEGATE_BACKOFF", "0.01")
    for var in ("TUNEGATE_ATTEMPTS", "TUNEGATE_OPENAI_ATTEMPTS", "TUNEGATE_OPENAI_BACKOFF"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("TUNEGATE_OPENAI_CONCURRENCY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    server.reset()


@pytest.fixture()
def engine(server: FakeOpenAIServer, tmp_path: Path) -> Iterator[Callable[[str], Engine]]:
    """An engine (retries, concurrency) around the openai backend for ``model``, on a fresh store."""
    stores = []

    def make(model: str = "m", **options: str) -> Engine:
        opts = "".join(f"&{k}={v}" for k, v in options.items())
        stores.append(open_store(f"sqlite:///{tmp_path / f'{model}{len(stores)}.db'}"))
        return Engine(Model(f"openai:{model}?base_url={server.url}{opts}"), stores[-1])

    yield make
    for st in stores:
        st.close()


@pytest.fixture()
def backend(server: FakeOpenAIServer) -> Iterator[Make]:
    made: list[OpenAIBackend] = []

    def make(model: str = "m") -> OpenAIBackend:
        made.append(OpenAIBackend(server.url, model))
        return made[-1]

    yield make
    for b in made:
        b.close()


# -- generation -----------------------------------------------------------------------------------------
def test_generate_sends_greedy_requests_and_keeps_order(
    server: FakeOpenAIServer, engine: Callable[[str], Engine]
) -> None:
    reqs = [GenerateRequest(f"Question number q{i}", max_new_tokens=10, stop=("END",)) for i in range(24)]
    got = [r for r in engine("m").run(reqs) if isinstance(r, GenerateResult)]
    assert [r.text for r in got] == [f" q{i} is nice. " for i in range(24)]
    assert all(r.finish == "stop" and not r.chat_template and r.n_tokens == 4 for r in got)
    bodies = server.bodies("/v1/completions")
    assert sorted(b["prompt"] for b in bodies) == sorted(r.prompt for r in reqs)
    for b in bodies:
        assert b["model"] == "m"
        assert b["temperature"] == 0 and b["stop"] == ["END"] and b["max_tokens"] == 10
        assert b["seed"] == 0 and b["top_p"] == 1.0
    assert 1 < server.max_in_flight <= 8  # the engine keeps TUNEGATE_OPENAI_CONCURRENCY in flight


def test_generate_finish_reasons(server: FakeOpenAIServer, backend: Make) -> None:
    short, whole = backend("m").generate(
        [GenerateRequest("say x", max_new_tokens=2), GenerateRequest("say x", max_new_tokens=50)]
    )
    assert (short.text, short.finish) == (" x is", "length")
    assert (whole.text, whole.finish) == (" x is nice. END of the answer", "eos")
    assert "stop" not in server.bodies("/v1/completions")[0]


def test_generate_cuts_stop_strings_the_server_ignored(backend: Make) -> None:
    (res,) = backend("nostop").generate([GenerateRequest("say x", stop=("zzz", "nice"))])
    assert (res.text, res.finish) == (" x is ", "stop")


def test_sampled_request_forwards_temperature_top_p_and_seed(server: FakeOpenAIServer, backend: Make) -> None:
    backend("m").generate([GenerateRequest("say x", temperature=0.7, top_p=0.9, seed=3)])
    (body,) = server.bodies("/v1/completions")
    assert (body["temperature"], body["top_p"], body["seed"]) == (0.7, 0.9, 3)


def test_chat_prompts_go_to_chat_completions(server: FakeOpenAIServer, backend: Make) -> None:
    msgs = (ChatMessage("system", "be brief"), ChatMessage("user", "hello"))
    b = backend("m")
    chat, forced, plain = b.generate(
        [
            GenerateRequest(msgs, stop=("END",)),
            GenerateRequest("hi there", chat=True),
            GenerateRequest(msgs, chat=False, max_new_tokens=1),
        ]
    )
    assert (chat.text, chat.finish, chat.chat_template) == (" chat:hello is nice. ", "stop", True)
    assert forced.chat_template and forced.text.startswith(" chat:hi there")
    assert not plain.chat_template and plain.finish == "length"
    sent = {b["messages"][-1]["content"]: b for b in server.bodies("/v1/chat/completions")}
    assert sent["hello"]["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello"},
    ]
    assert sent["hello"]["stop"] == ["END"] and sent["hi there"]["messages"][0]["role"] == "user"
    (rendered,) = server.bodies("/v1/completions")
    assert rendered["prompt"] == "system: be brief\nuser: hello\nassistant:"


# -- scoring --------------------------------------------------------------------------------------------
def _expected(context: str, continuation: str) -> tuple[float, bool, int]:
    """What the fake server's tokens give for the continuation (with trailing space moved)."""
    stripped = context.rstrip()
    toks = tokenize(context + continuation)
    pos, total, greedy, n = 0, 0.0, True, 0
    for t in toks:
        if pos >= len(stripped):
            total, n = total + token_logprob(t), n + 1
            greedy = greedy and not t.strip()[:1].isupper()
        pos += len(t)
    return total, greedy, n


LL_REQS = [
    LoglikelihoodRequest("The cat sat on the", " mat"),
    LoglikelihoodRequest("Paris is the capital of ", "France"),
    LoglikelihoodRequest("", "hello world"),
    LoglikelihoodRequest("Two words", " then Three more"),
    LoglikelihoodRequest("ends in spaces  ", "x"),
]


def test_loglikelihood_sums_exactly_the_continuation_tokens(server: FakeOpenAIServer, backend: Make) -> None:
    got = backend("m").loglikelihood(LL_REQS)
    assert (got[0].logprob, got[0].is_greedy, got[0].n_tokens) == (-1.0, True, 1)  # " mat"
    assert (got[1].logprob, got[1].is_greedy, got[1].n_tokens) == (-1.75, False, 1)  # " France"
    assert (got[2].logprob, got[2].is_greedy, got[2].n_tokens) == (-2.75, True, 2)  # "hello", " world"
    for req, res in zip(LL_REQS, got, strict=True):
        assert (res.logprob, res.is_greedy, res.n_tokens) == _expected(req.context, req.continuation)
    bodies = server.bodies("/v1/completions")
    assert sorted(b["prompt"] for b in bodies) == sorted(r.context + r.continuation for r in LL_REQS)
    for b in bodies:
        assert (b["echo"], b["logprobs"], b["max_tokens"], b["temperature"]) == (True, 1, 0, 0)


def test_whitespace_in_context_or_continuation_scores_the_same(backend: Make) -> None:
    a, b = backend("m").loglikelihood(
        [LoglikelihoodRequest("capital of ", "France"), LoglikelihoodRequest("capital of", " France")]
    )
    assert a == b


def test_loglikelihood_without_bos_token(backend: Make) -> None:
    b = backend("nobos")
    (res,) = b.loglikelihood([LoglikelihoodRequest("The cat sat on the", " mat")])
    assert (res.logprob, res.n_tokens) == (-1.0, 1)
    with pytest.raises(BackendError, match="no logprob for the first token"):
        b.loglikelihood([LoglikelihoodRequest("", "hello world")])


def test_server_needing_max_tokens_1_gives_the_same_scores(server: FakeOpenAIServer, backend: Make) -> None:
    want = backend("m").loglikelihood(LL_REQS)
    b = backend("needs1")
    assert b.loglikelihood(LL_REQS[:1]) == want[:1]
    assert b.loglikelihood(LL_REQS) == want
    sent = [x["max_tokens"] for x in server.bodies("/v1/completions") if x["model"] == "needs1"]
    assert sent[:2] == [0, 1] and set(sent[2:]) == {1}  # asks with 0 once, then remembers
    (rolled,) = b.loglikelihood_rolling([RollingRequest("a b C")])
    assert rolled.logprob == -0.25 * (1 + 2 + 2)


def test_server_without_echo_says_so(backend: Make) -> None:
    with pytest.raises(BackendError, match=r"refused the request \(400\).*echo.*generation tasks still work"):
        backend("noecho").loglikelihood([LoglikelihoodRequest("a", " b")])


def test_rolling_sums_every_scored_token(server: FakeOpenAIServer, backend: Make) -> None:
    text = "The quick brown fox jumps"
    whole, empty = backend("m").loglikelihood_rolling([RollingRequest(text), RollingRequest("")])
    assert whole.logprob == sum(token_logprob(t) for t in tokenize(text)) and whole.n_tokens == 5
    assert (empty.logprob, empty.n_tokens) == (0.0, 0)
    assert [b["prompt"] for b in server.bodies("/v1/completions")] == [text]  # nothing sent for ""
    (nobos,) = backend("nobos").loglikelihood_rolling([RollingRequest(text)])
    assert nobos.logprob == whole.logprob - token_logprob("The") and nobos.n_tokens == 4


# -- failures (the engine retries what the backend calls transient) ----------------------------------
def test_timeout_is_retried(server: FakeOpenAIServer, engine: Callable[..., Engine]) -> None:
    (res,) = engine("slow").run([GenerateRequest("say x")])
    assert isinstance(res, GenerateResult) and res.text.startswith(" x is") and server.calls["slow"] == 2


def test_500_twice_then_success(server: FakeOpenAIServer, engine: Callable[..., Engine]) -> None:
    (res,) = engine("flaky").run([LoglikelihoodRequest("The cat sat on the", " mat")])
    assert isinstance(res, LoglikelihoodResult) and res.logprob == -1.0 and server.calls["flaky"] == 3


def test_always_500_gives_up_with_a_clear_error(
    server: FakeOpenAIServer, engine: Callable[..., Engine]
) -> None:
    with pytest.raises(BackendError) as e:
        engine("broken").run([GenerateRequest(f"q{i}") for i in range(3)])
    msg = str(e.value)
    assert f"endpoint {server.url}/completions returned 500" in msg and "gave up after 5 attempts" in msg
    assert "CUDA error: out of memory" in msg and "is the server healthy?" in msg
    assert server.calls["broken"] >= 5


def test_one_attempt_per_call_of_the_backend(server: FakeOpenAIServer, backend: Make) -> None:
    with pytest.raises(TransientBackendError, match="returned 500"):
        backend("broken").generate([GenerateRequest("q")])
    assert server.calls["broken"] == 1


def test_attempts_are_configurable(
    server: FakeOpenAIServer, engine: Callable[..., Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNEGATE_ATTEMPTS", "2")
    with pytest.raises(BackendError, match="gave up after 2 attempts"):
        engine("broken").run([GenerateRequest("q")])
    assert server.calls["broken"] == 2
    monkeypatch.setenv("TUNEGATE_ATTEMPTS", "lots")
    with pytest.raises(ConfigError, match="TUNEGATE_ATTEMPTS"):
        Policy.from_env()


def test_client_errors_are_not_retried(server: FakeOpenAIServer, engine: Callable[..., Engine]) -> None:
    with pytest.raises(BackendError, match=r"refused the request \(401\): .*missing API key.*api_key_env"):
        engine("locked").run([GenerateRequest("q")])
    assert server.calls["locked"] == 1


@pytest.mark.parametrize(("model", "why"), [("garbage", "not JSON"), ("nofields", "no choices")])
def test_garbled_response(backend: Make, model: str, why: str) -> None:
    with pytest.raises(BackendError, match=f"returned a garbled response \\({why}"):
        backend(model).generate([GenerateRequest("q")])
    with pytest.raises(BackendError, match="garbled"):
        backend(model).loglikelihood([LoglikelihoodRequest("a", " b")])


def test_429_honours_retry_after(server: FakeOpenAIServer, engine: Callable[..., Engine]) -> None:
    start = time.monotonic()
    (res,) = engine("busy").run([GenerateRequest("say x")])
    assert time.monotonic() - start >= 0.95
    assert isinstance(res, GenerateResult) and res.text.startswith(" x is") and server.calls["busy"] == 2


def test_unreachable_server() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    b = OpenAIBackend(f"http://127.0.0.1:{port}/v1", "m", settings=Settings())
    with pytest.raises(
        TransientBackendError, match=rf"could not reach endpoint http://127.0.0.1:{port}/v1/completions"
    ):
        b.generate([GenerateRequest("q")])
    b.close()


# -- spec, fingerprint, engine --------------------------------------------------------------------------
def test_fingerprint_uses_name_and_server_facts(server: FakeOpenAIServer) -> None:
    loader = OpenAILoader()

    def fp(spec: str) -> str:
        return loader.fingerprint(parse_model_spec(spec))

    m = fp(f"openai:m?base_url={server.url}")
    assert fp(f"openai:m?base_url={server.url}/") == m  # stable, though vLLM-like "created" changes
    assert fp(f"openai:m?base_url={server.url}&batch_size=4") == m
    assert fp(f"openai:tuned?base_url={server.url}") != m
    server.roots["m"] = "/models/m-step-200"
    try:
        assert fp(f"openai:m?base_url={server.url}") != m  # the server serves another checkpoint
    finally:
        server.roots["m"] = "/models/m-step-100"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = f"openai:m?base_url=http://127.0.0.1:{port}/v1"
    assert fp(down) == fp(down) != m  # name only, when the server does not answer


def test_spec_options(server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "sekret")
    model = Model(f"openai:m?base_url={server.url}&api_key_env=MY_KEY&batch_size=4")
    backend = model.backend
    assert isinstance(backend, OpenAIBackend) and backend.default_batch_size == 4
    backend.generate([GenerateRequest("q")])
    headers = next(h for p, h, _ in server.requests if p == "/v1/completions")
    assert {k.lower(): v for k, v in headers.items()}["authorization"] == "Bearer sekret"
    backend.close()
    assert Model(f"openai:m?base_url={server.url}&api_key_env=NOPE_KEY").fingerprint  # no key needed
    with pytest.raises(ModelSpecError, match="NOPE_KEY"):
        _ = Model(f"openai:m?base_url={server.url}&api_key_env=NOPE_KEY").backend
    with pytest.raises(ModelSpecError, match="base_url=http://localhost:8000/v1"):
        _ = Model("openai:m").backend
    with pytest.raises(ModelSpecError, match="http://"):
        _ = Model("openai:m?base_url=localhost:8000").backend


def test_engine_answers_from_the_server_once_then_from_the_cache(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    spec = f"openai:m?base_url={server.url}"
    reqs = [LoglikelihoodRequest("The cat sat on the", w) for w in (" mat", " hat", " Dog")]
    gens = [GenerateRequest(f"say q{i}", stop=("END",)) for i in range(5)]

    def run() -> tuple[list[Result], list[Result], Model]:
        model = Model(spec)
        engine = Engine(model, open_store(url))
        return engine.run(reqs), engine.run(gens), model

    first_ll, first_gen, model = run()
    assert server.calls["m"] == 8
    assert [r.logprob for r in first_ll if isinstance(r, LoglikelihoodResult)] == [-1.0, -1.0, -1.0]
    assert isinstance(model.backend, OpenAIBackend)
    model.backend.close()
    again_ll, again_gen, again = run()
    assert (again_ll, again_gen) == (first_ll, first_gen)
    assert server.calls["m"] == 8 and not again.loaded  # nothing sent, nothing loaded
