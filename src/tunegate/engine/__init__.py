"""The engine: cache lookup, length-sorted batching and write-as-you-go around every backend."""

from tunegate.engine._engine import Engine, EngineStats
from tunegate.engine._progress import NullProgress, Progress, RichProgress, make_progress

__all__ = ["Engine", "EngineStats", "NullProgress", "Progress", "RichProgress", "make_progress"]
