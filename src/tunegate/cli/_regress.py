"""``tunegate regress`` (a regression suite on one model) and ``tunegate watch`` (on each new checkpoint).

Exit codes of ``regress``: 0 every case met its threshold (flaky cases are flagged, not failed, unless
``--strict-flaky``), 1 a case failed, 2 a configuration error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunegate.cli._app import app, console, err_console, guarded, progress_for, user_text
from tunegate.cli._compare import MlflowUri, WandbProject


@app.command()
@guarded
def regress(
    suite: Annotated[Path, typer.Argument(help="regression suite YAML file")],
    model: Annotated[str, typer.Option(help="model spec, e.g. builtin:gemma-3-270m?adapter=DIR")],
    db: Annotated[str | None, typer.Option(help="store URL (default: sqlite file under .tunegate/)")] = None,
    junit: Annotated[Path | None, typer.Option(help="write JUnit XML here (one testcase per case)")] = None,
    markdown: Annotated[Path | None, typer.Option(help="write a Markdown summary here")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the JSON result here")] = None,
    baseline: Annotated[
        str | None, typer.Option(help="compare with an earlier regress run: 'last' or a run id")
    ] = None,
    reference: Annotated[
        str | None, typer.Option(help="also run the reference (base) model: is a failure new or old?")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option(help="only cases with this tag (repeatable)")] = None,
    strict_flaky: Annotated[bool, typer.Option(help="flaky cases fail too (exit 1)")] = False,
    batch_size: Annotated[int | None, typer.Option(help="requests per backend call", min=1)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
    mlflow: MlflowUri = None,
    wandb: WandbProject = None,
) -> None:
    """Run a regression suite of fixed prompts with expected behaviours on a model."""
    from tunegate.errors import ConfigError
    from tunegate.integrations._tracking import trackers
    from tunegate.models import parse_model_spec
    from tunegate.regression import load_regression_suite, run_regression
    from tunegate.report import print_regression, render_regress_markdown, write_json, write_regress_junit
    from tunegate.store import open_store

    track = trackers(mlflow=mlflow, wandb=wandb)
    spec = load_regression_suite(suite)
    if tag:
        spec = spec.select(tags=tag)
        if not spec.cases:
            raise ConfigError(f"{suite}: no case has any of the tags {', '.join(tag)}")
    parse_model_spec(model)
    if reference:
        parse_model_spec(reference)
    result = run_regression(
        spec,
        model,
        open_store(db),
        reference=reference,
        baseline=baseline,
        batch_size=batch_size,
        progress=progress_for(quiet),
    )
    report = result.report()
    print_regression(report, console)
    if junit:
        write_regress_junit(report, junit)
    if markdown:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(render_regress_markdown(report), encoding="utf-8")
    if json_out:
        write_json(report, json_out, sort_keys=False)
    for line in track(report, exit_code=result.exit_code(strict_flaky)):
        err_console.print(user_text(f"logged to {line}"), highlight=False, soft_wrap=True)
    raise typer.Exit(result.exit_code(strict_flaky))


@app.command()
@guarded
def watch(
    directory: Annotated[Path, typer.Argument(help="training output folder (holds checkpoint-N folders)")],
    suite: Annotated[Path, typer.Option(help="regression suite YAML file")],
    base: Annotated[
        str | None, typer.Option(help="base model spec for PEFT adapter checkpoints (default: from adapter)")
    ] = None,
    interval: Annotated[float, typer.Option(help="seconds between scans", min=0.1)] = 30.0,
    once: Annotated[bool, typer.Option(help="evaluate what is there now, then exit")] = False,
    db: Annotated[str | None, typer.Option(help="store URL")] = None,
    reference: Annotated[
        str | None, typer.Option(help="base model spec: also report the best checkpoint so far vs this base")
    ] = None,
    looks: Annotated[
        int | None,
        typer.Option(help="planned number of checkpoints: best-vs-base is tested at alpha / looks", min=1),
    ] = None,
) -> None:
    """Evaluate each new checkpoint under DIRECTORY once with a regression suite (Ctrl-C stops).

    Each line is a verdict on that checkpoint alone. With --reference, a second line compares the best
    checkpoint so far with the base at alpha / --looks (alpha spending), so many looks do not give many
    chances to pass.
    """
    from tunegate.errors import ConfigError
    from tunegate.regression import RegressionResult, load_regression_suite
    from tunegate.regression import watch as watch_checkpoints
    from tunegate.store import open_store

    if not directory.is_dir():
        raise ConfigError(f"not a folder: {directory}")
    spec = load_regression_suite(suite)

    seen: list[tuple[Path, RegressionResult]] = []

    def show(folder: Path, r: RegressionResult) -> None:
        style = "red" if r.count("failed") else "green"
        line = user_text(folder.name, style)
        line.append(
            f": {r.count('passed')} passed, {r.count('flaky')} flaky, "
            f"{r.count('failed')} failed (pass rate {100 * r.pass_rate:.0f}%) run {r.run_id}"
        )
        console.print(line, highlight=False)
        if reference is not None:
            from tunegate.regression import best_vs_base

            seen.append((folder, r))
            best = best_vs_base(seen, planned_looks=looks)
            console.print(
                user_text(f"  best so far {best.checkpoint} vs base: {best.outcome}: {best.reason}"),
                highlight=False,
            )

    if not once:
        err_console.print(user_text(f"watching {directory} every {interval:g}s; Ctrl-C stops"))
    done = watch_checkpoints(
        directory,
        spec,
        open_store(db),
        base=base,
        reference=reference,
        interval=interval,
        once=once,
        on_result=show,
    )
    if once and not done:
        console.print("no new checkpoint")
