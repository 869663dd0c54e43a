"""Where a study's items come from: a file of user queries answered through the engine, or a stored
compare run (its generation tasks' prompts, rebuilt from the run's suite config, and both answers)."""

from __future__ import annotations

import csv
import json
from itertools import combinations
from pathlib import Path
from typing import Any

from tunegate.errors import DataError
from tunegate.preference._study import ItemSpec, StudyError
from tunegate.store import RunRecord

__all__ = ["items_from_queries", "items_from_run", "read_queries"]

MAX_QUERY = 20_000


def _tags(v: Any) -> tuple[str, ...]:
    if v is None or v == "":
        return ()
    if isinstance(v, str):
        return tuple(t.strip() for t in v.split(",") if t.strip())
    if isinstance(v, list) and all(isinstance(t, str) for t in v):
        return tuple(v)
    raise DataError("tags must be a list of strings or a comma-separated string")


def _query(row: dict[str, Any], where: str) -> str | list[dict[str, str]]:
    if row.get("prompt"):
        if not isinstance(row["prompt"], str):
            raise DataError(f"{where}: prompt must be a string")
        q: str | list[dict[str, str]] = row["prompt"]
    elif row.get("messages"):
        msgs = row["messages"]
        if isinstance(msgs, str):
            try:
                msgs = json.loads(msgs)
            except json.JSONDecodeError:
                raise DataError(f"{where}: messages is not JSON") from None
        ok = isinstance(msgs, list) and all(
            isinstance(m, dict)
            and m.get("role") in ("system", "user", "assistant")
            and isinstance(m.get("content"), str)
            for m in msgs
        )
        if not ok or not msgs:
            raise DataError(
                f"{where}: messages must be a list of {{role: system|user|assistant, content: str}}"
            )
        q = [{"role": m["role"], "content": m["content"]} for m in msgs]
    else:
        raise DataError(f"{where}: each row needs `prompt` or `messages`")
    if len(json.dumps(q)) > MAX_QUERY:
        raise DataError(f"{where}: the query is longer than {MAX_QUERY} characters")
    return q


def read_queries(path: Path) -> list[tuple[str | list[dict[str, str]], tuple[str, ...]]]:
    """(query, tags) of every row of a JSONL or CSV file."""
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    rows: list[dict[str, Any]] = []
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    else:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{n}: not JSON ({e.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{n}: each line must be a JSON object")
            rows.append(row)
    out = [(_query(r, f"{path}:{i + 1}"), _tags(r.get("tags"))) for i, r in enumerate(rows)]
    if not out:
        raise DataError(f"{path}: no queries")
    return out


def items_from_queries(
    queries: list[tuple[str | list[dict[str, str]], tuple[str, ...]]],
    models: dict[str, str],
    store: Any,
    *,
    max_new_tokens: int = 256,
    progress: Any = None,
) -> list[ItemSpec]:
    """Generate every model's answer to every query through the engine (cached), then one item per
    query and pair of models."""
    from tunegate.engine import Engine
    from tunegate.models import ChatMessage, GenerateRequest, Model

    reqs = []
    for q, _ in queries:
        prompt: Any = q if isinstance(q, str) else tuple(ChatMessage(m["role"], m["content"]) for m in q)  # type: ignore[arg-type]
        reqs.append(GenerateRequest(prompt=prompt, max_new_tokens=max_new_tokens))
    answers: dict[str, list[str]] = {}
    for key, spec in models.items():
        eng = Engine(Model(spec), store, progress=progress, label=key)
        answers[key] = [r.text for r in eng.run(reqs, description=f"answers of {key}")]  # type: ignore[union-attr]
    items = []
    for i, (q, tags) in enumerate(queries):
        for x, y in combinations(models, 2):
            items.append(
                ItemSpec(q, x, y, answers[x][i].strip(), answers[y][i].strip(), tags, source=f"query {i + 1}")
            )
    return items


def items_from_run(store: Any, run_id: str) -> tuple[RunRecord, list[ItemSpec]]:
    """(the run, items) of a stored compare run: every generation task's items with both outputs.

    Outputs come from the stored items (``Store.items``); prompts are rebuilt from the run's stored
    suite config and the task's documents (the same limit), so chat prompts keep their messages."""
    from tunegate.suite._load import build_task
    from tunegate.suite._schema import SuiteSpec

    run = store.get_run(run_id)
    if run.kind != "compare" or not (run.config or {}).get("suite"):
        raise StudyError(f"run {run.id} is not a stored compare run with a suite config")
    suite = SuiteSpec.model_validate(run.config["suite"])
    limit = run.config.get("limit")
    outputs: dict[tuple[str, str, str], str] = {}
    for rec in store.items(run.id):
        for role, answer in rec.answers.items():
            if answer.output is not None:
                outputs[(role, rec.task, rec.item)] = answer.output
    items: list[ItemSpec] = []
    for entry in suite.tasks:
        if limit is not None:
            entry = entry.model_copy(update={"limit": min(limit, entry.limit or limit)})
        task = build_task(entry)
        for doc in task.docs():
            reqs = task.requests(doc)
            if not reqs or reqs[0].kind != "generate":
                break  # not a generation task
            b, t_ = outputs.get(("base", entry.label, doc.id)), outputs.get(("tuned", entry.label, doc.id))
            if b is None or t_ is None:
                continue
            p = reqs[0].prompt  # type: ignore[union-attr]
            q: str | list[dict[str, str]] = (
                p if isinstance(p, str) else [{"role": m.role, "content": m.content} for m in p]
            )
            items.append(
                ItemSpec(q, "base", "tuned", b, t_, (entry.label,), source=f"{entry.label}/{doc.id}")
            )
    if not items:
        raise StudyError(f"run {run.id} has no generation task with stored outputs of both models")
    return run, items
