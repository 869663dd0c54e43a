"""The engine around every backend: cache lookup, batching (by context for scoring, by length for
generation) and write-as-you-go."""

from tunegate.engine._engine import Engine, EngineStats
from tunegate.engine._progress import NullProgress, Progress, RichProgress, make_progress

__all__ = ["Engine", "EngineStats", "NullProgress", "Progress", "RichProgress", "make_progress"]
