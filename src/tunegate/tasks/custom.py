"""A user task declared in a suite file, no Python needed.

::

    tasks:
      - task: custom
        name: support-answers             # the label reports use (default: the task name)
        options:
          path: data/support.jsonl          # JSONL (one object a line) or CSV (header row)
          prompt: "Question: {question}\\nAnswer:"   # str.format placeholders name the row's fields
          reference: answer                 # field holding the reference: a string or a list of strings
          metrics: [rougeL, exact_match]    # text metrics of tunegate.metrics; the first is primary
          fewshot: 2                        # first 2 rows become examples (prompt + " " + reference)
          max_new_tokens: 64
          stop: ["\\n"]

The model generates greedily from ``fewshot examples (joined by a blank line) + prompt``; the
generation (stripped) is scored by each metric's ``item`` function against the reference(s): the
best over a list of references. ``fewshot`` rows are not evaluated. A metric is binary when its
:class:`~tunegate.metrics.Metric` record says so (``exact_match``); corpus metrics (``bleu``,
``chrf``) are scored per item with their sentence-level form so items can be paired.

Errors name the file, the row (1-based line of a JSONL file, or data row of a CSV file) and the
field: a template naming an unknown field (:class:`~tunegate.errors.ConfigError`, checked on the first
row), a missing field or a reference that is not a string / list of strings
(:class:`~tunegate.errors.DataError`); an unknown metric raises UnknownNameError ("did you mean").

Because the metrics depend on the options, ``metrics`` and ``primary`` are per instance; on the class
they are the defaults (``exact_match``). :meth:`CustomTask.metrics_for` gives the metrics of a set of
options without reading data (for validating gates of a suite).
"""

from __future__ import annotations

import csv
import io
import string
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tunegate._files import read_user_text
from tunegate.errors import ConfigError, DataError
from tunegate.metrics import get_metric
from tunegate.models import GenerateRequest, GenerateResult, Request, Result
from tunegate.tasks._base import Doc, ItemScore, MetricInfo, Task, TaskOptions
from tunegate.tasks._data import read_jsonl
from tunegate.tasks._registry import TASKS

__all__ = ["CustomTask", "PerInstance", "template_fields"]

DEFAULT_METRICS = ("exact_match",)


class PerInstance:
    """A class attribute whose value on an instance comes from ``instance._<name>``.

    On the class it is the default (what suite validation reads); on an instance, the configured value.
    """

    def __init__(self, default: Any) -> None:
        self.default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.attr = f"_{name}"

    def __get__(self, obj: object | None, owner: type | None = None) -> Any:
        if obj is None:
            return self.default
        return getattr(obj, self.attr, self.default)


def template_fields(template: str) -> list[str]:
    """Top-level field names a str.format template uses (``{a.b}``/``{a[0]}`` count as ``a``)."""
    names = []
    for _, field, _, _ in string.Formatter().parse(template):
        if field is None:
            continue
        base = field.split(".", 1)[0].split("[", 1)[0]
        if base == "" or base.isdigit():
            raise ConfigError(
                f"custom: prompt template uses a positional field {{{field}}}; name a field of the rows"
            )
        names.append(base)
    return names


def _read_csv(path: Path) -> list[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise DataError(f"dataset file not found: {path}")
    with io.StringIO(read_user_text(path), newline="") as f:
        reader = csv.DictReader(f)
        rows = []
        for row in reader:
            if None in row:
                raise DataError(f"{path}:{reader.line_num}: row has more values than the header has columns")
            rows.append((reader.line_num, dict(row)))
    return rows


def _read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    rows = read_jsonl(path)
    # read_jsonl skips blank lines; recover each row's line number for error messages
    lines = [n for n, line in enumerate(read_user_text(path).split("\n"), 1) if line.strip()]
    return list(zip(lines, rows, strict=True))


def metric_infos(names: Sequence[str]) -> tuple[MetricInfo, ...]:
    infos = []
    for n in names:
        m = get_metric(str(n))
        if m.item is None:
            raise ConfigError(
                f"custom: metric {n!r} is not a text metric (it is scored from log-likelihoods)"
            )
        infos.append(MetricInfo(m.name, binary=m.binary, higher_is_better=m.higher_is_better))
    return tuple(infos)


@TASKS.register("custom")
class CustomTask(Task):
    """A generation task over the user's own JSONL/CSV file, scored with text metrics."""

    name = "custom"
    dimension = "task"
    metrics = PerInstance((MetricInfo("exact_match", binary=True),))
    primary = PerInstance("exact_match")
    extra_options = ("path", "prompt", "reference", "metrics", "fewshot", "max_new_tokens", "stop")

    def __init__(self, options: TaskOptions | None = None) -> None:
        super().__init__(options)
        self._metrics = self.metrics_for(self.options.extra)
        self._primary = self._metrics[0].name
        self._cached: list[Doc] | None = None

    @classmethod
    def metrics_for(cls, extra: Mapping[str, Any]) -> tuple[MetricInfo, ...]:
        """The metrics a configuration reports (unknown names raise UnknownNameError)."""
        names = extra.get("metrics", DEFAULT_METRICS)
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list | tuple) or not names:
            raise ConfigError("custom: option 'metrics' must be a non-empty list of metric names")
        return metric_infos(names)

    # -- options -------------------------------------------------------------------------------
    def _opt(self, key: str) -> Any:
        value = self.options.extra.get(key)
        if value is None:
            raise ConfigError(
                f"custom: option {key!r} is required (options: {', '.join(self.extra_options)})"
            )
        return value

    @property
    def path(self) -> Path:
        return Path(str(self.options.extra.get("path") or self.options.data or self._opt("path")))

    @property
    def template(self) -> str:
        t = self._opt("prompt")
        if not isinstance(t, str):
            raise ConfigError("custom: option 'prompt' must be a string template")
        return t

    @property
    def fewshot(self) -> int:
        k = self.options.extra.get("fewshot", self.options.shots) or 0
        if not isinstance(k, int) or isinstance(k, bool) or k < 0:
            raise ConfigError(f"custom: option 'fewshot' must be a non-negative integer, got {k!r}")
        return k

    # -- data ----------------------------------------------------------------------------------
    def _rows(self) -> list[tuple[int, dict[str, Any]]]:
        path = self.path
        if path.suffix.lower() == ".csv":
            return _read_csv(path)
        return _read_jsonl(path)

    def _check(self, path: Path, line: int, row: dict[str, Any], fields: list[str], ref: str) -> None:
        for f in fields:
            if f not in row:
                raise DataError(f"{path}: row {line}: missing field {f!r} (used by the prompt template)")
        if ref not in row:
            raise DataError(f"{path}: row {line}: missing field {ref!r} (the reference)")
        value = row[ref]
        ok = isinstance(value, str) or (
            isinstance(value, list) and value and all(isinstance(v, str) for v in value)
        )
        if not ok:
            raise DataError(
                f"{path}: row {line}: field {ref!r} must be a string or a non-empty list of strings, "
                f"found {type(value).__name__}"
            )

    def all_docs(self) -> list[Doc]:
        if self._cached is not None:
            return self._cached
        path, template = self.path, self.template
        ref = str(self._opt("reference"))
        fields = template_fields(template)
        rows = self._rows()
        if not rows:
            raise DataError(f"{path}: no rows")
        line0, first = rows[0]
        for f in fields:
            if f not in first:
                raise ConfigError(
                    f"custom: prompt template names field {{{f}}} but {path} row {line0} has no field {f!r}; "
                    f"its fields: {', '.join(first)}"
                )
        for line, row in rows:
            self._check(path, line, row, fields, ref)
        k = self.fewshot
        if k >= len(rows):
            raise ConfigError(f"custom: fewshot={k} leaves no rows of {path} ({len(rows)} rows) to evaluate")
        shots = "".join(f"{template.format(**r)} {self._refs(r)[0]}\n\n" for _, r in rows[:k])
        self._cached = [
            Doc(id=str(line), data={**row, "_prompt": shots + template.format(**row)})
            for line, row in rows[k:]
        ]
        return self._cached

    def _refs(self, row: dict[str, Any]) -> list[str]:
        value = row[str(self._opt("reference"))]
        return [value] if isinstance(value, str) else list(value)

    # -- requests and scores -------------------------------------------------------------------
    def requests(self, doc: Doc) -> list[Request]:
        stop = self.options.extra.get("stop") or ()
        if isinstance(stop, str):
            stop = (stop,)
        max_new = self.options.extra.get("max_new_tokens", 64)
        if not isinstance(max_new, int) or max_new < 1:
            raise ConfigError(f"custom: option 'max_new_tokens' must be a positive integer, got {max_new!r}")
        return [GenerateRequest(prompt=str(doc.data["_prompt"]), max_new_tokens=max_new, stop=tuple(stop))]

    def score(self, doc: Doc, results: Sequence[Result]) -> ItemScore:
        (res,) = results
        assert isinstance(res, GenerateResult)
        pred = res.text.strip()
        refs = self._refs(doc.data)
        return ItemScore(
            values={m.name: get_metric(m.name).score(pred, refs) for m in self.metrics},
            output=pred,
            input=str(doc.data["_prompt"]),
            reference=" | ".join(refs),
        )
