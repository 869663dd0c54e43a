"""torch's thread count: physical cores by default, TUNEGATE_THREADS (checked) when set, applied at load."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tunegate.errors import ConfigError
from tunegate.models import Model
from tunegate.models._threads import configure_threads, physical_cores


@pytest.fixture(autouse=True)
def _restore_threads() -> Iterator[None]:
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_physical_cores_counts_each_core_once() -> None:
    allowed = len(os.sched_getaffinity(0))
    cores = {
        (Path(f"/sys/devices/system/cpu/cpu{c}/topology/physical_package_id").read_text(),
         Path(f"/sys/devices/system/cpu/cpu{c}/topology/core_id").read_text())
        for c in os.sched_getaffinity(0)
    }  # fmt: skip
    assert 1 <= physical_cores() <= allowed
    assert physical_cores() <= len(cores)


def test_default_is_omp_num_threads_then_physical_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUNEGATE_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert configure_threads() == physical_cores() == torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert configure_threads() == 1 == torch.get_num_threads()


def test_tunegate_threads_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("TUNEGATE_THREADS", "3")
    assert configure_threads() == 3 == torch.get_num_threads()


@pytest.mark.parametrize("bad", ["0", "-2", "two", "1.5", "nan", "5000"])
def test_bad_thread_counts_are_config_errors(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv("TUNEGATE_THREADS", bad)
    with pytest.raises(ConfigError, match="TUNEGATE_THREADS"):
        configure_threads()


def test_loading_a_model_applies_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests._tiny import build_tiny_model

    folder = build_tiny_model(tmp_path / "m", seed=5)  # a folder of its own: a fresh load
    monkeypatch.setenv("TUNEGATE_THREADS", "1")
    torch.set_num_threads(2)
    _ = Model(f"hf:{folder}").backend
    assert torch.get_num_threads() == 1
