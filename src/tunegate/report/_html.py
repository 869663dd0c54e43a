"""The HTML report: one self-contained file (inline CSS, inline SVG charts, a little vanilla JS).

Nothing is loaded from the network: a Content-Security-Policy forbids it, and the one script is
allowed by its SHA-256 hash, so a ``<script>`` smuggled into a model output could not run even if it
escaped the template's autoescaping (it does not).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from tunegate.report._format import ci_label, fmt_ci, fmt_delta, fmt_empty, fmt_p, fmt_score, points
from tunegate.report._gates import gate_views
from tunegate.report._scorecard import scorecard
from tunegate.report._trend import TrendPoint, as_trend_point, by_step, same_base
from tunegate.runner import ComparisonResult, TaskComparison

__all__ = ["render_html", "result_from_json", "write_html"]

_TEMPLATES = Path(__file__).parent / "templates"
_COLOR = {"pass": "#1a7f37", "fail": "#cf222e", "inconclusive": "#9a6700", None: "#57606a"}
_PALETTE = ("#0969da", "#cf222e", "#1a7f37", "#8250df", "#bc4c00", "#1b7c83", "#bf3989", "#57606a")
_SEVERITY = {"pass": 0, "inconclusive": 1, "fail": 2}

#: the report's only script: filter the flipped-item rows by task and by direction
FILTER_JS = """
(function () {
  var task = document.getElementById("flip-task"), dir = document.getElementById("flip-dir");
  if (!task || !dir) { return; }
  function apply() {
    var rows = document.querySelectorAll("#flipped tbody tr"), shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var ok = (task.value === "" || r.dataset.task === task.value) &&
               (dir.value === "" || r.dataset.dir === dir.value);
      r.hidden = !ok;
      if (ok) { shown++; }
    }
    document.getElementById("flip-count").textContent = shown + " of " + rows.length + " shown";
  }
  task.addEventListener("change", apply);
  dir.addEventListener("change", apply);
  apply();
})();
"""


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(FILTER_JS.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


def _code_spans(text: str) -> Markup:
    """Text with its `backtick` spans as ``<code>`` (everything escaped; for tunegate's own sentences)."""
    parts = str(text).split("`")
    return Markup("").join(
        Markup("<code>{}</code>").format(p) if i % 2 else Markup("{}").format(p) for i, p in enumerate(parts)
    )


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(_TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(score=fmt_score, delta=fmt_delta, p=fmt_p, shown=fmt_empty, code=_code_spans)
    env.filters["ci"] = lambda pair, metric=None: fmt_ci(pair[0], pair[1], metric)
    return env


# -- reading results back from JSON ---------------------------------------------------------------
def result_from_json(data: Mapping[str, Any]) -> ComparisonResult:
    """Rebuild a :class:`ComparisonResult` from its ``tunegate.result/v1`` JSON (``to_json()``)."""
    return ComparisonResult.from_json(data)


def _as_result(r: ComparisonResult | Mapping[str, Any]) -> ComparisonResult:
    return r if isinstance(r, ComparisonResult) else result_from_json(r)


# -- inline SVG charts ----------------------------------------------------------------------------
def _task_outcome(result: ComparisonResult, tc: TaskComparison) -> str | None:
    outs = [g.outcome for g in result.gates if g.task == tc.task and g.metric == tc.primary]
    return max(outs, key=lambda o: _SEVERITY[o]) if outs else None


def _bounds(result: ComparisonResult, tc: TaskComparison) -> list[tuple[float, str]]:
    out = []
    for g in result.gates:
        if g.task == tc.task and g.metric == tc.primary:
            x = -g.threshold if g.kind == "max_drop" else g.threshold
            out.append((x, f"{g.kind} {g.threshold:g}"))
    return out


def _ticks(lo: float, hi: float) -> list[float]:
    span = (hi - lo) * 100
    step = next((s for s in (0.5, 1, 2, 5, 10, 20, 25, 50) if span / s <= 8), 100) / 100
    first = int(lo / step) - 1
    return [k * step for k in range(first, first + 200) if lo <= k * step <= hi]


def delta_chart(result: ComparisonResult) -> str:
    """Horizontal forest plot: each task's primary-metric delta with its 95% CI and gate bounds (points)."""
    tasks = list(result.tasks)
    if not tasks:
        return ""
    values = [0.0]
    for tc in tasks:
        m = tc.metric(tc.primary)
        values += [points(v, m.metric) / 100 for v in (m.ci_low, m.ci_high, m.delta)]
        values += [points(x, m.metric) / 100 for x, _ in _bounds(result, tc)]
    lo, hi = min(values), max(values)
    pad = max(0.01, 0.08 * (hi - lo))
    lo, hi = lo - pad, hi + pad
    left, right, top, row = 230, 700, 30, 34
    width, height = right + 20, top + row * len(tasks) + 30

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * (right - left)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" id="delta-chart" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f"<title>Per-task delta (tuned − base) of the primary metric with {ci_label(result.alpha)}</title>",
    ]
    for t in _ticks(lo, hi):
        parts.append(
            f'<line x1="{x(t):.1f}" y1="{top - 8}" x2="{x(t):.1f}" y2="{height - 24}" stroke="#d0d7de"/>'
            f'<text x="{x(t):.1f}" y="{height - 8}" text-anchor="middle" class="tick">{100 * t:+g}</text>'
        )
    parts.append(
        f'<line x1="{x(0):.1f}" y1="{top - 12}" x2="{x(0):.1f}" y2="{height - 24}" stroke="#24292f" '
        'stroke-width="1.5"/>'
    )
    for i, tc in enumerate(tasks):
        m = tc.metric(tc.primary)
        y = top + row * i + row / 2
        color = _COLOR[_task_outcome(result, tc)]
        label = escape(f"{tc.task} · {tc.primary}")
        tip = escape(
            f"{tc.task}/{tc.primary}: Δ {fmt_delta(m.delta, m.metric)} "
            f"{fmt_ci(m.ci_low, m.ci_high, m.metric)}, n={m.n}"
        )
        parts.append(f'<g class="task-row" data-task="{escape(tc.task)}"><title>{tip}</title>')
        parts.append(f'<text x="{left - 10}" y="{y + 4:.1f}" text-anchor="end" class="label">{label}</text>')
        for b, blabel in _bounds(result, tc):
            bx = points(b, m.metric) / 100
            parts.append(
                f'<line x1="{x(bx):.1f}" y1="{y - 12:.1f}" x2="{x(bx):.1f}" y2="{y + 12:.1f}" '
                f'stroke="#8250df" stroke-dasharray="3,2" stroke-width="2"><title>gate {escape(blabel)}'
                "</title></line>"
            )
        x1, x2 = x(points(m.ci_low, m.metric) / 100), x(points(m.ci_high, m.metric) / 100)
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y:.1f}" x2="{x2:.1f}" y2="{y:.1f}" stroke="{color}" stroke-width="2"/>'
            f'<line x1="{x1:.1f}" y1="{y - 6:.1f}" x2="{x1:.1f}" y2="{y + 6:.1f}" stroke="{color}" '
            'stroke-width="2"/>'
            f'<line x1="{x2:.1f}" y1="{y - 6:.1f}" x2="{x2:.1f}" y2="{y + 6:.1f}" stroke="{color}" '
            'stroke-width="2"/>'
            f'<circle cx="{x(points(m.delta, m.metric) / 100):.1f}" cy="{y:.1f}" r="5" fill="{color}"/></g>'
        )
    parts.append(
        f'<text x="{(left + right) / 2:.0f}" y="14" text-anchor="middle" class="axis">'
        f"Δ tuned − base (points), {ci_label(result.alpha)}; dashed: gate bound</text></svg>"
    )
    return "".join(parts)


def _short_model(spec: str, width: int = 22) -> str:
    """The part of a model spec that tells checkpoints apart: the adapter, else the last path part."""
    head, _, query = spec.partition("?")
    adapter = next((q.split("=", 1)[1] for q in query.split("&") if q.startswith("adapter=")), None)
    name = (adapter or head).rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1] or spec
    return name if len(name) <= width else name[: width - 1] + "…"


def trend_chart(points_: Sequence[TrendPoint | ComparisonResult]) -> str:
    """Primary-metric delta of each task across runs (oldest first), one line per task (points).

    Each run is labelled below the axis with its tuned model and its date. Checkpoints of one training
    (every point with a step) are placed by training step instead, and labelled with it.
    """
    pts = [as_trend_point(p) for p in points_]
    if len(pts) < 2:
        return ""
    steps = by_step(pts)
    if steps:
        pts.sort(key=lambda p: p.step or 0)
    results = [p.result for p in pts]
    names = list(dict.fromkeys(tc.task for r in results for tc in r.tasks))

    def delta(r: ComparisonResult, name: str) -> float | None:
        for tc in r.tasks:
            if tc.task == name:
                m = tc.metric(tc.primary)
                return points(m.delta, m.metric) / 100
        return None

    series = {n: [delta(r, n) for r in results] for n in names}
    values = [0.0] + [v for s in series.values() for v in s if v is not None]
    lo, hi = min(values), max(values)
    pad = max(0.01, 0.1 * (hi - lo))
    lo, hi = lo - pad, hi + pad
    left, right, top, bottom = 60, 560, 20, 220
    width, height = 760, bottom + 62

    first, last = (pts[0].step or 0, pts[-1].step or 0) if steps else (0, 0)

    def x(i: int) -> float:
        if steps and last > first:
            return left + ((pts[i].step or 0) - first) * (right - left) / (last - first)
        return left + i * (right - left) / (len(results) - 1)

    def y(v: float) -> float:
        return bottom - (v - lo) / (hi - lo) * (bottom - top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" id="trend-chart" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        "<title>Primary-metric delta per task across "
        + (
            f"the checkpoints of training {escape(str(pts[0].training))} by training step (points)</title>"
            if steps
            else "runs of this suite against this base (points)</title>"
        ),
    ]
    for t in _ticks(lo, hi):
        parts.append(
            f'<line x1="{left}" y1="{y(t):.1f}" x2="{right}" y2="{y(t):.1f}" stroke="#d0d7de"/>'
            f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end" class="tick">{100 * t:+g}</text>'
        )
    parts.append(f'<line x1="{left}" y1="{y(0):.1f}" x2="{right}" y2="{y(0):.1f}" stroke="#24292f"/>')
    for i, p in enumerate(pts):
        r = p.result
        date = p.started.strftime("%Y-%m-%d") if p.started else r.run_id[:8]
        label, cls = (f"step {p.step}", "run-step") if steps else (date, "run-date")
        tip = f"{r.tuned.get('spec', '')} · run {r.run_id} · {label if steps else date}: {r.verdict}"
        parts.append(
            f'<g class="trend-run" data-run="{escape(r.run_id)}"'
            + (f' data-step="{p.step}"' if steps else "")
            + f"><title>{escape(tip)}</title>"
            f'<text x="{x(i):.1f}" y="{bottom + 16}" text-anchor="middle" class="tick run-model">'
            f"{escape(_short_model(str(r.tuned.get('spec', ''))))}</text>"
            f'<text x="{x(i):.1f}" y="{bottom + 30}" text-anchor="middle" class="tick {cls}">'
            f"{escape(label)}</text>"
            f'<circle cx="{x(i):.1f}" cy="{bottom + 42}" r="4" fill="{_COLOR[r.verdict.lower()]}"/></g>'
        )
    for k, (name, vals) in enumerate(series.items()):
        color = _PALETTE[k % len(_PALETTE)]
        xy = [(x(i), y(v)) for i, v in enumerate(vals) if v is not None]
        if len(xy) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in xy)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts += [f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{color}"/>' for px, py in xy]
        ly = top + 16 * k
        parts.append(
            f'<rect x="{right + 20}" y="{ly - 9}" width="12" height="12" fill="{color}"/>'
            f'<text x="{right + 38}" y="{ly + 1}" class="label">{escape(name)}</text>'
        )
    if steps:
        parts.append(
            f'<text x="{(left + right) / 2:.0f}" y="{height - 4}" text-anchor="middle" class="axis">'
            "training step</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


# -- the page -------------------------------------------------------------------------------------
def _flipped_rows(result: ComparisonResult) -> list[dict[str, Any]]:
    rows = []
    for tc in result.tasks:
        binary = tc.metric(tc.primary).binary if any(m.metric == tc.primary for m in tc.metrics) else True
        for f in tc.flipped:
            regressed = f.base_score > f.tuned_score
            rows.append(
                {
                    "task": tc.task,
                    "item": f.item,
                    "metric": f.metric,
                    "kind": "flip" if binary else "change",
                    "dir": "regressed" if regressed else "improved",
                    "base_score": fmt_score(f.base_score, f.metric) if not binary else f"{f.base_score:g}",
                    "tuned_score": fmt_score(f.tuned_score, f.metric) if not binary else f"{f.tuned_score:g}",
                    "change": fmt_delta(f.tuned_score - f.base_score, f.metric),
                    "input": f.input,
                    "reference": f.reference,
                    "base_output": f.base_output,
                    "tuned_output": f.tuned_output,
                }
            )
    rows.sort(key=lambda r: (r["dir"] != "regressed", r["task"], r["kind"], r["item"]))
    return rows


def _warnings(result: ComparisonResult) -> list[str]:
    out = list(result.warnings)
    if result.limit is not None and not any("--limit" in w for w in out):
        out.append(
            f"--limit {result.limit}: only the first {result.limit} items of each task were evaluated; "
            "these numbers are not comparable with full runs"
        )
    return out


def render_html(
    result: ComparisonResult,
    *,
    history: Iterable[TrendPoint | ComparisonResult | Mapping[str, Any]] = (),
) -> str:
    """The report as one HTML string.

    ``history``: earlier runs, oldest first (points from :func:`trend_history`, results, their JSON or
    store rows), drawn with this run as a trend. Runs of another base model are left out; a trailing
    point for this run (as :func:`trend_history` returns) may carry its start date.
    """
    given = [as_trend_point(h) for h in history if h is not None]
    here = next((p for p in given if p.result.run_id == result.run_id), TrendPoint(result))
    past = [p for p in given if p.result.run_id != result.run_id and same_base(p.result, result)]
    flipped = _flipped_rows(result)
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            r=result,
            ci=ci_label(result.alpha),
            csp=_csp(),
            script=Markup(FILTER_JS),
            warnings=_warnings(result),
            scorecard=scorecard(result),
            delta_svg=Markup(delta_chart(result)),
            trend_svg=Markup(trend_chart([*past, here])),
            trend_by_step=by_step([*past, here]),
            n_history=len(past),
            gate_views=gate_views(result),
            flipped=flipped,
            flip_tasks=list(dict.fromkeys(f["task"] for f in flipped)),
            n_regressed=sum(f["dir"] == "regressed" and f["kind"] == "flip" for f in flipped),
            n_improved=sum(f["dir"] == "improved" and f["kind"] == "flip" for f in flipped),
            n_changes=sum(f["kind"] == "change" for f in flipped),
            passed=sum(g.outcome == "pass" for g in result.gates),
            engine_json=json.dumps(result.engine, sort_keys=True) if result.engine else "",
        )
    )


def write_html(
    result: ComparisonResult,
    path: Path,
    *,
    history: Iterable[TrendPoint | ComparisonResult | Mapping[str, Any]] = (),
) -> None:
    """Write the self-contained HTML report to ``path`` (atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(render_html(result, history=history), encoding="utf-8")
    tmp.replace(path)
