"""Safety helpers shared by tunegate features (refusal detection, ...)."""

from tunegate.safety.refusal import REFUSAL_PATTERNS, is_refusal

__all__ = ["REFUSAL_PATTERNS", "is_refusal"]
