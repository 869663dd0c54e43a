"""The automatic preference estimate of a compare run: a study made from the run's own answers, judged
pairwise by an LLM (both orders), shown in the scorecard's preference row as ``judge win rate`` and
never gated: it stands in for human votes until raters vote in the same study (``tunegate ab``).

Asked for by a suite's ``preference:`` key::

    preference: {judge: "builtin:smollm2-135m-instruct", tasks: [triviaqa], limit: 12}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tunegate.preference._attach import attach_preference
from tunegate.preference._judge import run_judge
from tunegate.preference._sources import items_from_run
from tunegate.preference._study import StudySettings, StudyStore
from tunegate.runner import ComparisonResult

__all__ = ["AutoPreference", "judge_run"]


@dataclass(frozen=True)
class AutoPreference:
    """What :func:`judge_run` did: the study it made and the result with the preference row filled."""

    study_id: str
    n_items: int
    result: ComparisonResult
    summary: dict[str, Any] | None


def judge_run(
    store: Any,
    result: ComparisonResult,
    *,
    judge: str,
    tasks: tuple[str, ...] = (),
    limit: int = 20,
    progress: Any = None,
) -> AutoPreference:
    """Make a study from ``result``'s stored run (the first ``limit`` items of ``tasks``, default every
    generation task), judge it with ``judge`` through the engine, and attach it without gates."""
    ss = StudyStore(store)
    run, items = items_from_run(store, result.run_id)
    if tasks:
        items = [it for it in items if it.tags and it.tags[0] in tasks]
    items = items[:limit]
    if not items:
        from tunegate.errors import ConfigError

        raise ConfigError(f"preference: no generation items of tasks {list(tasks)} in run {run.id}")
    settings = StudySettings(
        name=f"{result.suite}: {result.tuned.get('spec', 'tuned')}",
        models={"base": run.spec("base") or "", "tuned": run.spec("tuned") or ""},
        reference="base",
        candidate="tuned",
        source_run_id=run.id,
    )
    sid, _owner = ss.create_study(settings, items, seed=0)
    run_judge(ss, sid, judge, progress=progress)
    attached, summary = attach_preference(ss, result, gates=())
    return AutoPreference(sid, len(items), attached, summary)
