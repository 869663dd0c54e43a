"""Integrations with training frameworks (transformers ``Trainer``)."""

from tunegate.integrations._compare import CompareCallback
from tunegate.integrations._trainer import TunegateCallback

__all__ = ["CompareCallback", "TunegateCallback"]
