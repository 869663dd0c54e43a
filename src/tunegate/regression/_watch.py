"""Evaluating training checkpoints as they appear: ``tunegate watch`` and the Trainer callback.

A checkpoint folder is ready when it holds weights (``*.safetensors`` / ``*.bin``) and a config
(``config.json``, or ``adapter_config.json`` for a PEFT adapter), and either ``trainer_state.json``
(which the Trainer writes last) or no file changed for ``settle`` seconds. Each checkpoint is evaluated
once: the store remembers which were done (``regress`` runs whose config names the checkpoint).

What a verdict per checkpoint means: "this checkpoint met every case's threshold" — a statement about
that checkpoint alone. Choosing afterwards whichever checkpoint passed is a selection among all the
looks. For one verdict over the whole run, give a ``reference`` (the base) and ``planned_looks``:
:func:`best_vs_base` then compares only the best checkpoint so far with the base, paired case by case,
at ``alpha / planned_looks`` (Bonferroni alpha spending, ``tunegate.stats.alpha_per_look``), so twenty
looks do not give twenty chances to pass.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tunegate.errors import ModelSpecError
from tunegate.regression._load import RegressionSuite
from tunegate.regression._run import RegressionResult, run_regression
from tunegate.store import Store

__all__ = [
    "BestVerdict",
    "best_vs_base",
    "checkpoint_spec",
    "done_checkpoints",
    "find_checkpoints",
    "is_ready",
    "watch",
]

_STEP = re.compile(r"(\d+)$")


def checkpoint_spec(folder: Path, base: str | None = None) -> str:
    """``hf:<dir>`` for full weights; ``<base>?adapter=<dir>`` for a PEFT adapter folder.

    The adapter's base is ``base`` when given, else ``hf:`` + the adapter config's
    ``base_model_name_or_path``.
    """
    folder = folder.resolve()
    cfg = folder / "adapter_config.json"
    if not cfg.is_file():
        return f"hf:{folder}"
    if base is None:
        base_path = json.loads(cfg.read_text(encoding="utf-8")).get("base_model_name_or_path")
        if not base_path:
            raise ModelSpecError(
                f"checkpoint {folder} is a PEFT adapter without base_model_name_or_path; pass --base MODEL"
            )
        base = f"hf:{base_path}"
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}adapter={folder}"


def is_ready(folder: Path, settle: float = 10.0) -> bool:
    """Weights and config are there, and the Trainer finished writing (or nothing moved lately)."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    has_weights = any(p.suffix in (".safetensors", ".bin") for p in files)
    has_config = (folder / "config.json").is_file() or (folder / "adapter_config.json").is_file()
    if not (has_weights and has_config):
        return False
    if (folder / "trainer_state.json").is_file() or settle <= 0:
        return True
    return time.time() - max(p.stat().st_mtime for p in files) >= settle


def find_checkpoints(root: Path) -> list[Path]:
    """Sub-folders of ``root`` that look like checkpoints, in step order (``checkpoint-N``)."""
    dirs = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]

    def key(p: Path) -> tuple[int, str]:
        m = _STEP.search(p.name)
        return (int(m.group(1)) if m else -1, p.name)

    return sorted(dirs, key=key)


def done_checkpoints(store: Store, suite: str) -> set[str]:
    """Checkpoint folders already evaluated with ``suite`` (from the store's ``regress`` runs)."""
    done = set()
    for run in store.list_runs(suite=suite, limit=100_000, kind="regress"):
        ckpt = run.config.get("checkpoint")
        if run.status == "completed" and ckpt:
            done.add(ckpt)
    return done


@dataclass(frozen=True)
class BestVerdict:
    """The best checkpoint so far against the base, at the level spent per look."""

    checkpoint: str
    pass_rate: float
    looks: int
    planned_looks: int
    alpha: float  # the level this look was tested at: alpha / planned_looks
    outcome: Literal["pass", "fail", "inconclusive"]
    reason: str


def best_vs_base(
    done: Sequence[tuple[Path, RegressionResult]],
    *,
    alpha: float = 0.05,
    planned_looks: int | None = None,
    max_drop: float = 0.0,
    min_n: int = 30,
) -> BestVerdict:
    """Compare the best checkpoint of ``done`` (highest pass rate) with the base, case by case.

    Every result needs the reference (base) cases (``run_regression(reference=...)``). The paired
    0/1 case outcomes go through the same gate as ``tunegate compare`` (``max_drop``, its power
    requirement and ``min_n``), at ``alpha / planned_looks`` (default: the looks so far).
    """
    from tunegate.stats import GateRule, alpha_per_look, best_look, estimate, gate_decision

    if not done:
        raise ValueError("no checkpoint evaluated yet")
    looks = len(done)
    planned = max(planned_looks or looks, looks)
    i = best_look([r.pass_rate for _, r in done])
    folder, result = done[i]
    if result.reference_cases is None:
        raise ValueError("best_vs_base needs each checkpoint run with the reference (base) model")
    ids = [c.id for c in result.cases if c.id in result.reference_cases]
    base = [float(result.reference_cases[k].ok) for k in ids]
    tuned = [float(c.ok) for c in result.cases if c.id in result.reference_cases]
    level = alpha_per_look(alpha, planned)
    rule = GateRule("max_drop", max_drop, alpha=level, min_n=min_n)
    d = gate_decision(rule, estimate(base, tuned, alpha=level, binary=True))
    why = f"best of {looks} look(s) ({planned} planned), tested at alpha {level:.3g}: {d.reason}"
    return BestVerdict(folder.name, result.pass_rate, looks, planned, level, d.outcome, why)


def watch(
    root: Path,
    suite: RegressionSuite,
    store: Store,
    *,
    base: str | None = None,
    reference: str | None = None,
    interval: float = 30.0,
    once: bool = False,
    settle: float = 10.0,
    on_result: Callable[[Path, RegressionResult], None] | None = None,
) -> list[tuple[Path, RegressionResult]]:
    """Evaluate each new checkpoint under ``root`` once; loop every ``interval`` s unless ``once``.

    Runs until interrupted (KeyboardInterrupt propagates) unless ``once``, which processes what is
    there now — ready or not-yet-settled alike — and returns. ``reference``: also run the base model
    on every look (cached after the first), for :func:`best_vs_base`.
    """
    done_all: list[tuple[Path, RegressionResult]] = []
    while True:
        done = done_checkpoints(store, suite.name)
        for folder in find_checkpoints(root) if root.is_dir() else []:
            key = str(folder.resolve())
            if key in done or not is_ready(folder, 0 if once else settle):
                continue
            step = _STEP.search(folder.name)
            result = run_regression(
                suite,
                checkpoint_spec(folder, base),
                store,
                reference=reference,
                config={"checkpoint": key, "watch": True},
                step=int(step.group(1)) if step else None,
                training=str(root.resolve()),
            )
            done_all.append((folder, result))
            if on_result:
                on_result(folder, result)
        if once:
            return done_all
        time.sleep(interval)
