"""Safety (the scorecard's third dimension): attack success and over-refusal, judged with measured error.

Data: JailbreakBench JBB-Behaviors (MIT), HarmBench text behaviours (MIT), AdvBench (MIT), XSTest
(CC-BY-4.0), JailbreakBench artifacts (MIT); see ``tunegate/data/safety/SOURCE.md`` and docs/safety.md.

One item bundles one harmful behaviour (all its attacked prompts) with one safe prompt (by default the
behaviour's JBB benign twin), so the runner's paired bootstrap over items *is* a bootstrap clustered by
behaviour. ``attack_success_rate`` of an item is the share of its attacks that succeeded (the harm
judge said harmful, or failed); ``refusal_rate`` is whether the plain request was refused;
``over_refusal_rate`` whether the safe prompt was refused. Lower ASR / over-refusal is better, so gate
them with ``max_rise``. Options: ``behaviors, categories, attacks, recorded, attack_file, safe, judge,
harm_judge, max_new_tokens``. Two-round attacks (``multi_turn_escalation``) need the engine's second
round and run only in ``tunegate safety`` for now; this task skips them.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from tunegate.models import Request, Result
from tunegate.safety._probes import OPTION_NAMES
from tunegate.tasks._base import Doc, ItemScore, MetricInfo, Task
from tunegate.tasks._registry import TASKS

__all__ = ["SafetyTask"]


@TASKS.register("safety")
class SafetyTask(Task):
    """Attacked harmful behaviours and safe prompts, judged by the learned (or a model) judge."""

    name = "safety"
    dimension = "safety"
    metrics = (
        MetricInfo("attack_success_rate", binary=False, higher_is_better=False),
        MetricInfo("refusal_rate", binary=True),
        MetricInfo("over_refusal_rate", binary=True, higher_is_better=False),
    )
    primary = "attack_success_rate"
    extra_options = OPTION_NAMES

    _store: Any = None

    def attach(self, store: Any) -> None:
        self._store = store

    @cached_property
    def spec(self) -> Any:
        from tunegate.safety._probes import ProbeSpec

        spec = ProbeSpec.from_options(dict(self.options.extra), limit=self.options.limit)
        attacks = tuple(a for a in spec.attacks if a != "multi_turn_escalation")
        return ProbeSpec(**{**spec.__dict__, "attacks": attacks})

    @cached_property
    def _pairs(self) -> list[tuple[list[Any], Any]]:
        from tunegate.safety._probes import harmful_probes, safe_probe, select_behaviors, select_safe

        attacks = self.spec.resolve_attacks()
        behaviors = select_behaviors(self.spec)
        safe = select_safe(self.spec)
        by_twin = {r.get("twin"): r for r in safe}
        out = []
        rest = [r for r in safe if r.get("twin") not in {b["id"] for b in behaviors}]
        for b in behaviors:
            s = by_twin.get(b["id"]) or (rest.pop(0) if rest else None)
            if s is None:
                break
            out.append((harmful_probes(b, attacks, self.spec.recorded), safe_probe(s)))
        return out

    def all_docs(self) -> list[Doc]:
        return [Doc(id=h[0].cluster, data={"index": i}) for i, (h, _) in enumerate(self._pairs)]

    def docs(self) -> list[Doc]:
        return self.all_docs()  # the limit already picked the behaviours (round-robin over categories)

    def requests(self, doc: Doc) -> list[Request]:
        from tunegate.safety._run import first_round_requests

        harmful, safe = self._pairs[doc.data["index"]]
        return list(first_round_requests([*harmful, safe], int(self.options.extra.get("max_new_tokens", 48))))

    @cached_property
    def _judges(self) -> tuple[Any, Any]:
        from tunegate.safety._judges import make_judge

        o = self.options.extra
        return make_judge(str(o.get("judge", "learned")), "refusal", self._store), make_judge(
            str(o.get("harm_judge", "learned")), "harm", self._store
        )

    def score(self, doc: Doc, results: Sequence[Result]) -> ItemScore:
        from tunegate.safety._run import _text, judge_answers

        harmful, safe = self._pairs[doc.data["index"]]
        probes = [*harmful, safe]
        refusal, harm = self._judges
        judged = judge_answers(probes, [(_text(r), None) for r in results], refusal, harm)
        attacked = [j for j in judged if j.probe.kind == "harmful"]
        direct = [j for j in attacked if j.probe.attack == "direct"]
        values = {
            "attack_success_rate": sum(j.success for j in attacked) / len(attacked),
            "refusal_rate": direct[0].refused if direct else float(attacked[0].refused),
            "over_refusal_rate": judged[-1].refused,
        }
        out = "; ".join(f"{j.probe.attack}: {'harmful' if j.success else 'safe'}" for j in attacked)
        return ItemScore(
            values=values,
            output=f"[{doc.id}] {out}; safe prompt {'refused' if judged[-1].refused else 'answered'}",
        )

    def describe(self) -> dict[str, Any]:
        from tunegate.safety._judges import make_judge

        d = super().describe()
        harm = make_judge(str(self.options.extra.get("harm_judge", "learned")), "harm", self._store)
        cal = harm.calibration()
        d["harm_judge_error"] = (
            None
            if cal is None
            else {
                "accuracy": cal.accuracy,
                "sensitivity": cal.sensitivity,
                "specificity": cal.specificity,
                "source": cal.source,
            }
        )
        return d
