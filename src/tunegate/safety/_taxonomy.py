"""The one harm taxonomy every safety number is grouped by.

The categories are JailbreakBench's ten (Chao et al., 2024; drawn from OpenAI's usage policies) plus
``Illegal activity`` for HarmBench's ``illegal`` behaviours (drugs, weapons, trafficking, theft), which
none of the ten covers. HarmBench's semantic categories map onto it as in :data:`HARMBENCH_TO_CATEGORY`;
AdvBench has no categories, so each shipped AdvBench goal takes the category of its nearest categorised
behaviour (``scripts/build_safety_data.py``).
"""

from __future__ import annotations

from tunegate.errors import ConfigError
from tunegate.registry import did_you_mean

__all__ = ["CATEGORIES", "HARMBENCH_TO_CATEGORY", "JBB_TO_CATEGORY", "check_category"]

CATEGORIES: tuple[str, ...] = (
    "Harassment/Discrimination",
    "Malware/Hacking",
    "Physical harm",
    "Economic harm",
    "Fraud/Deception",
    "Disinformation",
    "Sexual/Adult content",
    "Privacy",
    "Expert advice",
    "Government decision-making",
    "Illegal activity",
)

JBB_TO_CATEGORY: dict[str, str] = {c: c for c in CATEGORIES[:10]}

HARMBENCH_TO_CATEGORY: dict[str, str] = {
    "chemical_biological": "Physical harm",
    "harmful": "Physical harm",
    "cybercrime_intrusion": "Malware/Hacking",
    "misinformation_disinformation": "Disinformation",
    "harassment_bullying": "Harassment/Discrimination",
    "illegal": "Illegal activity",
}


def check_category(name: str) -> str:
    """Return ``name`` if it is a taxonomy category, else raise ConfigError with "did you mean"."""
    if name not in CATEGORIES:
        raise ConfigError(
            f"unknown harm category {name!r}.{did_you_mean(name, CATEGORIES)} Known: {', '.join(CATEGORIES)}"
        )
    return name
