from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunegate.errors import ConfigError
from tunegate.models import GenerateRequest, GenerateResult
from tunegate.tasks import TASKS, TaskOptions
from tunegate.tasks.gsm8k import GSM8K, extract_flexible, extract_strict, normalize

Q0 = (
    "Question: Janet\u2019s ducks lay 16 eggs per day. She eats three for breakfast every morning and "
    "bakes muffins for her friends every day with four. She sells the remainder at the farmers' market "
    "daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?"
    "\nAnswer:"
)


def test_prompt_golden_and_request() -> None:
    assert TASKS.get("gsm8k") is GSM8K
    task = GSM8K()
    docs = task.docs()
    assert len(docs) == 1319
    (req,) = task.requests(docs[0])
    assert isinstance(req, GenerateRequest)
    assert req.prompt == Q0
    assert req.stop == ("Question:", "\n\n") and req.max_new_tokens == 256 and req.temperature == 0


def test_fewshot_builtin_and_from_file(tmp_path: Path) -> None:
    p = GSM8K(TaskOptions(shots=1)).requests(GSM8K().docs()[0])[0].prompt
    assert isinstance(p, str)
    assert p.startswith("Question: There are 15 trees in the grove.")
    assert p[p.index("= 6.\n") :] == "= 6.\n#### 6\n\n" + Q0
    train = tmp_path / "train.jsonl"
    train.write_text(json.dumps({"question": "1+1?", "answer": "1+1=2\n#### 2"}) + "\n")
    task = GSM8K(TaskOptions(shots=1, extra={"fewshot_data": str(train)}))
    assert task.requests(task.docs()[0])[0].prompt == "Question: 1+1?\nAnswer: 1+1=2\n#### 2\n\n" + Q0
    with pytest.raises(ConfigError):
        GSM8K(TaskOptions(shots=9)).requests(GSM8K().docs()[0])


def test_extraction_and_normalisation() -> None:
    assert extract_strict("so 9*2 = 18\n#### 18") == "18"
    assert extract_strict("The answer is 18.") is None
    assert extract_flexible("It makes $1,234.") == "$1,234."
    assert normalize("$1,234.") == "1234"
    assert normalize("a\n#### 1,000") == "1000"


@pytest.mark.parametrize(
    ("text", "strict", "flexible"),
    [
        ("16 - 3 - 4 = 9 eggs, 9 * 2 = 18\n#### 18", 1.0, 1.0),
        ("She makes $18.", 0.0, 1.0),
        ("#### 18 dollars, not 20", 1.0, 0.0),
        ("no idea", 0.0, 0.0),
    ],
)
def test_score(text: str, strict: float, flexible: float) -> None:
    task = GSM8K()
    s = task.score(task.docs()[0], [GenerateResult(text=text)])
    assert s.values == {"exact_match_strict": strict, "exact_match_flexible": flexible}


def test_tiny_model_end_to_end(run_tiny, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(GSM8K, "max_new_tokens", 12)  # the random tiny model never stops early: keep it fast
    out = run_tiny(GSM8K(), 2)
    assert len(out.items) == 2
    for s in out.items.values():
        assert set(s.values) == {"exact_match_strict", "exact_match_flexible"}
