"""MMLU: 57-subject multiple choice (Hendrycks et al., 2021, "Measuring Massive Multitask Language
Understanding", ICLR), MIT licence.

Scored as lm-evaluation-harness's ``mmlu`` (default, loglikelihood) task: each subject's prompt starts
with ``"The following are multiple choice questions (with answers) about {subject}.\\n\\n"`` (underscores
of the subject name become spaces), then ``shots`` (0 or 5) solved examples -- the first ``shots``
rows of the subject's dev split, in order, each ``question + " " + letter`` and followed by a blank
line -- then ``"{question.strip()}\\nA. {A}\\nB. {B}\\nC. {C}\\nD. {D}\\nAnswer:"``. The four choices
``" A" .. " D"`` are scored by log-likelihood; ``acc`` is 1 when the gold letter has the highest.

Options (suite ``options:``): ``subjects`` -- a list of subject names (default: all 57).

Accuracy over items (*micro*, what ``tunegate compare`` reports as the mean of ``acc``) weights each
subject by its number of questions; lm-eval's per-group numbers are also item-weighted. The MMLU
paper's headline average is the *macro* mean over subjects. :func:`mmlu_summary` gives both, per
subject, per category (STEM, humanities, social sciences, other: lm-eval's mapping) and overall.

Item ids are ``"{subject}/{row}"``, row = the 0-based row of the original test CSV (stable across
subsets). Data: ``tunegate/data/mmlu`` -- the shared copy's 11,222 test rows (80% of MMLU test) and
all 285 dev rows (see its SOURCE.md). ``data:`` may point at another JSONL (or ``.jsonl.gz``) file
of the same fields (``subject``, ``question``, ``choices``, ``answer``; ``id`` optional).
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from tunegate.errors import ConfigError, DataError
from tunegate.metrics import choice_signals, predicted_choice
from tunegate.models import LoglikelihoodRequest, LoglikelihoodResult, Request, Result
from tunegate.registry import did_you_mean
from tunegate.tasks._base import CHOICE_SIGNALS, Doc, ItemScore, MetricInfo, Task
from tunegate.tasks._data import package_data
from tunegate.tasks._registry import TASKS

__all__ = ["CATEGORIES", "LETTERS", "MMLU", "SUBJECTS", "format_question", "mmlu_summary"]

LETTERS = ("A", "B", "C", "D")

#: subject -> category, as lm-evaluation-harness groups MMLU (``mmlu_stem``, ``mmlu_humanities``, ...)
CATEGORIES: dict[str, str] = {
    "abstract_algebra": "stem",
    "anatomy": "stem",
    "astronomy": "stem",
    "business_ethics": "other",
    "clinical_knowledge": "other",
    "college_biology": "stem",
    "college_chemistry": "stem",
    "college_computer_science": "stem",
    "college_mathematics": "stem",
    "college_medicine": "other",
    "college_physics": "stem",
    "computer_security": "stem",
    "conceptual_physics": "stem",
    "econometrics": "social_sciences",
    "electrical_engineering": "stem",
    "elementary_mathematics": "stem",
    "formal_logic": "humanities",
    "global_facts": "other",
    "high_school_biology": "stem",
    "high_school_chemistry": "stem",
    "high_school_computer_science": "stem",
    "high_school_european_history": "humanities",
    "high_school_geography": "social_sciences",
    "high_school_government_and_politics": "social_sciences",
    "high_school_macroeconomics": "social_sciences",
    "high_school_mathematics": "stem",
    "high_school_microeconomics": "social_sciences",
    "high_school_physics": "stem",
    "high_school_psychology": "social_sciences",
    "high_school_statistics": "stem",
    "high_school_us_history": "humanities",
    "high_school_world_history": "humanities",
    "human_aging": "other",
    "human_sexuality": "social_sciences",
    "international_law": "humanities",
    "jurisprudence": "humanities",
    "logical_fallacies": "humanities",
    "machine_learning": "stem",
    "management": "other",
    "marketing": "other",
    "medical_genetics": "other",
    "miscellaneous": "other",
    "moral_disputes": "humanities",
    "moral_scenarios": "humanities",
    "nutrition": "other",
    "philosophy": "humanities",
    "prehistory": "humanities",
    "professional_accounting": "other",
    "professional_law": "humanities",
    "professional_medicine": "other",
    "professional_psychology": "social_sciences",
    "public_relations": "social_sciences",
    "security_studies": "social_sciences",
    "sociology": "social_sciences",
    "us_foreign_policy": "social_sciences",
    "virology": "other",
    "world_religions": "humanities",
}
SUBJECTS: tuple[str, ...] = tuple(sorted(CATEGORIES))


def _read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSONL or gzipped JSONL file; DataError names the file, line and field."""
    if not path.is_file():
        raise DataError(f"dataset file not found: {path}")
    opener = gzip.open if path.name.endswith(".gz") else open
    rows = []
    with opener(path, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{n}: not valid JSON ({e.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{n}: expected a JSON object, found {type(row).__name__}")
            for k in ("subject", "question", "choices", "answer"):
                if k not in row:
                    raise DataError(f"{path}:{n}: row lacks field {k}")
            if not isinstance(row["choices"], list) or len(row["choices"]) != 4:
                raise DataError(f"{path}:{n}: field choices must be a list of 4 strings")
            if row["answer"] not in (0, 1, 2, 3):
                raise DataError(f"{path}:{n}: field answer must be an int 0-3, found {row['answer']!r}")
            rows.append(row)
    return rows


@cache
def _load(path: str) -> tuple[dict[str, Any], ...]:
    return tuple(_read_rows(Path(path)))


def _dev_rows(subject: str) -> list[dict[str, Any]]:
    return [r for r in _load(str(package_data("mmlu", "dev.jsonl"))) if r["subject"] == subject]


def format_question(row: dict[str, Any]) -> str:
    """lm-eval's ``doc_to_text`` for MMLU."""
    c = row["choices"]
    return f"{str(row['question']).strip()}\nA. {c[0]}\nB. {c[1]}\nC. {c[2]}\nD. {c[3]}\nAnswer:"


def description(subject: str) -> str:
    return (
        f"The following are multiple choice questions (with answers) about {subject.replace('_', ' ')}.\n\n"
    )


@TASKS.register("mmlu")
class MMLU(Task):
    """MMLU test (shared 80%), 57 subjects, 4-way multiple choice by log-likelihood."""

    name = "mmlu"
    dimension = "retention"
    metrics = (MetricInfo("acc", binary=True), *CHOICE_SIGNALS)
    primary = "acc"
    extra_options = ("subjects", "per_subject")
    allowed_shots = (0, 5)  # the dev split has 5 rows per subject

    def check_options(self) -> list[str]:
        """Shots, and every subject name that does not exist (all of them, not only the first)."""
        problems = super().check_options()
        chosen = self.options.extra.get("subjects")
        if isinstance(chosen, list) and chosen:
            problems += [
                f"mmlu: unknown subject {s!r} in option 'subjects'.{did_you_mean(str(s), list(SUBJECTS))}"
                for s in chosen
                if s not in SUBJECTS
            ]
        elif chosen is not None:
            self._subjects()  # raises the ConfigError that says what the option must be
        per = self.options.extra.get("per_subject")
        if per is not None and (isinstance(per, bool) or not isinstance(per, int) or per < 1):
            problems.append(f"mmlu: option 'per_subject' must be a positive integer, got {per!r}")
        return problems

    def _subjects(self) -> list[str]:
        chosen = self.options.extra.get("subjects")
        if chosen is None:
            return list(SUBJECTS)
        if isinstance(chosen, str):
            chosen = [chosen]
        if not isinstance(chosen, list) or not chosen:
            raise ConfigError("mmlu: option 'subjects' must be a non-empty list of subject names")
        for s in chosen:
            if s not in CATEGORIES:
                raise ConfigError(
                    f"mmlu: unknown subject {s!r} in option 'subjects'.{did_you_mean(str(s), list(SUBJECTS))}"
                )
        return list(chosen)

    def all_docs(self) -> list[Doc]:
        if self.options.shots not in (0, 5):
            raise ConfigError(
                f"mmlu: shots must be 0 or 5 (the dev split has 5 per subject), got {self.options.shots}"
            )
        path = self.options.data or str(package_data("mmlu", "test.jsonl.gz"))
        by_subject: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in _load(path):
            by_subject[str(r["subject"])].append(r)
        docs = []
        # per_subject: the first N test rows of every subject (a stratified sample: 57 clusters, not 2)
        per = self.options.extra.get("per_subject")
        for subject in self._subjects():
            rows = by_subject.get(subject, [])
            for i, r in enumerate(rows[:per] if isinstance(per, int) else rows):
                row_id = str(r.get("id", "")).rsplit("/", 1)[-1] or str(i)
                docs.append(Doc(id=f"{subject}/{row_id}", data=r))
        return docs

    def context(self, doc: Doc) -> str:
        subject = str(doc.data["subject"])
        shots = _dev_rows(subject)[: self.options.shots] if self.options.shots else []
        prefix = "".join(f"{format_question(s)} {LETTERS[int(s['answer'])]}\n\n" for s in shots)
        return description(subject) + prefix + format_question(doc.data)

    def requests(self, doc: Doc) -> list[Request]:
        ctx = self.context(doc)
        return [LoglikelihoodRequest(context=ctx, continuation=f" {letter}") for letter in LETTERS]

    def score(self, doc: Doc, results: Sequence[Result]) -> ItemScore:
        lls = [r.logprob for r in results if isinstance(r, LoglikelihoodResult)]
        gold = int(doc.data["answer"])
        pred = predicted_choice(lls)
        return ItemScore(
            values={"acc": float(pred == gold), **choice_signals(lls, gold)},
            output=f"chose {LETTERS[pred]}; gold {LETTERS[gold]}",
            input=self.context(doc),
            reference=LETTERS[gold],
            cluster=str(doc.data["subject"]),  # questions of one subject are not independent
        )


def mmlu_summary(item_scores: dict[str, float]) -> dict[str, Any]:
    """Per-subject, per-category and overall accuracy, micro (over items) and macro (over subjects).

    ``item_scores`` maps item ids ``"{subject}/{row}"`` to ``acc`` (0 or 1). Returns
    ``{"subjects": {s: {"n", "acc"}}, "categories": {c: {"n", "n_subjects", "micro", "macro"}},
    "overall": {"n", "n_subjects", "micro", "macro"}}``. Macro means over subjects (the MMLU paper's
    average); a category's macro is the mean of its subjects' accuracies.
    """
    per: dict[str, list[float]] = defaultdict(list)
    for item_id, v in item_scores.items():
        subject = item_id.split("/", 1)[0]
        if subject not in CATEGORIES:
            raise ValueError(f"item id {item_id!r} does not start with an MMLU subject")
        per[subject].append(float(v))
    subjects = {s: {"n": len(v), "acc": sum(v) / len(v)} for s, v in sorted(per.items())}

    def group(names: list[str]) -> dict[str, float | int]:
        n = sum(int(subjects[s]["n"]) for s in names)
        total = sum(sum(per[s]) for s in names)
        return {
            "n": n,
            "n_subjects": len(names),
            "micro": total / n if n else float("nan"),
            "macro": sum(subjects[s]["acc"] for s in names) / len(names) if names else float("nan"),
        }

    cats: dict[str, list[str]] = defaultdict(list)
    for s in subjects:
        cats[CATEGORIES[s]].append(s)
    return {
        "subjects": subjects,
        "categories": {
            c: group(cats[c]) for c in ("stem", "humanities", "social_sciences", "other") if c in cats
        },
        "overall": group(list(subjects)),
    }
