"""``tunegate safety``: attack a model (and its base) with the safety probes, judge and compare.

Exit codes: 0 no gate failed (or none given), 1 a ``--max-*-rise`` gate failed (the delta's 95% CI lies
wholly above the allowed rise), 2 usage error, 3 a gate is inconclusive (the CI straddles the bound).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tunegate.cli._app import app, console, guarded, progress_for


def _gate(name: str, paired: dict, bound: float | None) -> tuple[str, str] | None:  # type: ignore[type-arg]
    if bound is None:
        return None
    p = paired[name]
    if p["ci_low"] > bound:
        return (
            "fail",
            f"{name} rose {100 * p['delta']:+.1f} pts, "
            f"CI low {100 * p['ci_low']:+.1f} > allowed {100 * bound:.1f}",
        )
    if p["ci_high"] <= bound:
        return (
            "pass",
            f"{name} rise {100 * p['delta']:+.1f} pts, "
            f"CI high {100 * p['ci_high']:+.1f} <= allowed {100 * bound:.1f}",
        )
    return (
        "inconclusive",
        f"{name} rise {100 * p['delta']:+.1f} pts, "
        f"CI [{100 * p['ci_low']:+.1f}, {100 * p['ci_high']:+.1f}] straddles {100 * bound:.1f}",
    )


@app.command()
@guarded
def safety(
    model: Annotated[str, typer.Option(help="model spec to attack (the tuned model)")],
    base: Annotated[str | None, typer.Option(help="base model spec: paired deltas and worst cases")] = None,
    behaviors: Annotated[
        list[str] | None,
        typer.Option(help="behaviour source: jailbreakbench, harmbench, advbench (repeatable)"),
    ] = None,
    category: Annotated[list[str] | None, typer.Option(help="only this harm category (repeatable)")] = None,
    attack: Annotated[
        list[str] | None, typer.Option(help="attack name (repeatable; default: all built-in)")
    ] = None,
    attack_file: Annotated[
        Path | None, typer.Option(help="YAML attack templates with a {behavior} placeholder")
    ] = None,
    recorded: Annotated[
        list[str] | None, typer.Option(help="recorded JBB attacks: PAIR, GCG, JBC (repeatable)")
    ] = None,
    safe: Annotated[
        list[str] | None, typer.Option(help="safe-prompt source: jbb-benign, xstest (repeatable)")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="number of behaviours (and safe prompts)", min=1)] = 10,
    judge: Annotated[str, typer.Option(help="refusal judge: learned, regex or a model spec")] = "learned",
    harm_judge: Annotated[str, typer.Option(help="harm judge: learned or a model spec")] = "learned",
    max_new_tokens: Annotated[int, typer.Option(help="tokens each answer may have", min=1)] = 48,
    max_asr_rise: Annotated[
        float | None, typer.Option(help="gate: ASR may rise by at most this (0.05 = 5 points)", min=0)
    ] = None,
    max_over_refusal_rise: Annotated[
        float | None, typer.Option(help="gate: over-refusal may rise by at most this", min=0)
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="write the full result (includes harmful text)")
    ] = None,
    markdown: Annotated[Path | None, typer.Option(help="write a Markdown summary (numbers only)")] = None,
    html: Annotated[Path | None, typer.Option(help="write the worst-cases HTML section")] = None,
    db: Annotated[str | None, typer.Option(help="store URL")] = None,
    batch_size: Annotated[int | None, typer.Option(help="requests per backend call", min=1)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress display")] = False,
) -> None:
    """Attack success, refusal and over-refusal of MODEL (vs BASE), judged with measured error."""
    from rich.table import Table

    from tunegate.errors import ConfigError
    from tunegate.models import parse_model_spec
    from tunegate.safety._probes import DEFAULT_ATTACKS, ProbeSpec
    from tunegate.safety._report import render_markdown, render_worst_cases_html, summary_rows
    from tunegate.safety._run import run_safety
    from tunegate.store import open_store

    parse_model_spec(model)
    if base:
        parse_model_spec(base)
    if (max_asr_rise is not None or max_over_refusal_rise is not None) and not base:
        raise ConfigError("--max-asr-rise / --max-over-refusal-rise compare with a base: give --base")
    spec = ProbeSpec(
        behaviors=tuple(behaviors or ("jailbreakbench",)),
        categories=tuple(category or ()),
        attacks=tuple(attack or DEFAULT_ATTACKS),
        recorded=tuple(recorded or ()),
        attack_file=str(attack_file) if attack_file else None,
        safe=tuple(safe or ("jbb-benign",)),
        limit=limit,
    )
    spec.validate()
    report = run_safety(
        model,
        open_store(db),
        spec,
        base=base,
        refusal_judge=judge,
        harm_judge=harm_judge,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        progress=progress_for(quiet),
    ).to_json()
    table = Table(title="safety (95% CI clustered by behaviour)")
    for col in ("metric", "tuned", "base", "delta"):
        table.add_column(col)
    for row in summary_rows(report):
        table.add_row(*row)
    console.print(table)
    for w in report["warnings"]:
        console.print(f"[yellow]warning:[/] {w}", highlight=False)
    if json_out:
        json_out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if markdown:
        markdown.write_text(render_markdown(report), encoding="utf-8")
    if html:
        html.write_text(render_worst_cases_html(report), encoding="utf-8")
    outcomes = []
    if report["paired"]:
        for name, bound in (
            ("attack_success_rate", max_asr_rise),
            ("over_refusal_rate", max_over_refusal_rise),
        ):
            g = _gate(name, report["paired"], bound)
            if g:
                outcomes.append(g[0])
                console.print(f"gate {g[0]}: {g[1]}", highlight=False)
    raise typer.Exit(1 if "fail" in outcomes else 3 if "inconclusive" in outcomes else 0)
