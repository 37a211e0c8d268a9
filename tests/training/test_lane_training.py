"""A tiny lane run end to end: tf.data, a few training steps, exports, parity, model card.

One short run (a few steps, small calibration) is shared by the tests of this module.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from training.lane import LaneTrainConfig, TrainingError, load_manifest, split_by_episode
from vehicle.perception import lane_input

pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

TINY = LaneTrainConfig(
    epochs=2,
    steps_per_epoch=3,
    batch_size=16,
    val_share=0.25,
    calibration_frames=24,
    parity_frames=40,
    latency_runs=5,
    strategy="default",
)


@pytest.fixture(scope="module")
def run(lane_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from training.lane.train import train_lane

    out = tmp_path_factory.mktemp("lane-run")
    return out, train_lane(lane_dataset, out, TINY, progress=False)


def test_training_batches_are_balanced_augmented_uint8_range_inputs(lane_dataset):
    from training.lane.data import training_dataset, validation_dataset

    train, val = split_by_episode(load_manifest(lane_dataset), val_share=0.25, seed=0)
    features, steering = next(iter(training_dataset(train, TINY)))
    assert features["image"].shape == (16, 40, 120, 3) and features["command"].shape == (16, 3)
    assert (
        float(features["image"].numpy().min()) >= 0
        and float(features["image"].numpy().max()) <= 255
    )
    assert np.allclose(features["command"].numpy().sum(axis=1), 1.0)
    assert steering.shape == (16,)
    # Validation frames are exactly what the car would feed the model.
    features, _ = next(iter(validation_dataset(val, TINY)))
    frame = cv2.imread(str(val.paths[0]))
    assert np.array_equal(features["image"].numpy()[0], lane_input(frame).astype(np.float32))


def test_a_run_writes_every_artifact(run):
    out, metrics = run
    for name in (
        "lane.keras",
        "lane_float32.tflite",
        "lane_float16.tflite",
        "lane_int8.tflite",
        "lane_labels.txt",
        "model_card.md",
        "metrics.json",
        "val_scatter.png",
    ):
        assert (out / name).is_file(), name
    assert (out / "lane_labels.txt").read_text().split() == ["straight", "left", "right"]
    assert cv2.imread(str(out / "val_scatter.png")) is not None
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["validation_mae"]["all"]["frames"] == metrics["frames"]["validation"]
    card = (out / "model_card.md").read_text()
    for heading in ("## Intended use", "## Data", "## Validation metrics", "## Limits"):
        assert heading in card
    assert any((out / "logs").rglob("*tfevents*")), "TensorBoard logs"


def test_every_export_matches_keras_within_its_tolerance(run):
    _, metrics = run
    for kind, export in metrics["exports"].items():
        parity = export["parity"]
        assert parity["frames"] > 0
        assert parity["ok"], (kind, parity)
    assert metrics["exports"]["float32"]["parity"]["max_abs"] <= 1e-4
    int8 = metrics["exports"]["int8"]
    assert not int8["float_islands"], int8["ops"]  # ReLU: integer-only inside


def test_the_car_runner_reads_any_export_by_name(run, lane_dataset):
    from vehicle.perception.lane_model import LaneModel

    out, _ = run
    record = json.loads((lane_dataset / "manifest.jsonl").read_text().splitlines()[0])
    frame = cv2.imread(str(lane_dataset / record["file"]))
    for kind in ("float32", "float16", "int8"):
        model = LaneModel(out / f"lane_{kind}.tflite")
        steering = model.steer(frame, record["command"])
        assert -1.0 <= steering <= 1.0
        assert steering == model.predict(lane_input(frame), record["command"])
    with pytest.raises(ValueError, match="command"):
        model.steer(frame, "reverse")


def test_a_finished_run_is_not_overwritten_without_force(run, lane_dataset):
    from training.lane.train import train_lane

    out, _ = run
    with pytest.raises(TrainingError, match="--force"):
        train_lane(lane_dataset, out, TINY, progress=False)
