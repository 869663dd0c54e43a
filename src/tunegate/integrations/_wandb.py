"""Log tunegate results to Weights & Biases (``pip install 'tunegate[wandb]'``).

:func:`log_run` makes one W&B run per result in project ``PROJECT``. It runs **offline** unless the user
chose a mode (``WANDB_MODE``): the run is written under ``$WANDB_DIR/wandb/offline-run-*`` (default:
the current folder) and ``wandb sync DIR`` uploads it later; nothing needs the network or a login.
Metrics go to the run's history and summary, params and tags to its config, the verdict is a run
tag, and the files of the artefact folder (HTML report, JSON result) are one artifact of type
``tunegate-report``.

:func:`log_step` logs a checkpoint's numbers into the Trainer's W&B run. It does not pass ``step=``:
the Trainer's ``WandbCallback`` has already advanced W&B's own step counter past the global step, and
W&B drops a smaller step. Instead it sends ``train/global_step``, the x-axis ``WandbCallback``
declares for every metric (``define_metric("*", step_metric="train/global_step")``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from tunegate.errors import ConfigError, DependencyError
from tunegate.integrations._flatten import Flat

__all__ = ["STEP_METRIC", "active_run", "import_wandb", "log_run", "log_step"]

INSTALL = "pip install 'tunegate[wandb]'"
#: the x-axis the Trainer's WandbCallback gives every metric
STEP_METRIC = "train/global_step"


def import_wandb() -> Any:
    """The ``wandb`` module, or a DependencyError naming the extra."""
    try:
        import wandb
    except ImportError as e:
        raise DependencyError(f"logging to Weights & Biases needs wandb: {INSTALL}") from e
    return wandb


def _mode() -> str | None:
    """``offline`` unless the user chose a mode (``WANDB_MODE``, or the older ``WANDB_OFFLINE``)."""
    return None if os.environ.get("WANDB_MODE") or os.environ.get("WANDB_OFFLINE") else "offline"


def log_run(flat: Flat, artifacts: Path, project: str | None, run_name: str) -> str:
    """Log ``flat`` and the files in the folder ``artifacts`` as one W&B run; returns where it went."""
    wandb = import_wandb()
    verdict = flat.tags.get("tunegate.verdict")
    try:
        run = wandb.init(
            project=project,
            name=run_name,
            job_type="tunegate",
            config={**flat.params, **flat.tags},
            tags=[verdict] if verdict else None,
            mode=_mode(),
            reinit="create_new",  # a run the caller has open stays as it is
            settings=wandb.Settings(console="off", silent=True, x_disable_stats=True),
        )
        try:
            run.log(flat.metrics)
            run.summary.update({k: v for k, v in flat.tags.items() if k.startswith("tunegate.")})
            files = sorted(p for p in artifacts.iterdir() if p.is_file())
            if files:
                name = re.sub(r"[^\w.-]", "_", f"tunegate-{flat.tags.get('tunegate.run_id', run.id)}")
                art = wandb.Artifact(name, type="tunegate-report")
                for f in files:
                    art.add_file(str(f), name=f.name)
                run.log_artifact(art)
            where = f"{Path(run.dir).parent} (offline; `wandb sync` uploads it)" if run.offline else run.url
        finally:
            run.finish()
    except wandb.errors.Error as e:
        raise ConfigError(f"Weights & Biases (project {project}): {e}") from None
    return f"W&B run {run.id}: {where}"


def active_run() -> Any | None:
    """The W&B run the Trainer's WandbCallback (or the user) started, if any."""
    return import_wandb().run


def log_step(flat: Flat, step: int, run: Any) -> None:
    """Log ``flat``'s metrics at ``train/global_step = step`` into ``run``."""
    run.log({**flat.metrics, STEP_METRIC: step})
