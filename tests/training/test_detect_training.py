"""A tiny detector run end to end: tf.data, a few steps, exports with the post-process op,
parity against Keras, the Edge TPU check, mAP, model card; plus the CLI's bad input.

One short run (64-pixel input, a few steps) is shared by the tests of this module.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from pixelopolis.cli import main
from training.detect import DetectTrainConfig, TrainingError
from training.detect.dataset import load_split, read_labels
from vehicle.perception import DetectorPreprocess, detector_input

pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

# The shared run converts two models: about a minute and a half on an idle 2-core machine.
pytestmark = pytest.mark.timeout(900)

TINY = DetectTrainConfig(
    epochs=1,
    steps_per_epoch=2,
    batch_size=4,
    alpha=0.35,
    calibration_images=8,
    parity_images=4,
    eval_images=8,
    latency_runs=5,
    pretrain_steps=2,
    pretrain_batch_size=4,
    strategy="default",
    preprocess=DetectorPreprocess(size=64),
)


@pytest.fixture(scope="module")
def run(detect_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from training.detect.train import train_detect

    out = tmp_path_factory.mktemp("detect-run")
    metrics = train_detect(detect_dataset, out, TINY, progress=False, unseen=detect_dataset)
    return out, metrics


def test_batches_are_car_inputs_with_matched_targets(detect_dataset):
    from training.detect.anchors import generate_anchors
    from training.detect.data import training_dataset, validation_dataset

    anchors = generate_anchors(64)
    val = load_split(detect_dataset, "val")
    images, targets = next(iter(validation_dataset(val, anchors, TINY)))
    assert images.shape == (4, 64, 64, 3)
    frame = cv2.imread(str(val[0].path))
    assert np.array_equal(images.numpy()[0], detector_input(frame, TINY.preprocess))
    assert targets["boxes"].shape == (4, len(anchors), 5)
    assert targets["classes"].shape == (4, len(anchors))
    train = load_split(detect_dataset, "train")
    images, targets = next(iter(training_dataset(train, anchors, TINY)))
    assert float(images.numpy().min()) >= 0 and float(images.numpy().max()) <= 255
    assert int((targets["classes"].numpy() > 0).sum()) > 0  # some positives in a batch


@pytest.mark.slow
def test_a_run_writes_every_artifact(run):
    out, metrics = run
    for name in (
        "detect.keras",
        "detect_float32.tflite",
        "detect_int8.tflite",
        "detect_labels.txt",
        "model_card.md",
        "metrics.json",
    ):
        assert (out / name).is_file(), name
    assert (out / "detect_labels.txt").read_text().split() == metrics["classes"]
    pretrained = json.loads((out / "checkpoints" / "backbone.json").read_text())
    assert pretrained["steps"] == 2 and 0 <= pretrained["val_accuracy"] <= 1
    assert (out / "checkpoints" / "backbone.npz").is_file()
    saved = json.loads((out / "metrics.json").read_text())
    assert set(saved["exports"]) == {"float32", "int8"}
    card = (out / "model_card.md").read_text()
    for heading in ("## Intended use", "## Data and training", "## Metrics", "## Limits"):
        assert heading in card
    assert "unseen" in saved["exports"]["int8"]
    assert any((out / "logs").rglob("*tfevents*")), "TensorBoard logs"


@pytest.mark.slow
def test_exports_carry_the_post_process_op_and_match_keras(run):
    _, metrics = run
    for kind, e in metrics["exports"].items():
        assert "TFLite_Detection_PostProcess" in e["ops"], kind
        assert e["parity"]["ok"], (kind, e["parity"])
    assert metrics["exports"]["float32"]["parity"]["boxes_max_abs"] <= 1e-4
    assert metrics["exports"]["float32"]["parity"]["scores_max_abs"] <= 1e-4
    # Only the int8 file is Edge-TPU ready: everything before the post-process is integer.
    assert metrics["exports"]["int8"]["edgetpu"]["compatible"]
    assert not metrics["exports"]["float32"]["edgetpu"]["compatible"]
    assert "TILE" not in metrics["exports"]["int8"]["ops"]


@pytest.mark.slow
def test_detector_runs_the_export_and_slices_to_the_count(run, caplog):
    from vehicle.perception import Detector, DetectorConfig

    out, _ = run
    config = DetectorConfig(
        model=out / "detect_int8.tflite", labels=out / "detect_labels.txt", min_score=0.0
    )
    with caplog.at_level("WARNING", logger="vehicle.perception.detector"):
        detector = Detector(config)
    assert len([r for r in caplog.records if "Edge TPU" in r.message]) == 1
    assert detector.preprocess.size == 64
    frame = np.full((240, 320, 3), 90, np.uint8)
    found = detector.detect(frame)
    assert len(found) <= 20
    assert all(d.label in detector.labels for d in found)
    assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)
    strict = Detector(DetectorConfig(model=config.model, labels=config.labels, min_score=1.0))
    assert all(d.score >= 1.0 for d in strict.detect(frame))


@pytest.mark.slow
def test_eval_cli_prints_map_per_class(run, detect_dataset, capsys):
    out, _ = run
    code = main(
        [
            "eval",
            "detect",
            "--model",
            str(out / "detect_float32.tflite"),
            "--data",
            str(detect_dataset),
            "--max-images",
            "4",
            "--json",
        ]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["per_class"]) == set(read_labels(detect_dataset))
    assert result["images"] == 4 and "coco" in result


def test_bad_input_is_one_line_exit_2(tmp_path, detect_dataset, capsys):
    assert main(["train", "detect", "--data", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "not a detection dataset" in capsys.readouterr().err
    assert main(["eval", "detect", "--model", str(tmp_path / "x.tflite"), "--data", "d"]) == 2
    err = capsys.readouterr().err
    assert "not a .tflite file" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(TrainingError):
        DetectTrainConfig(alpha=0.6)
    with pytest.raises(TrainingError):
        DetectTrainConfig(preprocess=DetectorPreprocess(size=100))


def test_every_batch_norm_follows_a_short_run():
    """MobileNetV2's own momentum (0.999) left the moving statistics near their start
    after a few thousand steps, so the inference-mode detector output a constant."""
    import keras

    from training.detect.model import BN_MOMENTUM, build_detector

    model = build_detector(3, preprocess=DetectorPreprocess(size=64))
    backbone = model.get_layer("backbone").layers
    norms = [
        layer
        for layer in (*backbone, *model.layers)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert any(layer in norms for layer in backbone), "the backbone's batch norms are checked"
    assert {layer.momentum for layer in norms} == {BN_MOMENTUM}


def test_recalibrated_batch_norms_make_inference_match_training_mode():
    """The moving statistics lag fast-moving weights; re-estimated over batches with the
    final weights, inference mode gives what training mode gives on those batches."""
    import keras

    from training.detect.batchnorm import batch_norms, recalibrate_batch_norms
    from training.detect.model import build_detector

    keras.utils.set_random_seed(0)
    model = build_detector(3, preprocess=DetectorPreprocess(size=64), alpha=0.35)
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 256, size=(8, 64, 64, 3)).astype(np.float32)
    trained = model(batch, training=True)["classes"].numpy()
    before = model(batch, training=False)["classes"].numpy()
    assert np.abs(before - trained).max() > 0.1, "fresh statistics differ from the batch's"
    norms = batch_norms(model)
    assert len(norms) > 50 and {n.momentum for n in norms} == {0.99}
    assert recalibrate_batch_norms(model, [batch, (batch, None), batch]) == 3
    after = model(batch, training=False)["classes"].numpy()
    np.testing.assert_allclose(after, trained, atol=2e-3)
    assert {n.momentum for n in norms} == {0.99}, "momentum restored"
