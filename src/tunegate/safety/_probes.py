"""Probes: the harmful behaviours, attacked prompts and safe prompts a safety run asks a model.

    behaviours (data/safety/behaviors.jsonl) x attacks (ATTACKS, recorded JBB artifacts) -> harmful probes
    XSTest safe prompts, JBB benign behaviours                                            -> safe probes

A :class:`ProbeSpec` (the options of ``task: safety`` and ``tunegate safety``) selects them; behaviours
are taken round-robin over the taxonomy's categories (file order within a category), so a small limit
still covers every category. Every probe has a stable id ``<behaviour or prompt id>/<attack>``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from tunegate.errors import ConfigError
from tunegate.registry import did_you_mean
from tunegate.safety._attacks import ATTACKS, Attack, Messages, load_attack_templates
from tunegate.safety._taxonomy import CATEGORIES, check_category

__all__ = [
    "OPTION_NAMES",
    "RECORDED_METHODS",
    "Probe",
    "ProbeSpec",
    "build_probes",
    "load_behaviors",
    "load_safe_prompts",
]

RECORDED_METHODS = ("PAIR", "GCG", "JBC")
#: the options ``task: safety`` accepts (``ProbeSpec.from_options`` and the task's ``extra_options``)
OPTION_NAMES = (
    "behaviors",
    "categories",
    "attacks",
    "recorded",
    "attack_file",
    "safe",
    "safe_limit",
    "judge",
    "harm_judge",
    "max_new_tokens",
)
BEHAVIOR_SOURCES = ("jailbreakbench", "harmbench", "advbench")
SAFE_SOURCES = ("jbb-benign", "xstest")
DEFAULT_ATTACKS = (
    "direct",
    "prefix_injection",
    "refusal_suppression",
    "roleplay_persona",
    "fictional_framing",
    "developer_mode",
    "base64",
    "rot13",
    "payload_splitting",
    "few_shot_compliance",
    "caesar_cipher",
    "multi_turn_escalation",
)


@dataclass(frozen=True)
class Probe:
    """One prompt to ask: ``kind`` harmful (an attacked behaviour) or safe (should be answered)."""

    id: str
    cluster: str
    kind: Literal["harmful", "safe"]
    attack: str
    family: str
    category: str
    behavior: str
    messages: Messages
    two_round: bool = False

    @property
    def prompt_text(self) -> str:
        return "\n".join(f"{m.role}: {m.content}" for m in self.messages)


@dataclass(frozen=True)
class ProbeSpec:
    """Which probes: behaviour sources, categories, attacks, safe-prompt sources and sizes."""

    behaviors: tuple[str, ...] = ("jailbreakbench",)
    categories: tuple[str, ...] = ()
    attacks: tuple[str, ...] = DEFAULT_ATTACKS
    recorded: tuple[str, ...] = ()
    attack_file: str | None = None
    safe: tuple[str, ...] = ("jbb-benign",)
    limit: int | None = None
    safe_limit: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_options(cls, options: dict[str, Any], *, limit: int | None = None) -> ProbeSpec:
        """From ``task: safety`` options (unknown keys and names are ConfigErrors)."""
        allowed = set(OPTION_NAMES)
        unknown = set(options) - allowed
        if unknown:
            raise ConfigError(
                f"safety: unknown option(s) {', '.join(sorted(unknown))}; "
                f"allowed: {', '.join(sorted(allowed))}"
            )

        def tup(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
            v = options.get(key)
            if v is None:
                return default
            if isinstance(v, str):
                return (v,)
            if not isinstance(v, list | tuple) or not all(isinstance(x, str) for x in v):
                raise ConfigError(f"safety: option {key!r} must be a name or a list of names")
            return tuple(v)

        spec = cls(
            behaviors=tup("behaviors", cls.behaviors),
            categories=tup("categories", ()),
            attacks=tup("attacks", DEFAULT_ATTACKS),
            recorded=tup("recorded", ()),
            attack_file=options.get("attack_file"),
            safe=tup("safe", cls.safe),
            limit=limit,
            safe_limit=options.get("safe_limit"),
        )
        spec.validate()
        return spec

    def validate(self) -> None:
        """Check every name now (unknown source, category, attack or placeholder: ConfigError)."""
        for b in self.behaviors:
            if b not in BEHAVIOR_SOURCES:
                raise ConfigError(
                    f"unknown behaviour source {b!r}.{did_you_mean(b, BEHAVIOR_SOURCES)}"
                    f" Known: {', '.join(BEHAVIOR_SOURCES)}"
                )
        for c in self.categories:
            check_category(c)
        for s in self.safe:
            if s not in SAFE_SOURCES:
                raise ConfigError(
                    f"unknown safe-prompt source {s!r}.{did_you_mean(s, SAFE_SOURCES)}"
                    f" Known: {', '.join(SAFE_SOURCES)}"
                )
        for m in self.recorded:
            if m not in RECORDED_METHODS:
                raise ConfigError(f"unknown recorded attack {m!r}; known: {', '.join(RECORDED_METHODS)}")
        self.resolve_attacks()

    def resolve_attacks(self) -> list[Attack]:
        user = {a.name: a for a in load_attack_templates(self.attack_file)} if self.attack_file else {}
        out = []
        for name in self.attacks:
            out.append(user[name] if name in user else ATTACKS.get(name))
        out += [a for n, a in user.items() if n not in self.attacks]
        return out


def _read_jsonl(name: str) -> list[dict[str, Any]]:
    from tunegate.tasks._data import package_data

    path = package_data("safety", name)
    opener: Any = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@cache
def load_behaviors() -> tuple[dict[str, Any], ...]:
    """Every shipped harmful behaviour (``id, source, behavior, category, ...``)."""
    return tuple(_read_jsonl("behaviors.jsonl"))


@cache
def _recorded() -> dict[tuple[str, str], str]:
    return {(r["behavior_id"], r["method"]): r["prompt"] for r in _read_jsonl("recorded_attacks.jsonl.gz")}


@cache
def load_safe_prompts(source: str) -> tuple[dict[str, Any], ...]:
    """Safe prompts of one source as ``{id, prompt, category}`` (XSTest: only its ``safe`` prompts)."""
    if source == "jbb-benign":
        return tuple(_read_jsonl("benign.jsonl"))
    rows = [r for r in _read_jsonl("xstest.jsonl") if r["label"] == "safe"]
    return tuple({"id": r["id"], "prompt": r["prompt"], "category": f"xstest:{r['type']}"} for r in rows)


def _round_robin(rows: Sequence[dict[str, Any]], key: str, order: Sequence[str]) -> list[dict[str, Any]]:
    buckets: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        buckets.setdefault(r[key], []).append(r)
    keys = [k for k in order if k in buckets] + sorted(k for k in buckets if k not in order)
    out: list[dict[str, Any]] = []
    while any(buckets[k] for k in keys):
        for k in keys:
            if buckets[k]:
                out.append(buckets[k].pop(0))
    return out


def select_behaviors(spec: ProbeSpec) -> list[dict[str, Any]]:
    rows = [b for b in load_behaviors() if b["source"] in spec.behaviors]
    if spec.categories:
        rows = [b for b in rows if b["category"] in spec.categories]
    rows = _round_robin(rows, "category", CATEGORIES)
    return rows[: spec.limit] if spec.limit else rows


def select_safe(spec: ProbeSpec, n_default: int | None = None) -> list[dict[str, Any]]:
    rows = [r for s in spec.safe for r in load_safe_prompts(s)]
    n = spec.safe_limit if spec.safe_limit is not None else n_default
    return rows[:n] if n else rows


def harmful_probes(
    behavior: dict[str, Any], attacks: Sequence[Attack], recorded: Sequence[str]
) -> list[Probe]:
    """The attacked probes of one behaviour (recorded attacks only where JBB recorded a prompt)."""
    bid, text, cat = behavior["id"], behavior["behavior"], behavior["category"]
    out = [
        Probe(f"{bid}/{a.name}", bid, "harmful", a.name, a.family, cat, text, a.first(text), a.two_round)
        for a in attacks
    ]
    from tunegate.models import ChatMessage

    for m in recorded:
        prompt = _recorded().get((bid, m))
        if prompt:
            out.append(
                Probe(
                    f"{bid}/recorded:{m}",
                    bid,
                    "harmful",
                    f"recorded:{m}",
                    "recorded",
                    cat,
                    text,
                    (ChatMessage("user", prompt),),
                )
            )
    return out


def safe_probe(row: dict[str, Any]) -> Probe:
    from tunegate.models import ChatMessage

    return Probe(
        f"{row['id']}/direct",
        row["id"],
        "safe",
        "direct",
        "direct",
        row["category"],
        row["prompt"],
        (ChatMessage("user", row["prompt"]),),
    )


def build_probes(spec: ProbeSpec) -> tuple[list[Probe], list[Probe]]:
    """(harmful probes, safe probes) of ``spec``; safe prompts default to as many as behaviours."""
    attacks = spec.resolve_attacks()
    behaviors = select_behaviors(spec)
    harmful = [p for b in behaviors for p in harmful_probes(b, attacks, spec.recorded)]
    safe = [safe_probe(r) for r in select_safe(spec, len(behaviors) if spec.limit else None)]
    return harmful, safe
