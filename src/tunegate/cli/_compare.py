"""``tunegate compare`` and ``tunegate run``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from tunegate.cli._app import app, console, err_console, guarded, progress_for, user_text

DEFAULT_SUITE = "demo"


RayWorkers = Annotated[
    int | None,
    typer.Option(help="replicate each model on N Ray actors (a local cluster unless --ray-address)", min=1),
]
RayAddress = Annotated[
    str | None, typer.Option(help="join this Ray cluster (ray://head:10001 or auto); default workers: 2")
]
MlflowUri = Annotated[
    str | None,
    typer.Option(
        "--mlflow",
        metavar="URI",
        help="also log the result to MLflow at URI (file:./mlruns, sqlite:///mlflow.db, http://...); "
        "'default': $MLFLOW_TRACKING_URI, else MLflow's own default (sqlite:///mlflow.db in this folder)",
    ),
]
WandbProject = Annotated[
    str | None,
    typer.Option(
        "--wandb",
        metavar="PROJECT",
        help="also log the result to this W&B project (offline unless WANDB_MODE)",
    ),
]


@app.command()
@guarded
def compare(
    base: Annotated[str, typer.Option(help="base model spec, e.g. builtin:gemma-3-270m")],
    tuned: Annotated[
        list[str],
        typer.Option(
            help="fine-tuned model spec, e.g. builtin:gemma-3-270m?adapter=DIR; repeat as LABEL=SPEC to "
            "compare several fine-tunes with the same base, side by side (base answers computed once)"
        ),
    ],
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
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
    ray_workers: RayWorkers = None,
    ray_address: RayAddress = None,
    alpha: Annotated[
        float | None,
        typer.Option(
            help="level of every gate that sets none (default: the suite's alpha, 0.05)", min=1e-6, max=0.5
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="seed of the bootstrap cross-check")] = 0,
    n_boot: Annotated[
        int, typer.Option(help="bootstrap resamples of the cross-check interval", min=100)
    ] = 2000,
    allow_vacuous: Annotated[
        bool,
        typer.Option(
            help="let a vacuous run (--limit, no gates, the same model twice: an A/A smoke test) exit 0 when "
            "its gates pass; without it such a run is INCONCLUSIVE, exit 3"
        ),
    ] = False,
    mlflow: MlflowUri = None,
    wandb: WandbProject = None,
    reference: Annotated[
        str | None,
        typer.Option(
            help="a second baseline, report only (overrides the suite's reference:): shots=K (base with a "
            "K-shot prompt), model=SPEC, shots=K,model=SPEC, or a model spec"
        ),
    ] = None,
) -> None:
    """Compare a fine-tuned model with its base, item by item, and gate on the result.

    Exit codes: 0 every gate passed, 1 a gate failed, 2 usage/config error, 3 inconclusive (too few
    items for the power the gates demand, or a vacuous run without --allow-vacuous), 130 interrupted.

    Several fine-tunes: repeat --tuned LABEL=SPEC; each gets its own comparison (and reports named
    FILE-LABEL.ext) and FILE.ext is the side-by-side index; the exit code is the worst verdict's.

    Example: tunegate compare --base builtin:gemma-3-270m
    --tuned 'builtin:gemma-3-270m?adapter=DIR' --suite demo --html report.html
    """
    from tunegate.integrations._tracking import trackers
    from tunegate.report import print_comparison, write_reports
    from tunegate.report._side_by_side import (
        Candidate,
        candidate_paths,
        worst_exit_code,
        write_side_by_side,
    )
    from tunegate.runner import CompareConfig, compare_models
    from tunegate.store import open_store
    from tunegate.suite import load_suite, parse_reference

    candidates = labelled_specs(tuned)
    track = trackers(mlflow=mlflow, wandb=wandb)  # a missing mlflow/wandb fails here, before any model runs
    base = _on_ray(base, ray_workers, ray_address)
    spec = load_suite(suite)
    ref = parse_reference(reference) if reference is not None else None
    store = open_store(db)
    done: list[Candidate] = []
    for label, tuned_spec in candidates:
        config = CompareConfig(
            suite=spec,
            base=base,
            tuned=_on_ray(tuned_spec, ray_workers, ray_address),
            limit=limit,
            batch_size=batch_size,
            n_boot=n_boot,
            seed=seed,
            alpha=alpha,
            allow_vacuous=allow_vacuous,
            reference=ref,
        )
        if len(candidates) > 1:
            console.rule(user_text(f"{label}: {tuned_spec}"))
        # the --limit warning is part of the result (printed once, with the report, and kept in every file)
        result = compare_models(config, store, progress=progress_for(quiet))
        if spec.preference is not None:
            result = _judge_preference(store, result, spec.preference, quiet)
        print_comparison(result, console)
        done.append(Candidate(label, result))
    if len(done) == 1:
        write_reports(done[0].result, store, json_out=json_out, html=html, markdown=markdown, junit=junit)
        for line in track(done[0].result, store, html):
            err_console.print(user_text(f"logged to {line}"), highlight=False, soft_wrap=True)
        raise typer.Exit(done[0].result.exit_code)
    write_side_by_side(done, store, json_out=json_out, html=html, markdown=markdown, junit=junit)
    for c in done:
        console.print(user_text(f"{c.label}: {c.result.verdict} (run {c.result.run_id})"), highlight=False)
        for line in track(c.result, store, candidate_paths(html, c.label)):
            err_console.print(user_text(f"{c.label}: logged to {line}"), highlight=False, soft_wrap=True)
    raise typer.Exit(worst_exit_code([c.result for c in done]))


def _judge_preference(store: Any, result: Any, pref: Any, quiet: bool) -> Any:
    """The suite's automatic preference estimate on this run (a study, judged; the row filled)."""
    from tunegate.preference._auto import judge_run

    auto = judge_run(
        store, result, judge=pref.judge, tasks=pref.tasks, limit=pref.limit, progress=progress_for(quiet)
    )
    err_console.print(
        user_text(
            f"preference: {auto.n_items} answer pairs judged automatically by {pref.judge} (study "
            f"{auto.study_id}; not gated). Ask humans: tunegate ab invite {auto.study_id} --rater NAME, "
            f"then tunegate ab serve; tunegate report {result.run_id} shows their votes."
        ),
        soft_wrap=True,
    )
    return auto.result


_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,39}$")


def labelled_specs(values: list[str]) -> list[tuple[str, str]]:
    """``[(label, spec)]`` of the --tuned values: ``LABEL=SPEC``, or a bare spec (label ``tuned``, or
    ``tuned1``, ``tuned2``... when there are several). Labels must be unique."""
    from tunegate.errors import ConfigError

    out: list[tuple[str, str]] = []
    for i, value in enumerate(values, start=1):
        head, sep, rest = value.partition("=")
        if sep and _LABEL.match(head) and rest:
            out.append((head, rest))
        else:
            out.append(("tuned" if len(values) == 1 else f"tuned{i}", value))
    labels = [label for label, _ in out]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ConfigError(f"--tuned labels must be unique: {', '.join(dup)} appears more than once")
    return out


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
    batch_size: Annotated[int | None, typer.Option(help="requests per backend call", min=1)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
    ray_workers: RayWorkers = None,
    ray_address: RayAddress = None,
) -> None:
    """Evaluate one model alone on a suite (no gates)."""
    from tunegate.report import print_run, write_json
    from tunegate.runner import run_model
    from tunegate.store import open_store
    from tunegate.suite import load_suite

    model = _on_ray(model, ray_workers, ray_address)
    spec = load_suite(suite)
    if limit is not None:
        err_console.print(
            f"[bold yellow]WARNING: --limit {limit}: numbers are NOT comparable with full runs.[/]"
        )
    result = run_model(
        spec, model, open_store(db), limit=limit, batch_size=batch_size, progress=progress_for(quiet)
    )
    print_run(result, console)
    if json_out:
        write_json(result, json_out, sort_keys=False)


def _on_ray(spec: str, workers: int | None, address: str | None) -> str:
    """``spec`` as a ``ray:`` spec when --ray-workers or --ray-address is given (same cache entries)."""
    if workers is None and address is None:
        return spec
    from tunegate.models._ray import ray_spec

    return ray_spec(spec, workers or 2, address)


def _is_regression_suite(suite: str) -> bool:
    """A regression suite is a YAML mapping with ``cases`` (a compare suite has ``tasks``)."""
    path = Path(suite)
    if not path.is_file():
        return False
    try:
        import yaml

        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception:  # unreadable: the compare-suite loader reports it properly
        return False
    return isinstance(raw, dict) and "cases" in raw and "tasks" not in raw


@app.command()
@guarded
def validate(suite: Annotated[str, typer.Argument(help="suite YAML file or built-in suite name")]) -> None:
    """Check a compare or regression suite without running it; list every problem, warn on likely
    unit mistakes (exit 2 when there is a problem, 0 otherwise).

    Example: tunegate validate examples/compare.yaml
    """
    from rich.text import Text

    from tunegate.suite import SuiteProblems, load_suite, suite_warnings

    if _is_regression_suite(suite):
        from tunegate.regression import load_regression_suite

        reg = load_regression_suite(suite)
        console.print(
            f"[green]ok[/]: regression suite {escape(repr(reg.name))}: {len(reg.spec.cases)} case(s), "
            f"{len(reg.cases)} after expanding vars",
            highlight=False,
        )
        return
    try:
        spec = load_suite(suite)
    except SuiteProblems as e:
        err_console.print(f"[bold red]error:[/] {len(e.problems)} problem(s):", highlight=False)
        for p in e.problems:
            err_console.print(f"  - {escape(p)}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    for w in suite_warnings(spec, suite):
        err_console.print(f"[bold yellow]warning:[/] {escape(w)}", highlight=False, soft_wrap=True)
    gates = sum(len(t.gates) for t in spec.tasks)
    console.print(
        Text.assemble(
            ("ok", "green"), user_text(f": suite {spec.name!r}: {len(spec.tasks)} task(s), {gates} gate(s)")
        ),
        highlight=False,
    )
