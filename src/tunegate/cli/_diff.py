"""``tunegate diff``: compare two stored runs item by item, from their stored scores (nothing is rerun)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from tunegate.cli._app import app, console, err_console, guarded, user_text
from tunegate.errors import ConfigError

if TYPE_CHECKING:
    from tunegate.store import RunRecord, ScoreRecord

__all__ = ["DiffRow", "diff_scores", "role_of"]


@dataclass(frozen=True)
class DiffRow:
    """One task/metric of two runs, paired on the items both scored; delta = B − A."""

    task: str
    metric: str
    n: int
    only_a: int
    only_b: int
    mean_a: float
    mean_b: float
    delta: float
    ci_low: float
    ci_high: float
    p_value: float | None


def role_of(run: RunRecord, role: str) -> str:
    """The score role to diff for ``run``: ``"model"`` for a single-model run, ``role`` otherwise."""
    return "model" if run.kind == "run" else role


def _index(scores: list[ScoreRecord], role: str) -> dict[tuple[str, str], dict[str, float]]:
    out: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for s in scores:
        if s.role == role:
            out[(s.task, s.metric)][s.item] = s.value
    return out


def diff_scores(
    scores_a: list[ScoreRecord],
    scores_b: list[ScoreRecord],
    role_a: str,
    role_b: str,
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> list[DiffRow]:
    """Pair the items of every task/metric present in both score lists (rows of ``Store.get_scores``)."""
    from tunegate.stats import paired_bootstrap

    a, b = _index(scores_a, role_a), _index(scores_b, role_b)
    rows = []
    for key in sorted(a.keys() & b.keys()):
        ia, ib = a[key], b[key]
        items = sorted(ia.keys() & ib.keys())
        if not items:
            continue
        est = paired_bootstrap([ia[i] for i in items], [ib[i] for i in items], n_boot=n_boot, seed=seed)
        rows.append(
            DiffRow(
                task=key[0],
                metric=key[1],
                n=len(items),
                only_a=len(ia.keys() - ib.keys()),
                only_b=len(ib.keys() - ia.keys()),
                mean_a=est.base,
                mean_b=est.tuned,
                delta=est.delta,
                ci_low=est.ci_low,
                ci_high=est.ci_high,
                p_value=est.p_value,
            )
        )
    return rows


def _describe(run: RunRecord, role: str) -> str:
    return f"{run.id} ({run.kind}, suite {run.suite!r}, {role}: {run.spec(role)}, {run.status})"


@app.command()
@guarded
def diff(
    run_a: Annotated[
        str, typer.Argument(metavar="RUN_A", help="first run id (or a unique prefix): the reference, A")
    ],
    run_b: Annotated[
        str, typer.Argument(metavar="RUN_B", help="second run id (or a unique prefix): B; delta = B − A")
    ],
    role: Annotated[
        Literal["base", "tuned"], typer.Option(help="which model of a compare run to diff")
    ] = "tuned",
    db: Annotated[str | None, typer.Option(help="store URL")] = None,
) -> None:
    """Compare two stored runs item by item, without recomputing anything (delta = B − A)."""
    from rich.table import Table
    from rich.text import Text

    from tunegate.report._format import fmt_ci, fmt_delta, fmt_p, fmt_score
    from tunegate.store import open_store

    store = open_store(db)
    runs = [store.get_run(run_a), store.get_run(run_b)]
    roles = [role_of(r, role) for r in runs]
    scores = [store.get_scores(r.id) for r in runs]
    for r, ro, sc in zip(runs, roles, scores, strict=True):
        if not any(s.role == ro for s in sc):
            have = sorted({s.role for s in sc})
            raise ConfigError(
                f"run {r.id} has no stored {ro!r} scores (status {r.status}"
                + (f", roles: {', '.join(have)})" if have else ", no scores at all)")
            )
    if runs[0].suite_hash != runs[1].suite_hash:
        err_console.print(
            "[bold yellow]WARNING[/]: the runs used different suite definitions; "
            "only task/metric/item combinations present in both are compared"
        )
    rows = diff_scores(scores[0], scores[1], roles[0], roles[1])
    if not rows:
        raise ConfigError(f"runs {runs[0].id} and {runs[1].id} share no task/metric with common items")
    console.print(user_text(f"A: {_describe(runs[0], roles[0])}\nB: {_describe(runs[1], roles[1])}"))
    table = Table(title="stored scores ×100, paired on items; delta = B − A, 95% CI by paired bootstrap")
    unpaired = any(d.only_a or d.only_b for d in rows)
    cols = ("task", "metric", "n", "A", "B", "delta", "95% CI", "p") + (("unpaired",) if unpaired else ())
    for col in cols:
        left = col in ("task", "metric")
        table.add_column(col, justify="left" if left else "right", no_wrap=not left, overflow="fold")
    for d in rows:
        style = "green" if d.ci_low > 0 else "red" if d.ci_high < 0 else None
        cells: list[str | Text] = [
            user_text(d.task),
            user_text(d.metric),
            str(d.n),
            fmt_score(d.mean_a),
            fmt_score(d.mean_b),
            fmt_delta(d.delta),
            user_text(fmt_ci(d.ci_low, d.ci_high)),
            fmt_p(d.p_value),
        ]
        if unpaired:
            cells.append(f"{d.only_a}/{d.only_b}")
        table.add_row(*cells, style=style)
    console.print(table)
    if unpaired:
        console.print("  unpaired: items only in A / only in B (left out of the comparison)")
