"""The engine around the tiny transformers model: order, de-duplication, the cache, batching, and
write-as-you-go.

The backend is real; where a test needs to see what the backend was asked, it wraps the bound method
on that one backend *instance* (a spy that still calls the real method).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tunegate.engine import Engine
from tunegate.models import GenerateRequest, LoglikelihoodRequest, Model, request_key
from tunegate.models._hf_loaders import HFLoader
from tunegate.store import Store, open_store

# Lengths deliberately out of order, so sorting by length is visible.
LL = [
    LoglikelihoodRequest("Hi", " there"),
    LoglikelihoodRequest("A much longer context that goes on for quite a while, and then", " ends here."),
    LoglikelihoodRequest("Paris is the capital of", " France"),
    LoglikelihoodRequest("", "hello world"),
    LoglikelihoodRequest("The quick brown fox jumps over", " the lazy dog"),
    LoglikelihoodRequest("x", "y"),
    LoglikelihoodRequest("Medium sized context here", " ok"),
]
GEN = [
    GenerateRequest("Question: what is 2+2?\nAnswer:", max_new_tokens=6, stop=("\n",)),
    GenerateRequest("Hi", max_new_tokens=4),
    GenerateRequest("Once upon a time, in a land far, far away, there lived", max_new_tokens=5),
]


@pytest.fixture()
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'engine.db'}")
    yield s
    s.close()


@pytest.fixture()
def base_spec(tiny_model_dir: Path) -> str:
    return f"hf:{tiny_model_dir}"


@pytest.fixture()
def tuned_spec(tiny_model_dir: Path, tiny_adapter_dir: Path) -> str:
    return f"hf:{tiny_model_dir}?adapter={tiny_adapter_dir}"


def _spy(backend: Any, name: str, calls: list[list[Any]], fail_on: int | None = None) -> None:
    """Record every batch ``backend.<name>`` is given; raise on call number ``fail_on`` (1-based)."""
    real: Callable[..., Any] = getattr(backend, name)

    def spy(batch: Any) -> Any:
        calls.append(list(batch))
        if fail_on is not None and len(calls) == fail_on:
            raise RuntimeError("backend blew up")
        return real(batch)

    setattr(backend, name, spy)


def _forbid_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_load(self: Any, spec: Any) -> Any:
        raise AssertionError(f"weights of {spec} were loaded although every answer is cached")

    monkeypatch.setattr(HFLoader, "load", no_load)


def test_results_come_back_in_input_order(base_spec: str, sqlite_store: Store) -> None:
    model = Model(base_spec)
    eng = Engine(model, sqlite_store, batch_size=3)
    got: list[Any] = eng.run(LL)
    # the reference: every request alone, straight to the backend
    want = [Model(base_spec).backend.loglikelihood([r])[0] for r in LL]
    assert len(got) == len(LL)
    for g, w in zip(got, want, strict=True):
        assert g.logprob == pytest.approx(w.logprob, abs=1e-4)
        assert g.n_tokens == w.n_tokens
    # the numbers are distinct enough that a permutation could not pass
    assert len({round(w.logprob, 3) for w in want}) == len(LL)
    gen: list[Any] = eng.run(GEN)
    want_gen = [Model(base_spec).backend.generate([r])[0] for r in GEN]
    assert [g.text for g in gen] == [w.text for w in want_gen]
    assert [g.n_tokens for g in gen] == [w.n_tokens for w in want_gen]
    assert eng.stats.computed == len(LL) + len(GEN)
    assert eng.stats.cached == 0


def test_requests_of_mixed_kinds_are_refused(base_spec: str, sqlite_store: Store) -> None:
    with pytest.raises(ValueError):
        Engine(Model(base_spec), sqlite_store).run([LL[0], GEN[0]])
    assert Engine(Model(base_spec), sqlite_store).run([]) == []


def test_duplicates_in_one_list_are_computed_once(base_spec: str, sqlite_store: Store) -> None:
    model = Model(base_spec)
    calls: list[list[Any]] = []
    _spy(model.backend, "loglikelihood", calls)
    reqs = [LL[0], LL[1], LL[0], LL[2], LL[1], LL[0]]
    eng = Engine(model, sqlite_store, batch_size=2)
    got = eng.run(reqs)
    seen = [r for batch in calls for r in batch]
    assert sorted(seen, key=repr) == sorted([LL[0], LL[1], LL[2]], key=repr)
    assert eng.stats.computed == 3
    assert got[0] == got[2] == got[5]
    assert got[1] == got[4]
    assert got[0] != got[1] != got[3]
    assert sqlite_store.count_responses(model.fingerprint) == 3


def test_second_run_is_served_from_cache_without_loading_weights(
    base_spec: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(db_url)
    try:
        first = Engine(Model(base_spec), store, batch_size=4)
        ll1, gen1 = first.run(LL), first.run(GEN)
        assert first.stats.computed == len(LL) + len(GEN)

        _forbid_loading(monkeypatch)
        fresh = Model(base_spec)
        again = Engine(fresh, store, batch_size=4)
        ll2, gen2 = again.run(LL), again.run(GEN)
        assert again.stats.computed == 0
        assert again.stats.backend_calls == 0
        assert again.stats.cached == len(LL) + len(GEN)
        assert fresh.loaded is False
        assert ll2 == ll1  # the cache gives back exactly what was computed
        assert gen2 == gen1
    finally:
        store.close()


def test_cache_survives_reopening_the_store(
    base_spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'reopen.db'}"
    s = open_store(url)
    want = Engine(Model(base_spec), s).run(LL)
    s.close()
    _forbid_loading(monkeypatch)
    s = open_store(url)
    eng = Engine(Model(base_spec), s)
    assert eng.run(LL) == want
    assert eng.stats.computed == 0
    s.close()


def test_partial_cache_computes_only_the_misses(base_spec: str, sqlite_store: Store) -> None:
    Engine(Model(base_spec), sqlite_store).run(LL[:3])
    model = Model(base_spec)
    calls: list[list[Any]] = []
    _spy(model.backend, "loglikelihood", calls)
    eng = Engine(model, sqlite_store, batch_size=2)
    eng.run(LL)
    assert (eng.stats.cached, eng.stats.computed) == (3, len(LL) - 3)
    assert {r for b in calls for r in b} == set(LL[3:])


def test_a_different_model_does_not_hit_the_base_cache(
    base_spec: str, tuned_spec: str, sqlite_store: Store
) -> None:
    base, tuned = Model(base_spec), Model(tuned_spec)
    assert base.fingerprint != tuned.fingerprint
    b = Engine(base, sqlite_store)
    base_res: list[Any] = b.run(LL)
    t = Engine(tuned, sqlite_store)
    tuned_res: list[Any] = t.run(LL)
    assert t.stats.cached == 0
    assert t.stats.computed == len(LL)
    assert tuned.loaded
    assert [r.logprob for r in tuned_res] != [r.logprob for r in base_res]  # the adapter is really on
    assert sqlite_store.count_responses(base.fingerprint) == len(LL)
    assert sqlite_store.count_responses(tuned.fingerprint) == len(LL)
    keys = {request_key(base.fingerprint, r) for r in LL} | {request_key(tuned.fingerprint, r) for r in LL}
    assert len(keys) == 2 * len(LL)


@pytest.mark.parametrize("kind", ["loglikelihood", "generate"])
def test_batches_are_sorted_longest_first(kind: str, base_spec: str, sqlite_store: Store) -> None:
    """Unrelated requests (no shared prefix) go longest first, for either kind."""
    reqs = LL if kind == "loglikelihood" else GEN
    size = 3 if kind == "loglikelihood" else 2
    model = Model(base_spec)
    calls: list[list[Any]] = []
    _spy(model.backend, kind, calls)
    eng = Engine(model, sqlite_store, batch_size=size)
    eng.run(reqs)
    n = len(reqs)
    assert [len(b) for b in calls] == [size] * (n // size) + ([n % size] if n % size else [])
    assert eng.stats.backend_calls == len(calls)
    lengths = [r.size() for b in calls for r in b]
    assert lengths == sorted((r.size() for r in reqs), reverse=True)
    assert lengths != [r.size() for r in reqs]  # the input order was not already sorted
    assert sorted((r for b in calls for r in b), key=repr) == sorted(reqs, key=repr)


def test_default_batch_size_comes_from_the_backend(base_spec: str, sqlite_store: Store) -> None:
    model = Model(base_spec)
    model.backend.default_batch_size = 2
    calls: list[list[Any]] = []
    _spy(model.backend, "loglikelihood", calls)
    Engine(model, sqlite_store).run(LL)
    assert [len(b) for b in calls] == [2, 2, 2, 1]


def test_each_batch_is_stored_as_it_arrives(base_spec: str, sqlite_store: Store) -> None:
    model = Model(base_spec)
    calls: list[list[Any]] = []
    _spy(model.backend, "loglikelihood", calls, fail_on=2)
    eng = Engine(model, sqlite_store, batch_size=3)
    with pytest.raises(RuntimeError, match="blew up"):
        eng.run(LL)
    first_batch = calls[0]
    assert len(first_batch) == 3
    fp = model.fingerprint
    stored = sqlite_store.get_responses([request_key(fp, r) for r in LL])
    assert set(stored) == {request_key(fp, r) for r in first_batch}
    assert sqlite_store.count_responses(fp) == 3

    # running again finishes the job, computing only what the crash lost
    model2 = Model(base_spec)
    calls2: list[list[Any]] = []
    _spy(model2.backend, "loglikelihood", calls2)
    eng2 = Engine(model2, sqlite_store, batch_size=3)
    eng2.run(LL)
    assert (eng2.stats.cached, eng2.stats.computed) == (3, len(LL) - 3)
    assert not {r for b in calls2 for r in b} & set(first_batch)
    assert sqlite_store.count_responses(fp) == len(LL)


def test_progress_is_advanced_per_batch(base_spec: str, sqlite_store: Store) -> None:
    from tunegate.engine import NullProgress

    class Recorder(NullProgress):
        def __init__(self) -> None:
            self.events: list[tuple[str, Any]] = []

        def task(self, description: str, total: int) -> Any:
            self.events.append(("task", total))
            return 0

        def advance(self, handle: Any, n: int = 1, tokens: int = 0) -> None:
            self.events.append(("advance", n))

    rec = Recorder()
    Engine(Model(base_spec), sqlite_store, batch_size=3, progress=rec).run(LL)
    assert rec.events == [("task", 7), ("advance", 3), ("advance", 3), ("advance", 1)]
