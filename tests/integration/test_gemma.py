"""The real embedded model (Gemma 3 270M) on a handful of items, against golden numbers.

Golden log-likelihoods were recorded with this backend (fp32, CPU) and agree with a plain full forward
pass; the tolerance allows for BLAS differences between machines, and the argmax (the model's answer)
must not change.
"""

from __future__ import annotations

import pytest

from tunegate.models import GenerateRequest, Model
from tunegate.tasks import TASKS, TaskOptions

pytestmark = pytest.mark.slow

GOLDEN = {
    "20022": [-30.949106216430664, -32.900760650634766, -27.585739135742188, -55.811275482177734],
    "2533": [-22.614891052246094, -34.30133056640625, -25.00372886657715, -20.248050689697266],
    "23408": [-59.26829147338867, -41.915470123291016, -39.58559036254883, -51.31826400756836],
}


@pytest.fixture(scope="module")
def gemma():  # type: ignore[no-untyped-def]
    return Model("builtin:gemma-3-270m").backend


def test_hellaswag_loglikelihoods_match_golden(gemma) -> None:  # type: ignore[no-untyped-def]
    task = TASKS.get("hellaswag")(TaskOptions(limit=3))
    for doc in task.docs():
        got = [r.logprob for r in gemma.loglikelihood(task.requests(doc))]
        want = GOLDEN[doc.id]
        assert got == pytest.approx(want, abs=2e-3)
        assert max(range(4), key=got.__getitem__) == max(range(4), key=want.__getitem__)


def test_backend_agrees_with_a_plain_forward_pass(gemma) -> None:  # type: ignore[no-untyped-def]
    import torch

    task = TASKS.get("hellaswag")(TaskOptions(limit=1))
    doc = task.docs()[0]
    req = task.requests(doc)[0]
    tok = gemma.tok
    ctx = tok(req.context)["input_ids"]
    whole = tok(req.context + req.continuation)["input_ids"]
    with torch.no_grad(), gemma.weights.use(None) as model:
        logp = torch.log_softmax(model(torch.tensor([whole[:-1]])).logits[0].float(), -1)
    plain = sum(float(logp[p, whole[p + 1]]) for p in range(len(ctx) - 1, len(whole) - 1))
    assert gemma.loglikelihood([req])[0].logprob == pytest.approx(plain, abs=1e-4)


def test_greedy_answer(gemma) -> None:  # type: ignore[no-untyped-def]
    res = gemma.generate(
        [GenerateRequest("Question: What is the capital of France?\nAnswer:", max_new_tokens=8, stop=("\n",))]
    )
    assert res[0].text.strip() == "Paris"
    assert res[0].finish == "stop"
