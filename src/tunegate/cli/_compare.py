"""``tunegate compare`` and ``tunegate run``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunegate.cli._app import app, console, err_console, guarded, progress_for, user_text

DEFAULT_SUITE = "demo"


@app.command()
@guarded
def compare(
    base: Annotated[str, typer.Option(help="base model spec, e.g. builtin:gemma-3-270m")],
    tuned: Annotated[str, typer.Option(help="fine-tuned model spec, e.g. builtin:gemma-3-270m?adapter=DIR")],
    suite: Annotated[str, typer.Option(help="suite YAML file or built-in suite name")] = DEFAULT_SUITE,
    limit: Annotated[
        int | None, typer.Option(help="evaluate only the first N items of each task", min=1)
    ] = None,
    db: Annotated[str | None, typer.Option(help="store URL (default: sqlite file under .tunegate/)")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="write the versioned JSON result here")
    ] = None,
    markdown: Annotated[Path | None, typer.Option(help="write a Markdown summary here")] = None,
    html: Annotated[Path | None, typer.Option(help="write a self-contained HTML report here")] = None,
    junit: Annotated[Path | None, typer.Option(help="write JUnit XML (one test case per gate) here")] = None,
    batch_size: Annotated[int | None, typer.Option(help="requests per backend call", min=1)] = None,
    resume: Annotated[
        bool, typer.Option(help="reuse every stored result (always on: finished work is never redone)")
    ] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
) -> None:
    """Compare a fine-tuned model with its base, item by item, and gate on the result."""
    from tunegate.report import print_comparison, render_markdown, write_html, write_json, write_junit
    from tunegate.runner import CompareConfig, compare_models
    from tunegate.store import open_store
    from tunegate.suite import load_suite

    spec = load_suite(suite)
    config = CompareConfig(suite=spec, base=base, tuned=tuned, limit=limit, batch_size=batch_size)
    store = open_store(db)
    if limit is not None:
        err_console.print(
            f"[bold yellow]WARNING: --limit {limit}: only the first {limit} items of each task are "
            "evaluated; the numbers are NOT comparable with full runs.[/]"
        )
    result = compare_models(config, store, progress=progress_for(quiet))
    print_comparison(result, console)
    if json_out:
        write_json(result, json_out)
    if markdown:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(render_markdown(result), encoding="utf-8")
    if html:
        past = [
            r["result"]
            for r in reversed(store.list_runs(suite=spec.name, limit=20))
            if r["kind"] == "compare"
            and r["status"] == "completed"
            and r["result"]
            and r["id"] != result.run_id
        ]
        write_html(result, html, history=past)
    if junit:
        write_junit(result, junit)
    raise typer.Exit(result.exit_code)


@app.command()
@guarded
def run(
    model: Annotated[str, typer.Option(help="model spec")],
    suite: Annotated[str, typer.Option(help="suite YAML file or built-in suite name")] = DEFAULT_SUITE,
    limit: Annotated[
        int | None, typer.Option(help="evaluate only the first N items of each task", min=1)
    ] = None,
    db: Annotated[str | None, typer.Option(help="store URL")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write scores as JSON here")] = None,
    batch_size: Annotated[int | None, typer.Option(min=1)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Evaluate one model alone on a suite (no gates)."""
    import json

    from tunegate.runner import run_model
    from tunegate.store import open_store
    from tunegate.suite import load_suite

    spec = load_suite(suite)
    if limit is not None:
        err_console.print(
            f"[bold yellow]WARNING: --limit {limit}: numbers are NOT comparable with full runs.[/]"
        )
    summary = run_model(
        spec, model, open_store(db), limit=limit, batch_size=batch_size, progress=progress_for(quiet)
    )
    from rich.table import Table

    table = Table(title=user_text(f"{summary['model']} on suite {spec.name!r} (scores ×100, 95% CI)"))
    for col in ("task", "metric", "n", "score", "95% CI"):
        table.add_column(col)
    for row in summary["tasks"]:
        table.add_row(
            user_text(row["task"]),
            user_text(row["metric"]),
            str(row["n"]),
            f"{100 * row['mean']:.1f}",
            user_text(f"[{100 * row['ci_low']:.1f}, {100 * row['ci_high']:.1f}]"),
        )
    console.print(table)
    if json_out:
        json_out.write_text(json.dumps(summary, indent=2) + "\n")


@app.command()
@guarded
def validate(suite: Annotated[str, typer.Argument(help="suite YAML file or built-in suite name")]) -> None:
    """Check a suite without running it."""
    from rich.text import Text

    from tunegate.suite import load_suite

    spec = load_suite(suite)
    gates = sum(len(t.gates) for t in spec.tasks)
    console.print(
        Text.assemble(
            ("ok", "green"), user_text(f": suite {spec.name!r}: {len(spec.tasks)} task(s), {gates} gate(s)")
        )
    )
