"""Fixtures shared by the backend tests."""

from __future__ import annotations

import pytest

from tunegate.models import Model


@pytest.fixture()
def base(tiny_model_dir):  # type: ignore[no-untyped-def]
    """The HF backend on the tiny in-memory-built model."""
    return Model(f"hf:{tiny_model_dir}").backend
