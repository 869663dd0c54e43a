"""``tunegate report``: re-render a stored compare run, with what has arrived since (an A/B study's
votes fill the scorecard's preference row and its gates). Nothing is rerun."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunegate.cli._app import app, console, guarded, user_text
from tunegate.errors import ConfigError


@app.command()
@guarded
def report(
    run_id: Annotated[
        str, typer.Argument(metavar="RUN", help="a stored compare run id (or a unique prefix)")
    ],
    db: Annotated[str | None, typer.Option(help="store URL")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="write the versioned JSON result here")
    ] = None,
    markdown: Annotated[Path | None, typer.Option(help="write a Markdown summary here")] = None,
    html: Annotated[Path | None, typer.Option(help="write a self-contained HTML report here")] = None,
    junit: Annotated[Path | None, typer.Option(help="write JUnit XML (one test case per gate) here")] = None,
    preference_gate: Annotated[
        list[str] | None,
        typer.Option(
            help="preference gate to apply (repeat): min_win_rate (tuned wins at least 50%), "
            "no_significant_loss (CI not wholly below 50%); default both"
        ),
    ] = None,
    no_preference_gates: Annotated[
        bool, typer.Option("--no-preference-gates", help="show the preference row without gating on it")
    ] = False,
) -> None:
    """Re-render a stored compare run; an A/B study made from it (`tunegate ab create --from-run`) fills
    the preference row: human votes when there are enough (30), else the automatic judge.

    Exit codes: as `tunegate compare` (0 pass, 1 a gate failed, 2 usage error, 3 inconclusive).
    """
    from tunegate.preference import StudyStore
    from tunegate.preference._attach import attach_preference
    from tunegate.report import print_comparison, result_from_json, write_reports
    from tunegate.runner._scorecard import PREFERENCE_GATES
    from tunegate.store import open_store

    store = open_store(db)
    run = store.get_run(run_id)
    if run.kind != "compare" or not run.result:
        raise ConfigError(f"run {run.id} is a {run.kind} run with status {run.status}: no stored comparison")
    gates = () if no_preference_gates else tuple(preference_gate or PREFERENCE_GATES)
    bad = sorted(set(gates) - set(PREFERENCE_GATES))
    if bad:
        raise ConfigError(f"--preference-gate {bad[0]!r}: use {' or '.join(PREFERENCE_GATES)}")
    result, pref = attach_preference(StudyStore(store), result_from_json(run.result), gates)
    print_comparison(result, console)
    if pref is None:
        console.print("preference: not run (no A/B study made from this run)", highlight=False)
    elif pref["n"] == 0:
        console.print(
            f"preference: study {pref['study_id']} has no vote yet", highlight=False, soft_wrap=True
        )
    else:
        src = (
            f"human votes ({pref['human_votes']})"
            if pref["source"] == "human"
            else f"the automatic judge (only {pref['human_votes']} human votes, fewer than "
            f"{pref['min_human_votes']})"
        )
        console.print(
            user_text(
                f"preference: tuned wins {100 * pref['win_rate']:.1f}% "
                f"[{100 * pref['ci_low']:.1f}, {100 * pref['ci_high']:.1f}] n={pref['n']}, "
                f"from {src}, study {pref['study_id']}"
            ),
            soft_wrap=True,
        )
    write_reports(result, store, json_out=json_out, html=html, markdown=markdown, junit=junit)
    raise typer.Exit(result.exit_code)
