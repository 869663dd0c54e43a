"""Where results go besides the store: experiment trackers (``--mlflow URI``, ``--wandb PROJECT``).

:data:`TRACKERS` maps a tracker's name (as ``TrainingArguments(report_to=...)`` spells it) to the
module that logs to it; each module has ``log_run`` (one result, one tracker run), ``active_run`` and
``log_step`` (a checkpoint's numbers into the Trainer's run). Modules and the tracker packages are
imported only when a tracker is asked for: ``tunegate --help`` imports neither mlflow nor wandb.
"""

from __future__ import annotations

import importlib
import logging
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunegate.errors import DependencyError
from tunegate.integrations._flatten import Flat, flatten_comparison, flatten_regression

if TYPE_CHECKING:
    from tunegate.regression._record import RegressReport
    from tunegate.runner import ComparisonResult
    from tunegate.store import Store

__all__ = ["DEFAULT", "TRACKERS", "checkpoint_runs", "log_checkpoint", "trackers"]

log = logging.getLogger(__name__)

TRACKERS: dict[str, str] = {
    "mlflow": "tunegate.integrations._mlflow",
    "wandb": "tunegate.integrations._wandb",
}
#: ``--mlflow default``: MLflow chooses the store ($MLFLOW_TRACKING_URI, else its own default)
DEFAULT = "default"

LogResult = Callable[..., list[str]]


def _module(name: str) -> Any:
    return importlib.import_module(TRACKERS[name])


def trackers(*, mlflow: str | None = None, wandb: str | None = None) -> LogResult:
    """Check the requested trackers now (a missing package fails before any model runs) and return
    ``log(result, store=None, html=None, exit_code=None)``: logs a ComparisonResult (or a RegressReport,
    with the exit code ``tunegate regress`` gives it) to each, with the JSON result and, for a
    comparison, the HTML report (``html``, else one written to a temporary folder) as artefacts, and
    returns one line per tracker saying where it went."""
    targets: dict[str, str | None] = {}
    if mlflow is not None:
        targets["mlflow"] = None if mlflow.strip() in ("", DEFAULT) else mlflow
    if wandb is not None:
        targets["wandb"] = wandb
    for name in targets:
        getattr(_module(name), f"import_{name}")()

    def log(
        result: ComparisonResult | RegressReport,
        store: Store | None = None,
        html: Path | None = None,
        exit_code: int | None = None,
    ) -> list[str]:
        if not targets:
            return []
        from tunegate.regression._record import RegressReport

        if isinstance(result, RegressReport):
            flat = flatten_regression(result, exit_code=exit_code)
        else:
            flat = flatten_comparison(result)
        name = f"{result.suite}-{result.run_id}" if result.run_id else result.suite
        with tempfile.TemporaryDirectory(prefix="tunegate-track-") as tmp:
            folder = Path(tmp)
            _artefacts(result, folder, store, html)
            return [_module(t).log_run(flat, folder, target, name) for t, target in targets.items()]

    return log


def _artefacts(
    result: ComparisonResult | RegressReport, folder: Path, store: Store | None, html: Path | None
) -> None:
    from tunegate.regression._record import RegressReport
    from tunegate.report import write_html, write_json

    write_json(result, folder / "result.json")
    if isinstance(result, RegressReport):
        return
    if html is not None and html.is_file():
        shutil.copyfile(html, folder / "report.html")
    else:
        from tunegate.report import trend_history

        write_html(result, folder / "report.html", history=trend_history(store, result) if store else ())


def checkpoint_runs(report_to: Sequence[str] | str | None) -> dict[str, Any]:
    """The active run of each tracker in ``report_to`` that has one (the Trainer's callbacks open them)."""
    names = [report_to] if isinstance(report_to, str) else list(report_to or [])
    runs = {}
    for name in TRACKERS:
        if name in names:
            try:
                run = _module(name).active_run()
            except DependencyError as e:  # the Trainer's own callback will say so too; training goes on
                log.warning("tunegate: not logging checkpoints to %s: %s", name, e)
                continue
            if run is not None:
                runs[name] = run
    return runs


def log_checkpoint(runs: dict[str, Any], flat: Flat, step: int) -> None:
    """Log a checkpoint's metrics at ``step`` into each run; a tracker's failure is a warning, so it
    never stops training."""
    for name, run in runs.items():
        try:
            _module(name).log_step(flat, step, run)
        except Exception as e:  # a tracker outage must not end a training run
            log.warning("tunegate: could not log step %d to %s: %s", step, name, e)
