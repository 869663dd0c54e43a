"""GSM8K grade-school maths word problems (Cobbe et al., 2021, "Training Verifiers to Solve Math Word
Problems"), MIT licence.

Scored as lm-evaluation-harness's ``gsm8k`` task (the plain, not chain-of-thought, variant): the prompt
is ``"Question: {question}\\nAnswer:"``; few-shot examples are ``"Question: ...\\nAnswer: {answer}"``
joined by a blank line; the model generates greedily for at most 256 new tokens, stopping at
``"Question:"`` or a blank line. Two answers are extracted from the generation:

* ``exact_match_strict`` -- the number after ``"#### "`` (regex ``#### (\\-?[0-9\\.\\,]+)``);
* ``exact_match_flexible`` -- the last number in the text (regex ``(-?[$0-9.,]{2,})|(-?[0-9]+)``).

Both are compared with the gold number (after ``#### `` in the reference solution) after removing
commas and ``$`` and a trailing period, as lm-eval's ``regexes_to_ignore`` do. Both metrics are binary.

Few-shot (``shots``, 0-8): lm-eval takes the first rows of the *train* split, which tunegate does not
ship (4.2 MB). With the ``fewshot_data`` option (a path to GSM8K ``train.jsonl``) the first ``shots``
rows of that file are used, which reproduces lm-eval; otherwise the shots are the 8 chain-of-thought
exemplars of Wei et al. (2022) (:data:`EXEMPLARS`, the ones lm-eval's ``gsm8k_cot`` uses), written in
GSM8K's own answer format (reasoning, then ``#### <number>``), the first ``shots`` of them.

Data: the 1,319 test rows in ``tunegate/data/gsm8k/test.jsonl`` (see its SOURCE.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from tunegate.errors import ConfigError
from tunegate.models import GenerateRequest, GenerateResult, Request, Result
from tunegate.tasks._base import Doc, ItemScore, MetricInfo, Task
from tunegate.tasks._data import package_data, read_jsonl
from tunegate.tasks._registry import TASKS

__all__ = ["EXEMPLARS", "GSM8K", "extract_flexible", "extract_strict", "normalize"]

STRICT = re.compile(r"#### (\-?[0-9\.\,]+)")
FLEXIBLE = re.compile(r"(-?[$0-9.,]{2,})|(-?[0-9]+)")
STOP = ("Question:", "\n\n")

#: Wei et al. (2022) chain-of-thought exemplars, in GSM8K's answer format: (question, answer)
EXEMPLARS: tuple[tuple[str, str], ...] = (
    (
        (
            "There are 15 trees in the grove. Grove workers will plant trees in the grove today. After "
            "they are done, there will be 21 trees. How many trees did the grove workers plant today?"
        ),
        (
            "There are 15 trees originally. Then there were 21 trees after some more were planted. So "
            "there must have been 21 - 15 = 6.\n#### 6"
        ),
    ),
    (
        (
            "If there are 3 cars in the parking lot and 2 more cars arrive, how many cars are in the "
            "parking lot?"
        ),
        "There are originally 3 cars. 2 more cars arrive. 3 + 2 = 5.\n#### 5",
    ),
    (
        (
            "Leah had 32 chocolates and her sister had 42. If they ate 35, how many pieces do they have "
            "left in total?"
        ),
        (
            "Originally, Leah had 32 chocolates. Her sister had 42. So in total they had 32 + 42 = 74. "
            "After eating 35, they had 74 - 35 = 39.\n#### 39"
        ),
    ),
    (
        (
            "Jason had 20 lollipops. He gave Denny some lollipops. Now Jason has 12 lollipops. How many "
            "lollipops did Jason give to Denny?"
        ),
        (
            "Jason started with 20 lollipops. Then he had 12 after giving some to Denny. So he gave Denny"
            " 20 - 12 = 8.\n#### 8"
        ),
    ),
    (
        (
            "Shawn has five toys. For Christmas, he got two toys each from his mom and dad. How many toys"
            " does he have now?"
        ),
        (
            "Shawn started with 5 toys. If he got 2 toys each from his mom and dad, then that is 4 more "
            "toys. 5 + 4 = 9.\n#### 9"
        ),
    ),
    (
        (
            "There were nine computers in the server room. Five more computers were installed each day, "
            "from monday to thursday. How many computers are now in the server room?"
        ),
        (
            "There were originally 9 computers. For each of 4 days, 5 more computers were added. So 5 * 4"
            " = 20 computers were added. 9 + 20 is 29.\n#### 29"
        ),
    ),
    (
        (
            "Michael had 58 golf balls. On tuesday, he lost 23 golf balls. On wednesday, he lost 2 more. "
            "How many golf balls did he have at the end of wednesday?"
        ),
        (
            "Michael started with 58 golf balls. After losing 23 on tuesday, he had 58 - 23 = 35. After "
            "losing 2 more, he had 35 - 2 = 33 golf balls.\n#### 33"
        ),
    ),
    (
        "Olivia has $23. She bought five bagels for $3 each. How much money does she have left?",
        (
            "Olivia had 23 dollars. 5 bagels for 3 dollars each will be 5 x 3 = 15 dollars. So she has 23"
            " - 15 dollars left. 23 - 15 is 8.\n#### 8"
        ),
    ),
)


def normalize(text: str) -> str:
    """lm-eval's gsm8k ``regexes_to_ignore`` (commas, ``$``, everything up to ``#### ``, a final ``.``)."""
    for pattern in (",", r"\$", r"(?s).*#### ", r"\.$"):
        text = re.sub(pattern, "", text)
    return text.strip().lower()


def extract_strict(text: str) -> str | None:
    m = STRICT.search(text)
    return m.group(1) if m else None


def extract_flexible(text: str) -> str | None:
    matches = FLEXIBLE.findall(text)
    if not matches:
        return None
    last = matches[-1]
    return str(last[0] or last[1]).strip()


def _question(q: str) -> str:
    return f"Question: {q}\nAnswer:"


@TASKS.register("gsm8k")
class GSM8K(Task):
    """GSM8K test, greedy generation, exact match of the final number (strict and flexible)."""

    name = "gsm8k"
    dimension = "retention"
    metrics = (MetricInfo("exact_match_strict", binary=True), MetricInfo("exact_match_flexible", binary=True))
    primary = "exact_match_strict"
    extra_options = ("fewshot_data",)
    max_new_tokens = 256

    def all_docs(self) -> list[Doc]:
        path = self.options.data if self.options.data else package_data("gsm8k", "test.jsonl")
        rows = read_jsonl(path, required=("question", "answer"))
        return [Doc(id=str(i), data=r) for i, r in enumerate(rows)]

    def _shots(self) -> list[tuple[str, str]]:
        k = self.options.shots
        if not k:
            return []
        fewshot = self.options.extra.get("fewshot_data")
        if fewshot:
            rows = read_jsonl(Path(str(fewshot)), required=("question", "answer"))
            if k > len(rows):
                raise ConfigError(f"gsm8k: shots={k} but {fewshot} has only {len(rows)} rows")
            return [(str(r["question"]), str(r["answer"])) for r in rows[:k]]
        if k > len(EXEMPLARS):
            raise ConfigError(f"gsm8k: shots must be 0-{len(EXEMPLARS)} without option fewshot_data, got {k}")
        return list(EXEMPLARS[:k])

    def prompt(self, doc: Doc) -> str:
        shots = "".join(f"{_question(q)} {a}\n\n" for q, a in self._shots())
        return shots + _question(str(doc.data["question"]))

    def requests(self, doc: Doc) -> list[Request]:
        return [GenerateRequest(prompt=self.prompt(doc), max_new_tokens=self.max_new_tokens, stop=STOP)]

    def score(self, doc: Doc, results: Sequence[Result]) -> ItemScore:
        (res,) = results
        assert isinstance(res, GenerateResult)
        gold = normalize(str(doc.data["answer"]))
        strict = extract_strict(res.text)
        flexible = extract_flexible(res.text)
        return ItemScore(
            values={
                "exact_match_strict": float(strict is not None and normalize(strict) == gold),
                "exact_match_flexible": float(flexible is not None and normalize(flexible) == gold),
            },
            output=res.text,
            input=self.prompt(doc),
            reference=str(doc.data["answer"]),
        )
