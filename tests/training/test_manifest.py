"""Manifest loading, the split by episode and steering balancing (no TensorFlow)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from training.lane import (
    LaneTrainConfig,
    TrainingError,
    load_manifest,
    load_manifests,
    split_by_episode,
)
from training.lane.manifest import EPISODE_STRIDE, balance_weights


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


def test_several_datasets_load_as_one_with_distinct_episodes(lane_dataset, tmp_path):
    other = tmp_path / "other-city"
    shutil.copytree(lane_dataset, other)
    one = load_manifest(lane_dataset)
    both = load_manifests([lane_dataset, other], max_frames=150)
    assert len(both) == 300  # the cap is per dataset
    assert str(other) in both.paths[-1] and str(lane_dataset) in both.paths[0]
    first, second = both.episodes[:150], both.episodes[150:]
    assert not set(first) & set(second)
    assert np.array_equal(second - EPISODE_STRIDE, one.episodes[:150])
    train, val = split_by_episode(both, val_share=0.25, seed=0)
    assert not set(train.episodes) & set(val.episodes)
    with pytest.raises(TrainingError, match="twice"):
        load_manifests([lane_dataset, lane_dataset])
    with pytest.raises(TrainingError, match="no lane dataset"):
        load_manifests([])


def test_command_balancing_evens_out_draws_per_command():
    rng = np.random.default_rng(0)
    steering = rng.uniform(-1, 1, 1000).astype(np.float32)
    commands = np.repeat([0, 1, 2], [600, 100, 300])
    kwargs = {"bins": 20, "strength": 0.0, "cap": 10.0, "commands": commands}
    weights = balance_weights(steering, command_strength=1.0, **kwargs)
    per_command = [weights[commands == c].sum() for c in range(3)]
    assert weights.mean() == pytest.approx(1.0, abs=1e-3)
    assert per_command == pytest.approx([1000 / 3] * 3, rel=1e-3)
    half = balance_weights(steering, command_strength=0.5, **kwargs)
    assert weights[600] > half[600] > 1.0  # the rare `left` gains, less at half strength
    assert np.allclose(balance_weights(steering, command_strength=0.0, **kwargs), 1.0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("epochs", 0),
        ("activation", "tanh"),
        ("balance", 1.5),
        ("command_balance", -0.1),
        ("width", 0.0),
        ("val_share", 1.0),
        ("strategy", "x"),
    ],
)
def test_config_names_the_bad_field(field, value):
    with pytest.raises(TrainingError, match=field):
        LaneTrainConfig(**{field: value})


def test_width_scales_the_convolutions_and_one_is_pixelopolis():
    from training.lane.model import conv_filters

    assert conv_filters(24, 36, 48, 64, 64, width=1.0) == (24, 36, 48, 64, 64)
    slim = conv_filters(24, 36, 48, 64, 64, width=0.5)
    assert slim == (12, 16, 24, 32, 32) and all(f % 4 == 0 for f in slim)
    assert conv_filters(24, width=0.1) == (8,)
