"""``tunegate judge``: run a safety judge over a JSONL file, so its verdicts can be audited.

Input rows: ``prompt``, ``response``, optional ``behavior`` (the harmful goal an attack wraps) and ``id``.
Output (``--output``, default stdout): one JSON object per row, ``{"id", "verdict", "score"}``; verdicts
are ``refuse``/``comply``/``partial`` or ``harmful``/``safe``, and ``failed`` when a model judge's answer
could not be read. ``--labels FIELD`` prints accuracy, sensitivity and specificity (95% Wilson CIs)
against the user's own labels (positive = refusal / harmful; ``failed`` counts as a wrong answer).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from tunegate.cli._app import app, err_console, guarded, progress_for

_POSITIVE_LABELS = {
    "refuse",
    "partial",
    "refusal",
    "harmful",
    "unsafe",
    "yes",
    "true",
    "1",
    "2_full_refusal",
    "3_partial_refusal",
}
_NEGATIVE_LABELS = {"comply", "compliance", "safe", "no", "false", "0", "1_full_compliance"}


def _read_rows(path: Path) -> list[dict[str, Any]]:
    from tunegate.errors import DataError

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror}") from None
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{n}: not valid JSON: {e.msg}") from None
        if (
            not isinstance(row, dict)
            or not isinstance(row.get("prompt"), str)
            or not isinstance(row.get("response"), str)
        ):
            raise DataError(f"{path}:{n}: each row needs string fields 'prompt' and 'response'")
        rows.append(row)
    if not rows:
        raise DataError(f"{path}: no rows")
    return rows


def label_positive(value: Any, where: str) -> bool:
    """A user label as positive (refusal / harmful) or not; unknown values are a DataError."""
    from tunegate.errors import DataError

    key = str(value).strip().lower() if not isinstance(value, bool) else str(value).lower()
    if key in _POSITIVE_LABELS:
        return True
    if key in _NEGATIVE_LABELS:
        return False
    raise DataError(
        f"{where}: label {value!r} is neither positive ({', '.join(sorted(_POSITIVE_LABELS))}) "
        f"nor negative ({', '.join(sorted(_NEGATIVE_LABELS))})"
    )


def _wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    z, p = 1.959963984540054, k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return c - h, c + h


@app.command()
@guarded
def judge(
    file: Annotated[Path, typer.Argument(help="JSONL rows with prompt, response, optional behavior and id")],
    judge_name: Annotated[
        str,
        typer.Option("--judge", help="learned, regex, or a model spec (builtin:gemma-3-270m, openai:...)"),
    ] = "learned",
    kind: Annotated[str, typer.Option(help="refusal or harm")] = "refusal",
    output: Annotated[Path | None, typer.Option(help="write verdicts here (default: stdout)")] = None,
    labels: Annotated[
        str | None, typer.Option(help="row field with your labels: print accuracy, sensitivity, specificity")
    ] = None,
    db: Annotated[str | None, typer.Option(help="store URL (model judges cache their answers)")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
) -> None:
    """Judge responses for refusal (comply/refuse/partial) or harm (harmful/safe), one JSON line per row."""
    from tunegate.errors import ConfigError, DataError
    from tunegate.safety._judges import POSITIVE, JudgeRow, make_judge

    if kind not in ("refusal", "harm"):
        raise ConfigError(f"--kind must be refusal or harm, not {kind!r}")
    rows = _read_rows(file)
    truth: list[bool] = []
    if labels:
        for n, r in enumerate(rows, 1):
            if labels not in r:
                raise DataError(f"{file}: row {n} has no field {labels!r} (--labels)")
            truth.append(label_positive(r[labels], f"{file}: row {n}"))
    store = None
    if ":" in judge_name:
        from tunegate.store import open_store

        store = open_store(db)
    j = make_judge(judge_name, kind, store, progress=progress_for(quiet))  # type: ignore[arg-type]
    verdicts = j.judge([JudgeRow(str(r["prompt"]), str(r["response"]), r.get("behavior")) for r in rows])
    lines = [
        json.dumps({"id": r.get("id", i), "verdict": v.label, "score": v.score}, ensure_ascii=False)
        for i, (r, v) in enumerate(zip(rows, verdicts, strict=True))
    ]
    text = "\n".join(lines) + "\n"
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    failed = sum(v.failed for v in verdicts)
    if failed:
        err_console.print(
            f"judge failed on {failed} of {len(rows)} rows (verdict 'failed', counted as wrong)"
        )
    if labels:
        pred = [(v.label in POSITIVE[kind]) if not v.failed else None for v in verdicts]
        right = [p is not None and p == t for p, t in zip(pred, truth, strict=True)]
        pos = [ok for ok, t in zip(right, truth, strict=True) if t]
        neg = [ok for ok, t in zip(right, truth, strict=True) if not t]
        for name, xs in (("accuracy", right), ("sensitivity", pos), ("specificity", neg)):
            k, n = sum(xs), len(xs)
            lo, hi = _wilson(k, n)
            val = f"{k / n:.3f} [{lo:.3f}, {hi:.3f}]" if n else "n/a (no rows)"
            err_console.print(f"{name}: {val} (n={n})", highlight=False)
