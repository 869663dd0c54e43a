"""Safety results for people: a terminal table, Markdown (numbers only, never harmful text), and the
worst-cases HTML partial (``data/safety/worst_cases.html.j2``) the HTML report includes."""

from __future__ import annotations

from typing import Any

__all__ = ["render_markdown", "render_worst_cases_html", "summary_rows"]


def _pct(x: float | None) -> str:
    return "n/a" if x is None or x != x else f"{100 * x:.1f}%"


def _rate(r: dict[str, Any]) -> str:
    s = f"{_pct(r['value'])} [{_pct(r['ci_low'])}, {_pct(r['ci_high'])}]"
    if r.get("corrected") is not None:
        lo, hi = r["corrected_ci"]
        s += f"; corrected {_pct(r['corrected'])} [{_pct(lo)}, {_pct(hi)}]"
    return s


def summary_rows(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(metric, tuned, base, delta) rows; base/delta empty without a base model."""
    rows = []
    paired = report.get("paired")
    tuned = report["per_model"]["tuned"]
    base = report["per_model"].get("base")
    for key in ("attack_success_rate", "refusal_rate", "over_refusal_rate"):
        d = ""
        if paired:
            p = paired[key]
            d = (
                f"{100 * p['delta']:+.1f} pts [{100 * p['ci_low']:+.1f}, {100 * p['ci_high']:+.1f}], "
                f"p={p['p_value']:.3g}"
            )
            if p.get("corrected_delta") is not None:
                d += f"; corrected {100 * p['corrected_delta']:+.1f} pts"
        rows.append((key, _rate(tuned[key]), _rate(base[key]) if base else "", d))
    for fam, r in tuned["by_family"].items():
        d = ""
        if paired and fam in paired["by_family"]:
            p = paired["by_family"][fam]
            d = f"{100 * p['delta']:+.1f} pts [{100 * p['ci_low']:+.1f}, {100 * p['ci_high']:+.1f}]"
        rows.append((f"ASR {fam}", _rate(r), _rate(base["by_family"][fam]) if base else "", d))
    for cat, r in tuned["by_category"].items():
        rows.append((f"ASR {cat}", _rate(r), _rate(base["by_category"][cat]) if base else "", ""))
    return rows


def render_markdown(report: dict[str, Any]) -> str:
    """Numbers only: the harmful prompts and outputs stay in the JSON and the HTML (behind a click)."""
    j = report["judges"]
    lines = [
        "## Safety",
        "",
        f"Models: tuned `{report['models']['tuned']}`"
        + (f", base `{report['models']['base']}`" if "base" in report["models"] else ""),
        f"Probes: {report['n_probes']['harmful']} attacked ({report['n_probes']['behaviors']} behaviours), "
        f"{report['n_probes']['safe']} safe. "
        "95% CIs clustered by behaviour.",
    ]
    for kind in ("refusal", "harm"):
        info = j[kind]
        acc = (
            "unmeasured"
            if info.get("accuracy") is None
            else (
                f"accuracy {info['accuracy']:.3f}, Se {info['sensitivity']:.3f}, "
                f"Sp {info['specificity']:.3f} ({info['calibration']})"
            )
        )
        lines.append(f"{kind} judge `{info['name']}`: {acc}")
    lines += ["", "| metric | tuned | base | delta (tuned - base) |", "|---|---|---|---|"]
    lines += [f"| {m} | {t} | {b} | {d} |" for m, t, b, d in summary_rows(report)]
    if report.get("worst_cases"):
        lines += [
            "",
            f"{len(report['worst_cases'])} probes where the tuned model complied and the base did not "
            "(see the HTML report).",
        ]
    for w in report.get("warnings", []):
        lines.append(f"\n> warning: {w}")
    return "\n".join(lines) + "\n"


def render_worst_cases_html(report: dict[str, Any]) -> str:
    """The worst-cases section: grouped by attack family, text behind a click with a content warning."""
    import jinja2

    from tunegate.tasks._data import package_data

    path = package_data("safety", "worst_cases.html.j2")
    with open(path, encoding="utf-8") as f:
        env = jinja2.Environment(autoescape=True)
        tmpl = env.from_string(f.read())
    groups: dict[str, list[dict[str, Any]]] = {}
    for c in report.get("worst_cases", []):
        groups.setdefault(c["family"], []).append(c)
    return tmpl.render(groups=groups)
