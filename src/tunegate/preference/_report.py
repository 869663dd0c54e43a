"""Render a study's results (:func:`study_results`) as terminal text, Markdown, HTML (inline SVG
charts, no external assets) or JSON."""

from __future__ import annotations

import json
from html import escape
from typing import Any

__all__ = ["render_report"]


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _f(x: float | None, nd: int = 3) -> str:
    return "–" if x is None else f"{x:.{nd}f}"


def _lines(r: dict[str, Any]) -> list[tuple[str, str]]:
    s, wr, cs, p = r["study"], r["win_rate"], r["confidence_sequence"], r["preference"]
    pb, ln = r["position_bias"], r["length"]
    c = r["clustered"]
    stop = (
        f"decided: {cs['verdict']}"
        if cs["decided"]
        else (
            f"undecided: about {cs['more_votes']} more votes needed"
            if cs["more_votes"]
            else "undecided: no difference seen so far"
        )
    )
    rows = [
        (
            "study",
            f"{s['name']} ({s['id']}) — {s['candidate']} vs {s['reference']}, "
            f"{s['items']} items, {s['raters']} raters",
        ),
        (
            "votes",
            f"{r['votes']} counted ({wr['wins']} wins, {wr['losses']} losses, {wr['ties']} tie/both bad)",
        ),
        ("win rate", f"{_pct(wr['rate'])}  Wilson 95% CI [{_pct(wr['ci_low'])}, {_pct(wr['ci_high'])}]"),
        ("sign test", f"p = {_f(wr['p_value'], 4)} on {wr['wins'] + wr['losses']} decisive votes"),
    ]
    if c:
        rows.append(
            (
                "clustered by item",
                f"95% CI [{_pct(c['ci_low'])}, {_pct(c['ci_high'])}] (bootstrap over items)",
            )
        )
    dw = r.get("design_weighted")
    if dw:
        rows.append(
            (
                "design-weighted",
                f"{_pct(dw['rate'])} 95% CI [{_pct(dw['ci_low'])}, {_pct(dw['ci_high'])}] "
                "(uncertainty allocation: inverse-probability (Des Raj) estimate, rater-clustered; "
                "the plain win rate above over-weights contested items)",
            )
        )
        stop = "not used: votes drawn by uncertainty do not arrive exchangeably"
    rows += [
        ("anytime-valid CS", f"[{_pct(cs['low'])}, {_pct(cs['high'])}] — {stop}"),
        ("ties / both bad", r["ties_and_both_bad"]),
        (
            "position bias",
            f"left answer won {_pct(pb['rate'])} of {pb['decisive']} decisive votes "
            f"(p = {_f(pb['p_value'], 4)})",
        ),
        (
            "length",
            f"LC win rate {_pct(ln['lc_win_rate'])}, length coefficient {_f(ln['length_coef'], 2)}",
        ),
        ("agreement", f"Krippendorff's alpha {_f(r['agreement']['krippendorff_alpha'])}"),
    ]
    flagged = [f["rater"] for f in r["agreement"]["raters"] if f["near_chance"]]
    if flagged:
        rows.append(("near-chance raters", ", ".join(flagged)))
    for tag, t in r["tags"].items():
        rows.append(
            (f"tag {tag}", f"{_pct(t['rate'])} [{_pct(t['ci_low'])}, {_pct(t['ci_high'])}] n={t['n']}")
        )
    if r["bradley_terry"]:
        for b in r["bradley_terry"]:
            rows.append(
                (f"BT {b['model']}", f"{b['rating']:.0f} [{b['ci_low']:.0f}, {b['ci_high']:.0f}] n={b['n']}")
            )
    j = r["judge"]
    if j:
        a = j["agreement"]
        rows.append(
            (
                "judge",
                f"{j['judge']}: win rate {_pct(j['win_rate']['rate'])}; "
                f"vs human majority on {a['items']} items: "
                f"accuracy {_pct(a['accuracy_vs_human_majority'])}, kappa {_f(a['kappa_vs_human_majority'])}",
            )
        )
    rows.append(
        (
            "scorecard uses",
            f"{p['source']}: {_pct(p['win_rate'])} [{_pct(p['ci_low'])}, {_pct(p['ci_high'])}] n={p['n']}",
        )
    )
    return rows


def _bar(label: str, rate: float, lo: float, hi: float, y: int) -> str:
    w = 400
    return (
        f'<text x="0" y="{y + 14}" font-size="12">{escape(label)}</text>'
        f'<rect x="160" y="{y}" width="{w}" height="18" fill="#eee"/>'
        f'<rect x="160" y="{y}" width="{w * rate:.1f}" height="18" fill="#4a7bd0"/>'
        f'<line x1="{160 + w * lo:.1f}" x2="{160 + w * hi:.1f}" y1="{y + 9}" y2="{y + 9}" '
        'stroke="#000" stroke-width="2"/>'
        f'<line x1="{160 + w / 2}" x2="{160 + w / 2}" y1="{y - 2}" y2="{y + 20}" '
        'stroke="#c00" stroke-dasharray="3"/>'
        f'<text x="{170 + w}" y="{y + 14}" font-size="12">{100 * rate:.1f}%</text>'
    )


def _html(r: dict[str, Any]) -> str:
    bars = [("overall", r["win_rate"])] + [(f"tag {k}", v) for k, v in r["tags"].items()]
    cs = r["confidence_sequence"]
    bars.append(("anytime-valid CS", {"rate": cs["estimate"], "ci_low": cs["low"], "ci_high": cs["high"]}))
    svg = "".join(_bar(n, b["rate"], b["ci_low"], b["ci_high"], 10 + 28 * i) for i, (n, b) in enumerate(bars))
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in _lines(r))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>A/B study report</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:1000px;margin:auto}th{text-align:left;padding-right:1em}</style>"
        f"</head><body><h1>A/B study: {escape(r['study']['name'])}</h1>"
        f"<h2>Win rate of {escape(r['study']['candidate'])} (95% CIs; the dashed line is 50%)</h2>"
        f"<svg width='700' height='{20 + 28 * len(bars)}' role='img'>{svg}</svg>"
        f"<table>{table}</table></body></html>\n"
    )


def render_report(r: dict[str, Any], fmt: str) -> str:
    """``fmt``: terminal, markdown, html or json."""
    if fmt == "json":
        return json.dumps(r, indent=2, default=str) + "\n"
    if fmt == "html":
        return _html(r)
    rows = _lines(r)
    if fmt == "markdown":
        body = "\n".join(f"| {k} | {v.replace('|', '/')} |" for k, v in rows)
        return f"# A/B study: {r['study']['name']}\n\n| | |\n|---|---|\n{body}\n"
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows) + "\n"
