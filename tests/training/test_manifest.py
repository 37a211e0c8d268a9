"""Manifest loading, the split by episode and steering balancing (no TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest

from training.lane import LaneTrainConfig, TrainingError, load_manifest, split_by_episode
from training.lane.manifest import balance_weights


def test_split_keeps_whole_episodes_apart_and_is_seeded(lane_dataset):
    records = load_manifest(lane_dataset)
    assert len(records) == 200
    train, val = split_by_episode(records, val_share=0.25, seed=1)
    assert len(train) + len(val) == 200
    assert not set(train.episodes) & set(val.episodes)
    again_train, again_val = split_by_episode(records, val_share=0.25, seed=1)
    assert list(again_val.paths) == list(val.paths)


def test_a_single_episode_cannot_be_split(lane_dataset):
    records = load_manifest(lane_dataset, max_frames=10)
    with pytest.raises(TrainingError, match="episode"):
        split_by_episode(records, val_share=0.2, seed=0)


def test_missing_or_broken_manifest_is_named(tmp_path):
    with pytest.raises(TrainingError, match="not a lane dataset"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.jsonl").write_text('{"file": "a.jpg", "episode": 0}\n')
    with pytest.raises(TrainingError, match="manifest.jsonl:1"):
        load_manifest(tmp_path)


def test_balancing_draws_rare_steering_more_often_within_the_cap():
    steering = np.concatenate([np.zeros(900), np.full(90, 0.8), np.full(10, -0.9)])
    weights = balance_weights(steering.astype(np.float32), bins=20, strength=0.5, cap=5.0)
    assert weights.mean() == pytest.approx(1.0, abs=1e-3)
    assert weights[-1] > weights[900] > weights[0]
    assert weights.max() <= 5.0 + 1e-3
    flat = balance_weights(steering.astype(np.float32), bins=20, strength=0.0, cap=5.0)
    assert np.allclose(flat, 1.0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("epochs", 0),
        ("activation", "tanh"),
        ("balance", 1.5),
        ("val_share", 1.0),
        ("strategy", "x"),
    ],
)
def test_config_names_the_bad_field(field, value):
    with pytest.raises(TrainingError, match=field):
        LaneTrainConfig(**{field: value})
