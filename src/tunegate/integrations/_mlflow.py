"""Log tunegate results to MLflow (``pip install 'tunegate[mlflow]'``: ``mlflow-skinny`` is enough).

:func:`log_run` makes one MLflow run per result in experiment ``$MLFLOW_EXPERIMENT_NAME`` (default
``tunegate``), or logs into the run ``$MLFLOW_RUN_ID`` names and leaves it open. ``uri=None`` (the CLI's
``--mlflow default``) lets MLflow choose: ``$MLFLOW_TRACKING_URI``, else its own default, which for
MLflow 3.x is ``sqlite:///mlflow.db`` in the current folder (artefacts under ``./mlruns``). A ``file:``
URI or plain folder is MLflow's file store, which MLflow 3 keeps in maintenance mode and refuses
unless ``MLFLOW_ALLOW_FILE_STORE=true``; naming it is taken as that opt-in (for the logging only).

:func:`log_step` logs a checkpoint's numbers with ``step=`` into the Trainer's MLflow run.

Only :class:`mlflow.tracking.MlflowClient` is used, never the fluent API, so a run a caller has open
(``mlflow.start_run()``) is neither changed nor ended.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tunegate.errors import ConfigError, DependencyError
from tunegate.integrations._flatten import Flat

__all__ = ["EXPERIMENT", "active_run", "import_mlflow", "log_run", "log_step"]

EXPERIMENT = "tunegate"
INSTALL = "pip install 'tunegate[mlflow]'"
# MLflow's limits per log_batch call
_BATCH_METRICS, _BATCH_PARAMS = 1000, 100


def import_mlflow() -> Any:
    """The ``mlflow`` module, or a DependencyError naming the extra."""
    try:
        import mlflow
    except ImportError as e:
        raise DependencyError(f"logging to MLflow needs MLflow: {INSTALL} (the mlflow-skinny package)") from e
    return mlflow


def _is_file_store(uri: str) -> bool:
    scheme = urlparse(uri).scheme
    return scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt")  # C:\... on Windows


@contextmanager
def _file_store_allowed(uri: str) -> Iterator[None]:
    """While logging: allow MLflow's file store when ``uri`` names one and the user set no choice."""
    if not _is_file_store(uri) or "MLFLOW_ALLOW_FILE_STORE" in os.environ:
        yield
        return
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        yield
    finally:
        os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)


def _client(uri: str | None) -> tuple[Any, str]:
    mlflow = import_mlflow()
    from mlflow.tracking import MlflowClient

    resolved = uri or mlflow.get_tracking_uri()
    return MlflowClient(tracking_uri=resolved), resolved


def _batches(client: Any, run_id: str, flat: Flat, step: int = 0) -> None:
    from mlflow.entities import Metric, Param, RunTag

    ts = int(time.time() * 1000)
    metrics = [Metric(k, v, ts, step) for k, v in flat.metrics.items()]
    params = [Param(k, v) for k, v in flat.params.items()]
    tags = [RunTag(k, v) for k, v in flat.tags.items()]
    for i in range(0, len(metrics), _BATCH_METRICS):
        client.log_batch(run_id, metrics=metrics[i : i + _BATCH_METRICS])
    for i in range(0, len(params), _BATCH_PARAMS):
        client.log_batch(run_id, params=params[i : i + _BATCH_PARAMS])
    for i in range(0, len(tags), _BATCH_PARAMS):
        client.log_batch(run_id, tags=tags[i : i + _BATCH_PARAMS])


def log_run(flat: Flat, artifacts: Path, uri: str | None, run_name: str) -> str:
    """Log ``flat`` and every file in the folder ``artifacts`` (under ``tunegate/``) as one MLflow run.

    Returns where it went (``MLflow run <id> in <uri>``). MLflow's own errors (an unreachable server,
    a bad URI) become a ConfigError: exit 2, one line.
    """
    mlflow = import_mlflow()
    from mlflow.exceptions import MlflowException

    target = uri or mlflow.get_tracking_uri()
    try:
        with _file_store_allowed(target):
            client, resolved = _client(target)
            attach = os.environ.get("MLFLOW_RUN_ID")
            if attach:
                run_id = attach
            else:
                name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or EXPERIMENT
                exp = client.get_experiment_by_name(name)
                exp_id = exp.experiment_id if exp is not None else client.create_experiment(name)
                run_id = client.create_run(exp_id, run_name=run_name).info.run_id
            _batches(client, run_id, flat)
            client.log_artifacts(run_id, str(artifacts), artifact_path="tunegate")
            if not attach:
                client.set_terminated(run_id, "FINISHED")
    except MlflowException as e:
        raise ConfigError(f"MLflow ({target}): {e.message}") from None
    except OSError as e:
        raise ConfigError(f"MLflow ({target}): {e}") from None
    return f"MLflow run {run_id} in {resolved}"


def active_run() -> tuple[str, str] | None:
    """(tracking URI, run id) of the fluent API's active run (the Trainer's MLflowCallback opens one)."""
    mlflow = import_mlflow()
    run = mlflow.active_run()
    return None if run is None else (mlflow.get_tracking_uri(), run.info.run_id)


def log_step(flat: Flat, step: int, run: tuple[str, str]) -> None:
    """Log ``flat``'s metrics (and tags) at ``step`` into ``run`` (also after the run has ended)."""
    uri, run_id = run
    client, _ = _client(uri)
    _batches(client, run_id, Flat(metrics=flat.metrics, tags=flat.tags), step=step)
