"""Per-segment attention (``tunegate.models._hf_segments``): masks, the causal shortcut, the switch.

The numbers themselves are checked against plain forwards in ``test_hf_scoring.py``; here: which
segments get a mask, that a segment never sees another's keys, and that the model's attention
implementation is back after the call, also when the call fails.
"""

from __future__ import annotations

import pytest
import torch

from tunegate.models import _hf_segments
from tunegate.models._hf_scoring import Segment, build_segments
from tunegate.models._hf_segments import (
    ATTN_NAME,
    Block,
    Layout,
    _attend,
    attention_blocks,
    segment_attention,
)


def _layout(segments, inner=None) -> Layout:  # type: ignore[no-untyped-def]
    return Layout(segments, inner, torch.float32)


def _mask(lay: Layout, k: int, window: int | None):  # type: ignore[no-untyped-def]
    """The mask of segment ``k``'s one attention call."""
    (call,) = lay.blocks(k, window)
    return call[3]


def test_a_chain_takes_the_causal_kernel_and_a_tree_gets_its_mask() -> None:
    chain = build_segments([([1, 2, 3, 4, 5], 1)])[0]  # one request
    extending = build_segments([([1, 2, 3, 9], 1), ([1, 2, 3, 8, 7], 2)])[0]  # inputs 1 2 3 | 1 2 3 8
    tree = build_segments([([1, 2, 3, 9, 4], 2), ([1, 2, 3, 8, 7], 2)])[0]  # a context, two branches
    lay = _layout([chain, extending, tree])
    assert extending.tokens == [1, 2, 3, 8]
    for k in (0, 1):
        assert _mask(lay, k, None) is None and _mask(lay, k, 64) is None
    assert all(m is not None for *_, m in lay.blocks(0, 2))  # longer than the window: bands, masked
    assert tree.tokens == [1, 2, 3, 8, 9]
    seen = (_mask(lay, 2, None)[0, 0] == 0).int().tolist()  # query rows, key columns
    assert seen == [[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0], [1, 1, 1, 0, 1]]
    windowed = (_mask(lay, 2, 2)[0, 0] == 0).int().tolist()
    assert windowed == [[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [0, 1, 1, 0, 0], [0, 0, 1, 1, 0], [0, 0, 1, 0, 1]]


def test_each_segment_attends_only_to_its_own_keys() -> None:
    """Values of one segment changed: the other segment's output does not move."""
    a = build_segments([([1, 2, 3, 4], 1)])[0]
    b = build_segments([([5, 6, 7], 1)])[0]
    lay = _layout([a, b], inner=_softmax_attention)
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 2, 5, 4, generator=g) for _ in range(3))
    out, _ = _attend(None, q, k, v, None, tunegate_segments=lay)
    v2 = v.clone()
    v2[:, :, :3] += 100.0  # segment a's values
    out2, _ = _attend(None, q, k, v2, None, tunegate_segments=lay)
    assert out.shape == (1, 5, 2, 4)
    assert torch.equal(out[:, 3:], out2[:, 3:])
    assert not torch.allclose(out[:, :3], out2[:, :3])


def _softmax_attention(module, q, k, v, mask, **kwargs):  # type: ignore[no-untyped-def]
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None)
    return out.transpose(1, 2), None


def test_outside_packed_scoring_the_attention_refuses() -> None:
    q = torch.zeros(1, 1, 2, 4)
    with pytest.raises(RuntimeError, match="packed scoring"):
        _attend(None, q, q, q, None)


def test_the_attention_implementation_is_restored_even_on_error(tiny_model_dir) -> None:  # type: ignore[no-untyped-def]
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    decoder, config = model.get_decoder(), model.config
    before = config._attn_implementation
    with pytest.raises(ZeroDivisionError), segment_attention(decoder, config):
        assert config._attn_implementation == ATTN_NAME
        _ = 1 / 0
    assert config._attn_implementation == before
    with torch.inference_mode():  # and the model still runs as before, without a layout
        model(torch.tensor([[1, 2, 3]]))


def _trunk_and_piece():  # type: ignore[no-untyped-def]
    """A 5-token trunk (positions 0-4) and a 2-token chain after it (positions 5-6)."""
    trunk = Segment(tokens=[1, 2, 3, 4, 5], positions=[0, 1, 2, 3, 4], ends=[5] * 5, keep=True)
    piece = Segment(tokens=[6, 7], positions=[5, 6], ends=[2, 2], trunk=trunk)
    return trunk, piece


def test_a_piece_sees_its_trunk_within_the_window() -> None:
    _, piece = _trunk_and_piece()
    lay = _layout([piece])
    assert lay.trunk_from(0, None) == 0 and lay.trunk_from(0, 3) == 3
    seen = (_mask(lay, 0, None)[0, 0] == 0).int().tolist()  # 5 trunk columns, then the piece's own
    assert seen == [[1, 1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1, 1]]
    windowed = (_mask(lay, 0, 3)[0, 0] == 0).int().tolist()  # trunk positions 3, 4, then 5, 6
    assert windowed == [[1, 1, 1, 0], [0, 1, 1, 1]]


@pytest.mark.parametrize("window", [None, 3])
def test_a_piece_after_its_kept_trunk_equals_one_causal_pass(window) -> None:  # type: ignore[no-untyped-def]
    """The trunk in one forward, the piece in a later one: the piece's outputs are those of the whole
    chain attended at once (with the window)."""
    trunk, piece = _trunk_and_piece()
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(1, 2, 7, 4, generator=g) for _ in range(3))
    n = torch.arange(7)
    seen = n[None, :] <= n[:, None]
    if window is not None:
        seen &= (n[:, None] - n[None, :]) < window
    want = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=seen).transpose(1, 2)
    kept: dict = {}  # type: ignore[type-arg]
    module = object()
    first = Layout([trunk], _softmax_attention, torch.float32, kept=kept)
    out_trunk, _ = _attend(
        module, q[:, :, :5], k[:, :, :5], v[:, :, :5], None, tunegate_segments=first, sliding_window=window
    )
    assert (id(trunk), id(module)) in kept
    later = Layout([piece], _softmax_attention, torch.float32, kept=kept)
    out_piece, _ = _attend(
        module, q[:, :, 5:], k[:, :, 5:], v[:, :, 5:], None, tunegate_segments=later, sliding_window=window
    )
    torch.testing.assert_close(out_trunk, want[:, :5])
    torch.testing.assert_close(out_piece, want[:, 5:])


@pytest.mark.parametrize("n", [7, 9])
def test_a_chain_longer_than_the_window_runs_in_bands_equal_to_one_windowed_pass(n: int) -> None:
    """Queries in blocks of the window, each over the window's keys before it: the outputs of one
    pass under the whole windowed causal mask, for a chain packed after another segment."""
    other = build_segments([([1, 2, 3], 1)])[0]
    chain = build_segments([(list(range(10, 11 + n)), 1)])[0]
    m, w = len(other.ends), 3
    assert (m, len(chain.ends)) == (2, n)
    lay = _layout([other, chain], inner=_softmax_attention)
    bands = lay.bands(1, w)
    assert bands is not None
    assert [b[:3] for b in bands] == [(a, min(n, a + w), max(0, a - w + 1)) for a in range(0, n, w)]
    assert lay.bands(1, None) is None and lay.bands(1, n) is None and lay.bands(0, w) is None
    g = torch.Generator().manual_seed(2)
    q, k, v = (torch.randn(1, 2, m + n, 4, generator=g) for _ in range(3))
    i = torch.arange(n)
    seen = (i[None, :] <= i[:, None]) & ((i[:, None] - i[None, :]) < w)
    want = torch.nn.functional.scaled_dot_product_attention(
        q[:, :, m:], k[:, :, m:], v[:, :, m:], attn_mask=seen
    ).transpose(1, 2)
    out, _ = _attend(None, q, k, v, None, tunegate_segments=lay, sliding_window=w)
    assert out.shape == (1, m + n, 2, 4)
    torch.testing.assert_close(out[:, m:], want)


def _three_documents():  # type: ignore[no-untyped-def]
    """One tree: an 8-token header, then three 60-token documents scored at their last token."""
    header = list(range(1, 9))
    return build_segments([(header + list(range(100 * d, 100 * d + 61)), 1) for d in (1, 2, 3)])


def test_documents_that_share_only_a_header_attend_in_blocks_of_their_own(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Runs: the header with the first document, then each other document over the header and itself;
    joined only where one call costs less than two."""
    (seg,) = _three_documents()
    assert len(seg) == 8 + 3 * 60
    assert attention_blocks(seg.ends) == [
        Block(0, 68, ((0, 68),)),
        Block(68, 128, ((0, 8), (68, 128))),
        Block(128, 188, ((0, 8), (128, 188))),
    ]
    with monkeypatch.context() as m:  # a call as dear as 20,000 pairs: one block costs less than three
        m.setattr(_hf_segments, "CALL_PAIRS", 20_000)
        assert attention_blocks(seg.ends) == [Block(0, 188, ((0, 188),))]
    # a 39-token context and four 29-token choices: two choices share a call where that is cheaper
    (doc,) = build_segments([(list(range(1, 40)) + [50 + c] * 30, 30) for c in range(4)])
    assert attention_blocks(doc.ends) == [
        Block(0, 68, ((0, 68),)),
        Block(68, 126, ((0, 39), (68, 126))),  # 58 x 97 pairs < 2 x 29 x 68 + one call
        Block(126, 155, ((0, 39), (126, 155))),
    ]


@pytest.mark.parametrize("window", [None, 16, 64])
def test_blocked_attention_equals_one_pass_under_the_tree_mask(window) -> None:  # type: ignore[no-untyped-def]
    """The three documents in blocks (the first one on the causal kernel): the outputs of one pass
    under the segment's whole tree mask, with the window on the tree's positions."""
    (seg,) = _three_documents()
    lay = _layout([seg], inner=_softmax_attention)
    calls = lay.blocks(0, window)
    assert len(calls) == 3 and (calls[0][3] is None) == (window is None or window >= 68)
    n = len(seg)
    g = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(1, 4, n, 8, generator=g) for _ in range(3))
    i, e, p = torch.arange(n), torch.tensor(seg.ends), torch.tensor(seg.positions)
    seen = (i[None, :] <= i[:, None]) & (i[:, None] < e[None, :])
    if window is not None:
        seen &= (p[:, None] - p[None, :]) < window
    want = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=seen).transpose(1, 2)
    out, _ = _attend(None, q, k, v, None, tunegate_segments=lay, sliding_window=window)
    torch.testing.assert_close(out, want)
