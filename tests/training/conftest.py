"""A small real lane dataset from the simulator, shared by the training tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.datasets.lane import LaneDatasetConfig, generate_lane_dataset


@pytest.fixture(scope="session")
def lane_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("training") / "lane"
    config = LaneDatasetConfig(frames=200, seed=5, workers=2, frames_per_episode=40)
    generate_lane_dataset(out, config, progress=False)
    return out


@pytest.fixture(scope="session")
def detect_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sim.datasets.detect import DetectDatasetConfig, generate_detect_dataset

    out = tmp_path_factory.mktemp("training") / "detect"
    generate_detect_dataset(out, DetectDatasetConfig(images=80, seed=3, workers=2), progress=False)
    return out
