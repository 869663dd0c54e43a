"""The output layer in vocabulary blocks (``tunegate.models._hf_head``) gives the plain layer's logits."""

from __future__ import annotations

import pytest
import torch

from tunegate.models._hf_head import output_logits


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("rows", [1, 7, 64])
def test_blocked_logits_equal_the_plain_layer(bias: bool, rows: int) -> None:
    torch.manual_seed(0)
    head = torch.nn.Linear(48, 5000, bias=bias)  # 5000 = two full blocks of 2048 and a ragged one
    hidden = torch.randn(rows, 48) * 3
    with torch.inference_mode():
        got = output_logits(head, hidden, block=2048)
        want = head(hidden)
    assert got.shape == want.shape == (rows, 5000)
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)
    assert torch.equal(got.argmax(-1), want.argmax(-1))


def test_other_heads_are_called_as_they_are() -> None:
    calls = []

    class Head(torch.nn.Linear):  # a subclass (an adapter wrapper, a custom head): not the blocked path
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            calls.append(x.shape)
            return super().forward(x)

    head = Head(8, 5000)
    hidden = torch.randn(3, 8)
    with torch.inference_mode():
        torch.testing.assert_close(output_logits(head, hidden), torch.nn.Linear.forward(head, hidden))
        assert calls == [(3, 8)]
        double = torch.nn.Linear(8, 5000).double()  # another dtype: called as it is
        assert output_logits(double, hidden.double()).dtype == torch.float64
