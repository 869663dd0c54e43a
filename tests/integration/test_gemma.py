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


def test_fast_tokenizer_equals_autotokenizer(gemma) -> None:  # type: ignore[no-untyped-def]
    """The converted folder's tokenizer is read straight from tokenizer.json (1 s, not 3 s); it must give
    AutoTokenizer's ids on every shipped dataset's prompts, the same special tokens and decoding."""
    import dataclasses
    from pathlib import Path

    from transformers import AutoTokenizer

    from tunegate.models._hf_loaders import converted_tokenizer

    folder = Path(gemma.weights.model.name_or_path)
    fast, auto = converted_tokenizer(folder), AutoTokenizer.from_pretrained(folder)
    assert gemma.tok.__class__ is fast.__class__  # the backend uses the fast path
    texts = ["", " A", "  two spaces\t\ttab\n\n", "émoji 🤖 日本語 <bos> <eos>"]
    for name, shots in (("hellaswag", 0), ("mmlu", 5), ("triviaqa", 0), ("truthfulqa_mc2", 0), ("gsm8k", 0)):
        task = TASKS.get(name)(TaskOptions(limit=60, shots=shots))
        for doc in task.docs():
            for req in task.requests(doc):
                fields = [v for v in dataclasses.asdict(req).values() if isinstance(v, str)]
                texts.append("".join(fields))
    assert len(texts) > 500 and sum(len(t) > 100 for t in texts) > 400
    for text in texts:
        for special in (False, True):
            ids = auto(text, add_special_tokens=special)["input_ids"]
            assert fast(text, add_special_tokens=special)["input_ids"] == ids, text
        assert fast.decode(ids, skip_special_tokens=True) == auto.decode(ids, skip_special_tokens=True)
    for attr in (
        "bos_token_id",
        "eos_token_id",
        "pad_token_id",
        "unk_token_id",
        "all_special_ids",
        "chat_template",
    ):
        assert getattr(fast, attr) == getattr(auto, attr), attr
    assert fast.padding_side == "left" and len(fast) == len(auto)
