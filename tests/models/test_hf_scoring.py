"""Packed multiple-choice scoring (``tunegate.models._hf_scoring``) against the plain computation.

Shared prefixes (a document's context, a few-shot block shared across documents) run once, laid out as a
prefix tree attended per segment, in blocks of the tree's own ancestry; the numbers must equal one
plain forward pass per request (1e-4), including contexts longer than the sliding window, and must
not depend on how requests are batched or packed.
"""

from __future__ import annotations

import pytest
import torch

from tunegate.models import LoglikelihoodRequest, Model, _hf_segments
from tunegate.models._hf_scoring import (
    _is_argmax,
    build_segments,
    pack,
    plan,
    score_segments,
    trunk_indices,
)
from tunegate.tasks import TASKS, TaskOptions

LONG = (
    "The quick brown fox jumps over the lazy dog while the cat watches from the warm windowsill. "  # 91 bytes
)

MC = [
    # a document with multi-token choices of different lengths
    *(
        LoglikelihoodRequest("Q: where do cats sleep? A:", c)
        for c in (" on mats", " in boxes", " up", " nowhere at all")
    ),
    # MMLU-like: single-token choices after one context
    *(LoglikelihoodRequest("Pick one.\nAnswer:", c) for c in (" A", " B", " C", " D")),
    # a context longer than the tiny model's sliding window (64)
    *(LoglikelihoodRequest(LONG * 2 + "And then", c) for c in (" it rained.", " they slept.")),
    # documents sharing a long prefix (a few-shot block) across contexts: one tree
    *(LoglikelihoodRequest(LONG * 2 + "Q: is it late?", c) for c in (" yes", " no, not yet")),
    *(LoglikelihoodRequest(LONG * 2 + "Q: who jumped over the dog?", c) for c in (" the fox", " a cat")),
    # a lone request and an empty context
    LoglikelihoodRequest("Paris is the capital of ", "France"),
    LoglikelihoodRequest("", "hello"),
]


def _plain(model, backend, req):  # type: ignore[no-untyped-def]
    ctx, cont = backend._encode_pair(req.context, req.continuation)
    whole = ctx + cont
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([whole[:-1]])).logits[0].float(), -1)
    positions = range(len(ctx) - 1, len(whole) - 1)
    return (
        sum(float(logp[p, whole[p + 1]]) for p in positions),
        all(int(logp[p].argmax()) == whole[p + 1] for p in positions),
    )


def _every_run_a_call(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Attention calls free: every run of a tree becomes an attention block of its own (its keys
    gathered from several ranges), the layout furthest from one masked call per segment."""
    monkeypatch.setattr(_hf_segments, "CALL_PAIRS", 0)
    (doc,) = build_segments([([1, 2, 3, 4], 1), ([1, 2, 3, 5], 1)])  # a context, two choices
    assert len(_hf_segments.attention_blocks(doc.ends)) == 1  # single-token choices add no tokens
    (doc,) = build_segments([([1, 2, 3, 4, 9], 2), ([1, 2, 3, 5, 9], 2)])
    assert len(_hf_segments.attention_blocks(doc.ends)) == 2


@pytest.mark.parametrize("blocks", ["costed", "every run"])
def test_packed_choices_equal_plain_forward(base, tiny_model_dir, blocks, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from transformers import AutoModelForCausalLM

    if blocks == "every run":
        _every_run_a_call(monkeypatch)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    got = base.loglikelihood(MC)
    for req, res in zip(MC, got, strict=True):
        want, greedy = _plain(model, base, req)
        assert res.logprob == pytest.approx(want, abs=1e-4), req
        assert res.is_greedy == greedy


@pytest.mark.parametrize("blocks", ["costed", "every run"])
@pytest.mark.parametrize("impl", ["sdpa", "eager"])
def test_packed_scoring_under_each_attention_implementation(
    impl, blocks, tiny_model_dir, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Each segment runs through the model's own attention function, sdpa's or the modeling file's
    eager one, with an additive mask both take as given (or none for a plain chain)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if blocks == "every run":
        _every_run_a_call(monkeypatch)
    from tunegate.models._hf import HFBackend, SharedWeights

    model = AutoModelForCausalLM.from_pretrained(
        tiny_model_dir, dtype=torch.float32, attn_implementation=impl
    )
    backend = HFBackend(
        SharedWeights(model=model.eval(), tokenizer=AutoTokenizer.from_pretrained(tiny_model_dir))
    )
    assert model.config._attn_implementation == impl
    for req, res in zip(MC, backend.loglikelihood(MC), strict=True):
        assert res.logprob == pytest.approx(_plain(model, backend, req)[0], abs=1e-4), req


def test_the_backend_shares_prefixes_across_documents(base) -> None:  # type: ignore[no-untyped-def]
    """The MC list's two documents after the same long prefix run that prefix once, so the equality
    test above covers cross-document trees (and the sliding window inside them)."""
    rows = []
    for r in MC[10:14]:
        ctx, cont = base._encode_pair(r.context, r.continuation)
        rows.append((ctx + cont, len(cont)))
    segments, _ = plan(rows)
    assert len(segments) == 1
    prefix = len(base._encode(LONG * 2 + "Q:"))
    assert prefix > 64  # longer than the tiny model's sliding window
    per_document = build_segments(rows, min_share=None)
    assert len(per_document) == 2
    a, b = (s.tokens for s in per_document)
    shared = next(k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y)
    assert shared >= prefix
    assert len(segments[0]) == len(a) + len(b) - shared


@pytest.mark.parametrize("budget", [1, 64, 300, 100_000])
def test_scores_do_not_depend_on_batching_or_packing(base, budget) -> None:  # type: ignore[no-untyped-def]
    alone = [base.loglikelihood([r])[0] for r in MC]
    base.tokens_per_forward = budget  # 1: every segment in its own forward; 100k: one forward
    together = base.loglikelihood(MC)
    shuffled_idx = list(reversed(range(len(MC))))
    shuffled = base.loglikelihood([MC[i] for i in shuffled_idx])
    for a, b in zip(alone, together, strict=True):
        assert b.logprob == pytest.approx(a.logprob, abs=1e-4)
        assert b.is_greedy == a.is_greedy and b.n_tokens == a.n_tokens
    for k, i in enumerate(shuffled_idx):
        assert shuffled[k].logprob == pytest.approx(alone[i].logprob, abs=1e-4)


def _same_at_batch_1_and_default_batch(backend, task) -> None:  # type: ignore[no-untyped-def]
    docs = task.docs()
    reqs = [r for d in docs for r in task.requests(d)]
    one = [backend.loglikelihood([r])[0] for r in reqs]
    size = backend.default_batch_size
    batched = [res for a in range(0, len(reqs), size) for res in backend.loglikelihood(reqs[a : a + size])]
    assert [r.logprob for r in batched] == pytest.approx([r.logprob for r in one], abs=1e-4)
    for k, d in enumerate(docs):
        s1 = task.score(d, one[4 * k : 4 * k + 4])
        sb = task.score(d, batched[4 * k : 4 * k + 4])
        assert s1.output == sb.output and s1.values.keys() == sb.values.keys()
        for name, v in s1.values.items():  # accuracy exactly; drift and calibration within float noise
            assert sb.values[name] == pytest.approx(v, abs=1e-4), name


def test_hellaswag_items_same_at_batch_1_and_default_batch(base) -> None:  # type: ignore[no-untyped-def]
    # few-shot contexts exceed the tiny model's sliding window
    _same_at_batch_1_and_default_batch(base, TASKS.get("hellaswag")(TaskOptions(limit=5, shots=2)))


def test_segments_run_each_context_once() -> None:
    ctx = [2, 10, 11, 12]
    rows = [([*ctx, 20], 1), ([*ctx, 21], 1), ([*ctx, 22, 23, 24], 3), ([2, 5, 6], 2)]
    segs = build_segments(rows)
    assert len(segs) == 2
    lone, shared = segs  # sorted by tokens: [2, 5] < [2, 10, ...]
    assert lone.tokens == [2, 5] and lone.scored == [(3, [(0, 5), (1, 6)])]
    # context once; the 1-token choices add nothing; the 3-token choice adds its first two tokens
    assert shared.tokens == [*ctx, 22, 23]
    assert shared.positions == [0, 1, 2, 3, 4, 5]
    assert shared.ends == [6, 6, 6, 6, 6, 6]  # one path: every token sees all before it
    assert shared.scored == [(0, [(3, 20)]), (1, [(3, 21)]), (2, [(3, 22), (4, 23), (5, 24)])]
    with pytest.raises(ValueError):
        build_segments([([7], 1)])


def test_prefixes_shared_across_contexts_form_a_tree() -> None:
    header = list(range(100, 110))  # 10 tokens, >= MIN_SHARE
    rows = [
        ([*header, 1, 2, 40], 1),  # doc 1: one choice
        ([*header, 1, 2, 41], 1),  # doc 1: another choice
        ([*header, 3, 50, 51], 2),  # doc 2: a two-token choice
        ([7, 8, 9], 1),  # shares nothing
    ]
    segs = build_segments(rows)
    tree = next(s for s in segs if len(s.tokens) > 3)
    # header once, then doc 1's tail, then doc 2's tail (the choice's first token is input)
    assert tree.tokens == [*header, 1, 2, 3, 50]
    assert tree.positions == [*range(10), 10, 11, 10, 11]
    # header tokens see everything after them; doc 1's tokens stop at doc 2's start
    assert tree.ends == [14] * 10 + [12, 12, 14, 14]
    by_req = dict(tree.scored)
    assert by_req[0] == [(11, 40)] and by_req[1] == [(11, 41)]
    assert by_req[2] == [(12, 50), (13, 51)]
    # without sharing, or below the share threshold, the two documents are separate segments
    assert len(build_segments(rows, min_share=None)) == 3
    assert len(build_segments(rows, min_share=11)) == 3
    # a cap splits the tree; without trunks each piece repeats the prefix it needs
    capped = build_segments(rows, cap=12, trunks=False)
    assert sorted(len(s) for s in capped) == [2, 12, 12]


def test_a_tree_larger_than_the_cap_runs_its_common_prefix_once_as_a_trunk() -> None:
    header = list(range(100, 110))
    rows = [
        ([*header, 1, 2, 40], 1),
        ([*header, 1, 2, 41], 1),
        ([*header, 3, 50, 51], 2),
        ([*header, 3, 4, 5, 6], 1),  # the doc of the row before, more tokens: same piece (whole context)
        ([7, 8, 9], 1),
    ]
    segs = build_segments(rows, cap=3)
    trunk = next(s for s in segs if s.keep)
    assert trunk.tokens == header and trunk.positions == list(range(10)) and trunk.ends == [10] * 10
    assert trunk.scored == [] and trunk.trunk is None
    pieces = [s for s in segs if s.trunk is trunk]
    assert [p.tokens for p in pieces] == [[1, 2], [3, 4, 5, 50]]
    assert pieces[0].positions == [10, 11] and pieces[1].positions == [10, 11, 12, 11]
    assert pieces[1].ends == [4, 3, 3, 4]  # 3 sees 4 5 (its extension) and 50; 4 and 5 stop before 50
    assert dict(pieces[0].scored) == {0: [(1, 40)], 1: [(1, 41)]}
    assert dict(pieces[1].scored) == {3: [(2, 6)], 2: [(0, 50), (3, 51)]}
    assert [s.tokens for s in segs if s.trunk is None and not s.keep] == [[7, 8]]
    # no trunk where the tree fits the cap, or without trunks
    assert not any(s.keep for s in build_segments(rows, cap=100))
    assert not any(s.keep or s.trunk for s in build_segments(rows, cap=3, trunks=False))
    # the trunk stops before every scored position: here the whole shared context but its last token
    short = [([*header, 1, 40], 1), ([*header, 1, 41, 42], 2)]
    assert next(s for s in build_segments(short, cap=1) if s.keep).tokens == header


@pytest.mark.parametrize("blocks", ["costed", "every run"])
@pytest.mark.parametrize("budget", [1, 40, 100_000])
def test_trunk_pieces_equal_the_plain_forward(base, tiny_model_dir, budget, blocks, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Pieces attending to a kept trunk (longer than the tiny model's sliding window of 64) score as
    plain forwards do, whether the trunk runs in an earlier forward or first in the same one."""
    from transformers import AutoModelForCausalLM

    if blocks == "every run":
        _every_run_a_call(monkeypatch)
    from tunegate.models._hf import _core

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    reqs = MC[10:14] + [LoglikelihoodRequest(LONG * 2 + "Q: and the cat?", c) for c in (" slept", " ran off")]
    rows = []
    for r in reqs:
        ctx, cont = base._encode_pair(r.context, r.continuation)
        rows.append((ctx + cont, len(cont)))
    segments = build_segments(rows, cap=8)
    trunk = next(s for s in segments if s.keep)
    assert len(trunk) > 64 and sum(s.trunk is trunk for s in segments) >= 3
    forwards = pack([len(s) for s in segments], budget, trunk_indices(segments))
    assert (len(forwards) > 1) == (budget < 100_000)
    core = _core(model)
    with torch.inference_mode():
        got = score_segments(
            core.get_decoder(),
            core.get_output_embeddings(),
            core.config,
            segments,
            forwards,
            len(rows),
            device=torch.device("cpu"),
        )
    for req, (lp, greedy) in zip(reqs, got, strict=True):
        want, want_greedy = _plain(model, base, req)
        assert lp == pytest.approx(want, abs=1e-4), req
        assert greedy == want_greedy


def test_pack_runs_a_trunk_before_the_segments_that_need_it() -> None:
    lengths = [50, 10, 300, 60, 5]  # 2 is a trunk for 0, 3 and 4
    after = [2, None, None, 2, 2]
    for budget in (1, 100, 400, 1000):
        forwards = pack(lengths, budget, after)
        where = {i: (f, k) for f, fw in enumerate(forwards) for k, i in enumerate(fw)}
        assert sorted(where) == list(range(5))
        for i in (0, 3, 4):
            assert where[i] > where[2], (budget, forwards)


def test_plan_shares_a_few_shot_block() -> None:
    shots = list(range(1000, 1600))  # a 600-token few-shot block shared by 40 questions
    rows = [([*shots, 2000 + q, 3000 + q, 4000 + c], 1) for q in range(40) for c in range(4)]
    segments, forwards = plan(rows)
    tokens = sum(len(segments[i]) for forward in forwards for i in forward)
    assert tokens == 600 + 40 * 2  # the block once, as a trunk; each question's two tokens once
    assert [len(s) for s in segments if s.keep] == [600]
    placed = sorted(req for s in segments for req, _ in s.scored)
    assert placed == list(range(len(rows)))


def test_pack_respects_the_token_budget() -> None:
    lengths = [100, 90, 60, 40, 30, 10, 10, 5, 300]
    forwards = pack(lengths, budget=400)
    placed = sorted(i for forward in forwards for i in forward)
    assert placed == list(range(len(lengths)))
    for forward in forwards:
        assert sum(lengths[i] for i in forward) <= 400
    assert len(forwards) == 2  # 645 tokens: first-fit decreasing needs no third forward
    assert pack([1000, 3], budget=10) == [[0], [1]]  # too long for the budget: runs alone


@pytest.mark.slow
def test_gemma_hellaswag_same_at_batch_1_and_default_batch() -> None:
    gemma = Model("builtin:gemma-3-270m").backend
    _same_at_batch_1_and_default_batch(gemma, TASKS.get("hellaswag")(TaskOptions(limit=5)))


def test_greedy_test_equals_argmax_with_ties() -> None:
    """``is_greedy`` is ``argmax == target`` (first index wins a tie), also on the cheap amax path."""
    g = torch.Generator().manual_seed(0)
    for _ in range(200):
        logp = torch.randint(0, 6, (8, 50), generator=g).float()  # small integers: many ties
        rows = torch.randint(0, 8, (12,), generator=g)
        targets = torch.randint(0, 50, (12,), generator=g)
        targets[:4] = logp[rows[:4]].argmax(-1)  # some targets at the maximum
        targets[4:6] = (logp[rows[4:6]] == logp[rows[4:6]].amax(-1, keepdim=True)).int().cumsum(-1).argmax(-1)
        want = logp[rows].argmax(-1) == targets
        assert torch.equal(_is_argmax(torch, logp, rows, targets, logp[rows, targets]), want)
