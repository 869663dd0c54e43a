"""Batching keeps a multiple-choice item's requests (same context) in one backend call, and documents
sharing a prefix next to each other."""

from __future__ import annotations

from tunegate.models import GenerateRequest, LoglikelihoodRequest
from tunegate.models._order import by_prefix_family as _batches


def test_choices_of_one_context_are_never_split() -> None:
    reqs = [
        LoglikelihoodRequest(ctx, f" {choice}")
        for ctx in ("short", "the much longer context", "mid context")
        for choice in ("a", "bb", "ccc", "dddd")
    ]
    batches = _batches(reqs, list(range(len(reqs))), size=6)
    assert sorted(i for b in batches for i in b) == list(range(len(reqs)))
    for batch in batches:
        contexts = [reqs[i].context for i in batch]
        for ctx in set(contexts):
            assert contexts.count(ctx) == 4  # a context's four choices travel together
    # unrelated documents go longest first (similar lengths meet: little padding)
    assert [reqs[b[0]].context for b in batches] == ["the much longer context", "mid context", "short"]


def test_documents_sharing_a_prefix_travel_together() -> None:
    shots = "Q: 1+1?\nA: 2\n\nQ: 2+2?\nA: 4\n\n"  # a fixed few-shot block
    questions = [f"{shots}Q: {n}+{n}?\nA:" for n in range(3, 9)] + ["Say hi.", "Zebra?"]
    reqs = [LoglikelihoodRequest(q, c) for q in reversed(questions) for c in (" yes", " no")]
    batches = _batches(reqs, list(range(len(reqs))), size=12)
    first = {reqs[i].context for i in batches[0]}
    assert first == {q for q in questions if q.startswith(shots)}  # all six few-shot documents
    assert [reqs[i].context for i in batches[0]] == sorted(reqs[i].context for i in batches[0])
    # the family (longest member first among families) goes before the shorter unrelated contexts
    assert {reqs[i].context for i in batches[1]} == {"Say hi.", "Zebra?"}


def test_a_family_is_split_only_when_larger_than_a_batch_and_then_into_batches_of_its_own() -> None:
    """Splitting a family runs its shared prefix once per batch: a family that fits is never split, a
    larger one travels whole up to FAMILY_BATCHES batch sizes, beyond that in near-equal parts."""
    from tunegate.models._order import FAMILY_BATCHES

    shots = "Q: 1+1?\nA: 2\n\nQ: 2+2?\nA: 4\n\nQ: 3+3?\nA: 6\n\n"
    longer = "An unrelated and much longer question, number {n}? {n} {n} {n} {n} {n} {n}"
    lone = [LoglikelihoodRequest(longer.format(n=n), " yes") for n in range(3)]

    def family(n_docs: int) -> list[LoglikelihoodRequest]:
        return [LoglikelihoodRequest(f"{shots}Q: {n}?", c) for n in range(n_docs) for c in (" a", " b")]

    def batches_of_family(reqs):  # type: ignore[no-untyped-def]
        batches = _batches(reqs, list(range(len(reqs))), size=8)
        assert sorted(i for b in batches for i in b) == list(range(len(reqs)))
        return [b for b in batches if any(reqs[i].context.startswith(shots) for i in b)]

    # 3 longer unrelated requests go first; the 6-request family does not fill their batch's free room
    fits = batches_of_family(lone + family(3))
    assert len(fits) == 1 and len(fits[0]) == 6
    whole = batches_of_family(family(4 * FAMILY_BATCHES) + lone)  # 32 requests: one batch of its own
    assert [len(b) for b in whole] == [32]
    parts = batches_of_family(family(4 * FAMILY_BATCHES + 1))  # 34 requests: two near-equal parts
    assert sorted(len(b) for b in parts) == [16, 18]


def test_a_group_larger_than_the_batch_is_its_own_batch() -> None:
    reqs = [LoglikelihoodRequest("same", f" {c}") for c in "abcde"] + [LoglikelihoodRequest("x", " y")]
    batches = _batches(reqs, list(range(6)), size=2)
    assert sorted(len(b) for b in batches) == [1, 5]


def test_other_kinds_are_plain_length_sorted_chunks() -> None:
    reqs = [GenerateRequest("a" * n) for n in (3, 9, 1, 7, 5)]
    batches = _batches(reqs, list(range(5)), size=2)
    assert [[reqs[i].size() for i in b] for b in batches] == [[9, 7], [5, 3], [1]]


def test_the_hf_backend_keeps_its_prefix_family_batches(tiny_model_dir) -> None:  # type: ignore[no-untyped-def]
    """The HF scorer's batches are the prefix-family batches of 128 requests the engine always made."""
    from tunegate.models import Model
    from tunegate.models._order import longest_first

    backend = Model(f"hf:{tiny_model_dir}").backend
    shots = "Q: 1+1?\nA: 2\n\nQ: 2+2?\nA: 4\n\n"
    reqs = [LoglikelihoodRequest(f"{shots}Q: {n}?", c) for n in range(80) for c in (" a", " b", " c")]
    missing = list(range(len(reqs)))
    size = backend.batch_size("loglikelihood")
    assert size == 128
    assert backend.plan(reqs, missing, size) == _batches(reqs, missing, size)
    assert backend.plan(reqs, missing, size) != longest_first(reqs, missing, size)  # not the default order
