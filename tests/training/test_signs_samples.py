"""The sign classifier's crops: jittered boxes stay near the truth, background boxes stay
off the signs, classes end with background, augmentation never touches hue."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from city.signs import sign_names
from training.detect.anchors import iou_matrix
from training.detect.dataset import VocImage
from training.lane.config import TrainingError
from training.signs.batches import augment, batches
from training.signs.config import SignsTrainConfig
from training.signs.samples import (
    BACKGROUND,
    CAR,
    RANDOM,
    SIGN,
    CropSet,
    background_boxes,
    jitter_boxes,
    plan_boxes,
    sign_classes,
)
from training.signs.scores import error_kind


def _random_boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    h = rng.uniform(0.04, 0.4, n)
    w = rng.uniform(0.03, 0.3, n)
    y = rng.uniform(0, 1 - h)
    x = rng.uniform(0, 1 - w)
    return np.stack([y, x, y + h, x + w], axis=1).astype(np.float32)


def test_jittered_boxes_keep_the_iou_bound_and_do_move():
    rng = np.random.default_rng(0)
    truth = _random_boxes(rng, 2000)
    # Boxes at the frame's edges get clipped, as the detector clips its own.
    truth[:50, :2] = 0.0
    truth[50:100, 2:] = 1.0
    jittered = jitter_boxes(truth, rng, jitter=0.15, min_iou=0.6)
    iou = np.diag(iou_matrix(jittered, truth))
    assert iou.min() >= 0.6
    assert (jittered >= 0).all() and (jittered <= 1).all()
    assert (jittered[:, 2:] > jittered[:, :2]).all()
    moved = np.abs(jittered - truth).max(axis=1)
    assert np.mean(moved > 1e-4) > 0.99, "nearly every box is jittered"
    assert 0.6 < iou.mean() < 0.9, "the jitter is real, not a rounding"
    # Away from the frame's edges, centres move at most 15 % of the size, sizes 15 %.
    inside = ((jittered > 0) & (jittered < 1)).all(axis=1)
    j, t = jittered[inside], truth[inside]
    h, jh = t[:, 2] - t[:, 0], j[:, 2] - j[:, 0]
    shift = np.abs((j[:, 0] + j[:, 2]) - (t[:, 0] + t[:, 2])) / 2
    assert (shift <= 0.15 * h + 1e-6).all()
    assert ((jh / h >= 0.85 - 1e-4) & (jh / h <= 1.15 + 1e-4)).all()


def test_a_tight_bound_falls_back_to_the_truth():
    rng = np.random.default_rng(1)
    truth = _random_boxes(rng, 50)
    same = jitter_boxes(truth, rng, jitter=0.4, min_iou=0.999)
    assert np.allclose(same, truth)


def test_background_boxes_avoid_every_sign_and_take_sign_sizes():
    rng = np.random.default_rng(2)
    sizes = np.array([[0.1, 0.08], [0.2, 0.15], [0.05, 0.04]], np.float32)
    for _ in range(200):
        signs = _random_boxes(rng, int(rng.integers(0, 6)))
        boxes = background_boxes(signs, sizes, 3, rng, max_iou=0.2)
        assert len(boxes) <= 3
        assert (boxes >= 0).all() and (boxes <= 1 + 1e-6).all()
        hw = boxes[:, 2:] - boxes[:, :2]
        assert all(np.isclose(hw[i], sizes, atol=1e-6).all(axis=1).any() for i in range(len(hw)))
        if len(signs) and len(boxes):
            assert iou_matrix(boxes, signs).max() < 0.2
    # With no sign at all every draw is usable.
    assert len(background_boxes(np.zeros((0, 4)), sizes, 5, rng, max_iou=0.2)) == 5


def test_plan_labels_signs_by_class_and_everything_else_background():
    image = VocImage(
        image_id="x",
        path=Path("x.jpg"),
        boxes=np.array(
            [[0.1, 0.1, 0.3, 0.25], [0.5, 0.5, 0.7, 0.6], [0.4, 0.0, 0.9, 0.5], [0, 0, 0.02, 0.02]],
            np.float32,
        ),
        labels=np.array([3, 7, 16, 5], np.int32),
        difficult=np.array([False, False, False, True]),
    )
    config = SignsTrainConfig()
    sizes = np.array([[0.1, 0.1]], np.float32)
    rng = np.random.default_rng(3)
    boxes, labels, source = plan_boxes(image, 16, sizes, config, rng, draws=3)
    signs = source == SIGN
    assert sorted(labels[signs].tolist()) == [3, 3, 3, 7, 7, 7]  # the difficult sign is skipped
    assert (labels[source == CAR] == 16).all() and (source == CAR).sum() == 3
    assert (labels[source == RANDOM] == 16).all()
    randoms = boxes[source == RANDOM]
    assert iou_matrix(randoms, image.boxes[[0, 1, 3]]).max(initial=0) < config.background_max_iou


def test_classes_are_the_catalogue_then_background():
    classes = sign_classes([*sign_names(), "car"])
    assert classes == [*sign_names(), BACKGROUND]
    with pytest.raises(TrainingError, match="sign catalogue"):
        sign_classes(["red-circle", "car"])
    with pytest.raises(TrainingError):
        sign_classes([*sign_names()[::-1], "car"])


def test_augmentation_keeps_hue_and_the_uint8_range():
    rng = np.random.default_rng(4)
    crops = np.zeros((64, 32, 32, 3), np.uint8)
    crops[..., 0] = 200  # pure red in RGB
    crops[..., 1] = 40
    crops[..., 2] = 30
    out = augment(crops, rng)
    assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 255
    means = out.mean(axis=(1, 2))
    assert (means[:, 0] > means[:, 1] + 50).all() and (means[:, 0] > means[:, 2] + 50).all()
    assert np.std(means[:, 0]) > 5, "brightness and contrast do vary"


def test_batches_hold_about_the_background_share():
    rng = np.random.default_rng(5)
    crops = CropSet(
        images=rng.integers(0, 256, (200, 8, 8, 3), dtype=np.uint8),
        labels=np.array([0] * 100 + [16] * 100, np.int32),
        source=np.array([SIGN] * 100 + [RANDOM] * 100, np.int8),
    )
    stream = batches(crops, 16, batch_size=64, background_share=0.25, seed=0)
    shares = [float(np.mean(next(stream)[1] == 16)) for _ in range(100)]
    assert 0.2 < np.mean(shares) < 0.3
    x, y = next(stream)
    assert x["image"].shape == (64, 8, 8, 3) and y.shape == (64,)


def test_error_kinds_split_colour_from_shape():
    assert error_kind("green-circle", "blue-circle") == "colour"
    assert error_kind("red-triangle", "red-square") == "shape"
    assert error_kind("red-triangle", "blue-square") == "both"
    assert error_kind("red-triangle", BACKGROUND) == "missed"
    assert error_kind(BACKGROUND, "red-square") == "false sign"
    assert error_kind("red-square", "red-square") == "right"


def test_config_is_validated():
    with pytest.raises(TrainingError, match="steps"):
        SignsTrainConfig(steps=0)
    with pytest.raises(TrainingError, match="background_max_iou"):
        SignsTrainConfig(background_max_iou=0.7)
    with pytest.raises(TrainingError, match="learning_rate"):
        SignsTrainConfig(learning_rate=2.0)
