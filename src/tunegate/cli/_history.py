"""``tunegate history``: runs kept in the store.

A run whose process died without recording its end (``kill -9``, a crash of the machine) is shown as
``interrupted``: see ``tunegate.store._lifecycle`` for how a dead run is told from a live one.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tunegate.cli._app import app, console, guarded, user_text


@app.command()
@guarded
def history(
    suite: Annotated[str | None, typer.Option(help="only runs of this suite")] = None,
    kind: Annotated[
        str | None, typer.Option(help="only runs of this kind (compare, run, regress, ...)")
    ] = None,
    db: Annotated[str | None, typer.Option(help="store URL")] = None,
    limit: Annotated[int, typer.Option(help="show at most this many runs", min=1)] = 20,
) -> None:
    """List stored runs, newest first."""
    from rich.table import Table

    from tunegate.store import open_store

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
