"""``tunegate ab``: blinded A/B human preference studies (create, invite, revoke, serve, judge, report,
export, list). The work is in :mod:`tunegate.preference`; these commands only parse and print."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from tunegate.cli._app import app, console, err_console, guarded, progress_for
from tunegate.errors import ConfigError

__all__ = ["ab"]

ab = typer.Typer(help="Blinded A/B preference studies rated by people.", no_args_is_help=True)
app.add_typer(ab, name="ab")

Db = Annotated[str | None, typer.Option("--db", help="store URL (default: the project's SQLite file)")]


def _ss(db: str | None) -> Any:
    from tunegate.preference import StudyStore
    from tunegate.store import open_store

    return StudyStore(open_store(db))


def _models(specs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, s in enumerate(specs):
        key, sep, spec = s.partition("=")
        if not sep:
            key, spec = ("base" if i == 0 else "tuned" if i == 1 else f"model{i + 1}"), s
        if not key or not spec or key in out or key in ("tie", "both_bad"):
            raise ConfigError(f"--model {s!r}: give KEY=SPEC with a unique key (or just SPEC)")
        out[key] = spec
    return out


def _print_invites(made: list[Any], url: str) -> None:
    for rater, token in made:
        typer.echo(f"  {rater.name:<16} {url.rstrip('/')}/invite/{token}")


@ab.command("create")
@guarded
def create(
    queries: Annotated[
        Path | None, typer.Option(help="JSONL/CSV of user queries (prompt or messages, tags)")
    ] = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", help="KEY=SPEC, repeat; the first is the reference")
    ] = None,
    from_run: Annotated[str | None, typer.Option("--from-run", help="a stored compare run id")] = None,
    name: Annotated[str, typer.Option(help="study name")] = "study",
    overlap: Annotated[int, typer.Option(help="raters per item (k)")] = 3,
    items_per_rater: Annotated[int, typer.Option(help="items in each rater's queue")] = 20,
    allocation: Annotated[
        str,
        typer.Option(
            help="balanced (k raters per item, fixed queues) or uncertainty (each next item drawn "
            "by how much a vote would narrow its interval, with a uniform floor; win rate reweighted)"
        ),
    ] = "balanced",
    uniform_floor: Annotated[
        float,
        typer.Option(help="uncertainty allocation: share of each draw spread uniformly", min=0.01, max=1),
    ] = 0.2,
    raters: Annotated[
        list[str] | None, typer.Option("--rater", help="invite a rater by name (repeat)")
    ] = None,
    instructions: Annotated[str | None, typer.Option(help="instructions shown to raters")] = None,
    candidate: Annotated[str | None, typer.Option(help="model key whose win rate is the headline")] = None,
    max_new_tokens: Annotated[int, typer.Option(help="answer length when generating")] = 256,
    url: Annotated[str, typer.Option(help="base URL printed in invite links")] = "http://127.0.0.1:8000",
    seed: Annotated[int, typer.Option(help="seed of assignments and A/B order")] = 0,
    db: Db = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Make a study from a compare run or from a file of queries answered by two or more models."""
    from tunegate.preference import StudySettings
    from tunegate.preference._sources import items_from_queries, items_from_run, read_queries

    if allocation not in ("balanced", "uncertainty"):
        raise ConfigError(f"--allocation {allocation!r}: use balanced or uncertainty")
    if (queries is None) == (from_run is None):
        raise ConfigError("give exactly one of --queries FILE (with --model) or --from-run RUN")
    ss = _ss(db)
    source_run = None
    if from_run:
        run, items = items_from_run(ss.store, from_run)
        models = {"base": run.spec("base") or "", "tuned": run.spec("tuned") or ""}
        source_run = run.id
    else:
        models = _models(model or [])
        if len(models) < 2:
            raise ConfigError("--queries needs at least two --model KEY=SPEC")
        assert queries is not None
        items = items_from_queries(
            read_queries(queries),
            models,
            ss.store,
            max_new_tokens=max_new_tokens,
            progress=progress_for(quiet),
        )
    keys = list(models)
    cand = candidate or keys[1]
    if cand not in models:
        raise ConfigError(f"--candidate {cand!r} is not one of {keys}")
    ref = keys[0] if cand != keys[0] else keys[1]
    extra: dict[str, Any] = {"instructions": instructions} if instructions else {}
    settings = StudySettings(
        name=name,
        models=models,
        reference=ref,
        candidate=cand,
        overlap=overlap,
        items_per_rater=items_per_rater,
        source_run_id=source_run,
        allocation=allocation,
        floor=uniform_floor,
        **extra,
    )
    sid, owner = ss.create_study(settings, items, seed=seed)
    console.print(f"study {sid}: {len(items)} items, {cand} vs {ref}", highlight=False)
    typer.echo(f"owner token (keep it secret; needed for results over HTTP): {owner}")
    if raters:
        _print_invites(ss.invite(sid, raters), url)


@ab.command("invite")
@guarded
def invite(
    study: str,
    names: list[str],
    url: Annotated[str, typer.Option(help="base URL printed in invite links")] = "http://127.0.0.1:8000",
    db: Db = None,
) -> None:
    """Invite raters: each gets a secret link and a balanced queue."""
    _print_invites(_ss(db).invite(study, names), url)


@ab.command("revoke")
@guarded
def revoke(study: str, rater: str, db: Db = None) -> None:
    """Revoke a rater's link (their votes stay counted)."""
    r = _ss(db).revoke(study, rater)
    console.print(f"revoked {r.name} ({r.id})", highlight=False)


@ab.command("list")
@guarded
def list_studies(db: Db = None) -> None:
    """List studies."""
    for s in _ss(db).list_studies():
        c = s["config"]
        console.print(
            f"{s['id']}  {s['name']}  {c['candidate']} vs {c['reference']}  run={s['source_run_id'] or '-'}",
            highlight=False,
        )


@ab.command("serve")
@guarded
def serve(
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int, typer.Option(help="server processes (each with its own store pool)", min=1)] = 1,
    db: Db = None,
) -> None:
    """Run the rating app."""
    import os

    import uvicorn

    from tunegate.preference import create_app

    ss = _ss(db)
    err_console.print(f"rating app on http://{host}:{port}/ (store {ss.store.url})", highlight=False)
    opts: dict[str, Any] = {"host": host, "port": port, "log_level": "warning", "server_header": False}
    if workers == 1:
        app = create_app(ss)
        _freeze_heap()
        uvicorn.run(app, access_log=False, **opts)
        return
    ss.store.close()
    os.environ["TUNEGATE_AB_SERVE_DB"] = db or ""
    uvicorn.run(f"{__name__}:app_from_env", factory=True, workers=workers, access_log=False, **opts)


def app_from_env() -> Any:
    """The app factory of ``ab serve --workers N`` (each worker process opens its own store)."""
    import os

    from tunegate.preference import create_app

    app = create_app(_ss(os.environ.get("TUNEGATE_AB_SERVE_DB") or None))
    _freeze_heap()
    return app


def _freeze_heap() -> None:
    """Keep the start-up heap (the imports: ~150k objects) out of the collector's full passes: each
    one otherwise stops the server for ~100 ms (measured), which is the rating app's p99 at 500 votes/s."""
    import gc

    gc.collect()
    gc.freeze()


@ab.command("judge")
@guarded
def judge(
    study: str,
    judge_model: Annotated[str, typer.Option("--judge", help="model spec of the judge")],
    db: Db = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Ask an LLM judge about every item, in both orders (a disagreement is a tie)."""
    from tunegate.preference._judge import run_judge

    n = run_judge(_ss(db), study, judge_model, progress=progress_for(quiet))
    console.print(f"judged {n} items", highlight=False)


@ab.command("report")
@guarded
def report(
    study: str,
    fmt: Annotated[str, typer.Option("--format", help="terminal, markdown, html or json")] = "terminal",
    out: Annotated[Path | None, typer.Option(help="write to this file instead of printing")] = None,
    db: Db = None,
) -> None:
    """The study's statistics: win rate, stopping, agreement, bias, tags, judge."""
    from tunegate.preference import study_results
    from tunegate.preference._report import render_report

    if fmt not in ("terminal", "markdown", "html", "json"):
        raise ConfigError(f"--format {fmt!r}: use terminal, markdown, html or json")
    text = render_report(study_results(_ss(db), study), fmt)
    if out:
        out.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {out}", highlight=False)
    else:
        typer.echo(text, nl=False)


@ab.command("export")
@guarded
def export(
    study: str,
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl")] = "csv",
    out: Annotated[Path | None, typer.Option(help="write to this file instead of printing")] = None,
    history: Annotated[bool, typer.Option(help="every submitted vote, revisions included")] = False,
    db: Db = None,
) -> None:
    """Every counted vote (or the whole history) as CSV or JSONL."""
    ss = _ss(db)
    sid = ss.get_study(study)["id"]
    cols = [
        "rater",
        "item_id",
        "choice",
        "winner",
        "left_model",
        "reason",
        "revision",
        "created_at",
        "updated_at",
        "model_x",
        "model_y",
        "tags",
    ]
    if history:
        rows = ss.history(sid)
        cols = ["id", "rater_id", "item_id", "choice", "winner", "reason", "revision", "created_at"]
    else:
        rows = ss.votes(sid)
    if fmt not in ("csv", "jsonl"):
        raise ConfigError(f"--format {fmt!r}: use csv or jsonl")
    buf = io.StringIO()
    if fmt == "jsonl":
        for r in rows:
            buf.write(json.dumps({c: r[c] for c in cols}, default=str) + "\n")
    else:
        w = csv.writer(buf)
        w.writerow(cols)
        for r in rows:
            w.writerow([",".join(r[c]) if isinstance(r[c], list) else r[c] for c in cols])
    if out:
        out.write_text(buf.getvalue(), encoding="utf-8")
        err_console.print(f"wrote {len(rows)} votes to {out}", highlight=False)
    else:
        typer.echo(buf.getvalue(), nl=False)
