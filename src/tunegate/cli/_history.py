"""``tunegate history``: runs kept in the store."""

from __future__ import annotations

from typing import Annotated

import typer

from tunegate.cli._app import app, console, guarded, user_text


@app.command()
@guarded
def history(
    suite: Annotated[str | None, typer.Option(help="only runs of this suite")] = None,
    db: Annotated[str | None, typer.Option(help="store URL")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 20,
) -> None:
    """List stored runs, newest first."""
    from rich.table import Table

    from tunegate.store import open_store

    runs = open_store(db).list_runs(suite=suite, limit=limit)
    table = Table(title="runs")
    for col in ("id", "started", "kind", "suite", "base", "tuned", "status", "verdict", "computed", "cached"):
        table.add_column(col)
    for r in runs:
        verdict = (r["result"] or {}).get("verdict", "–") if isinstance(r["result"], dict) else "–"
        table.add_row(
            *(
                user_text(v)
                for v in (
                    r["id"],
                    r["started_at"].strftime("%Y-%m-%d %H:%M"),
                    r["kind"],
                    r["suite"],
                    r["base"] or "–",
                    r["tuned"],
                    r["status"],
                    verdict,
                    r["n_computed"],
                    r["n_cached"],
                )
            )
        )
    console.print(table)
