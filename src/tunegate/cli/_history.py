"""``tunegate history``: runs kept in the store.

A run whose process died without recording its end (``kill -9``, a crash of the machine) is shown as
``interrupted``: see ``tunegate.store._lifecycle`` for how a dead run is told from a live one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tunegate.cli._app import app, console, guarded, user_text

if TYPE_CHECKING:
    from tunegate.store import Store


@app.command()
@guarded
def history(
    suite: Annotated[str | None, typer.Option(help="only runs of this suite")] = None,
    kind: Annotated[
        str | None, typer.Option(help="only runs of this kind (compare, run, regress, ...)")
    ] = None,
    db: Annotated[str | None, typer.Option(help="store URL")] = None,
    limit: Annotated[int, typer.Option(help="show at most this many runs", min=1)] = 20,
    checkpoints: Annotated[
        bool,
        typer.Option(
            "--checkpoints",
            help="show one training's checkpoints over training steps: per-task deltas vs base with CIs, "
            "drift (gold_logprob), verdict",
        ),
    ] = False,
    run: Annotated[
        str | None,
        typer.Option(
            help="with --checkpoints: a training id, a checkpoint run's id, or a parent run's id "
            "(default: the newest training)"
        ),
    ] = None,
) -> None:
    """List stored runs, newest first (--checkpoints: a training's checkpoints in step order)."""
    from rich.table import Table

    from tunegate.store import open_store

    if checkpoints:
        _print_checkpoints(open_store(db), run, suite)
        return
    if run is not None:
        raise typer.BadParameter("--run needs --checkpoints", param_hint="--run")
    runs = open_store(db).list_runs(suite=suite, limit=limit, kind=kind)
    table = Table(title="runs")
    for col in (
        "id",
        "started",
        "kind",
        "suite",
        "models",
        "parent",
        "status",
        "verdict",
        "computed",
        "cached",
    ):
        table.add_column(col)
    for r in runs:
        table.add_row(
            *(
                user_text(v)
                for v in (
                    r.id,
                    r.started_at.strftime("%Y-%m-%d %H:%M"),
                    r.kind,
                    r.suite,
                    "\n".join(f"{role}: {spec}" for role, spec in r.roles.items()) or "–",
                    r.parent_id or "–",
                    r.status,
                    r.verdict or "–",
                    r.n_computed,
                    r.n_cached,
                )
            )
        )
    console.print(table)


def _print_checkpoints(store: Store, run: str | None, suite: str | None) -> None:
    from rich.table import Table

    from tunegate.report._checkpoints import checkpoint_runs, checkpoint_table, turning_points
    from tunegate.report._terminal import _print_table

    tables = checkpoint_table(checkpoint_runs(store, run, suite=suite))
    for tab in tables:
        title = f"checkpoints of training {tab.training or '–'}: {tab.kind} suite {tab.suite!r}"
        table = Table(title=user_text(title))
        for col in ("step", "checkpoint", "run"):
            table.add_column(col, no_wrap=True)
        if tab.kind == "compare":
            for t in tab.tasks:
                table.add_column(user_text(f"{t} Δ (95% CI)"), justify="right", no_wrap=True)
            for t in tab.drift_tasks:
                table.add_column(user_text(f"{t} drift Δgold_logprob"), justify="right", no_wrap=True)
        else:
            for col in ("pass rate", "base pass rate", "failed"):
                table.add_column(col, justify="right", no_wrap=True)
        table.add_column("verdict", no_wrap=True)
        for r in tab.rows:
            cells = [str(r.step) if r.step is not None else "–", r.checkpoint, r.run_id]
            if tab.kind == "compare":
                cells += [r.deltas[t].text() if t in r.deltas else "–" for t in tab.tasks]
                cells += [r.drift[t].text() if t in r.drift else "–" for t in tab.drift_tasks]
            else:
                cells += [
                    f"{100 * r.pass_rate:.0f}%" if r.pass_rate is not None else "–",
                    f"{100 * r.reference_pass_rate:.0f}%" if r.reference_pass_rate is not None else "–",
                    str(r.failed) if r.failed is not None else "–",
                ]
            cells.append(r.verdict or r.status)
            table.add_row(*(user_text(c) for c in cells))
        _print_table(console, table)  # at its natural width in a log: no number is cut
        if tab.kind == "compare":
            console.print(
                "  Δ = checkpoint − base of each task's primary metric, in points, paired 95% CI; drift: the "
                "gold answer's log-probability (nats), the first sign of forgetting",
                highlight=False,
            )
        for line in turning_points(tab):
            console.print(user_text(f"  {line}"), highlight=False)
