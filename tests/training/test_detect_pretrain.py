"""Backbone pretraining crops: the right class at the centre, background where empty."""

from __future__ import annotations

import numpy as np
import pytest

from training.detect.pretrain import CENTRE, pick_crop


def scene() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A 224 grey square with a red 20-px sign (class 3) and a blue car (class 16)."""
    image = np.full((224, 224, 3), 90, np.uint8)
    image[40:60, 50:70] = (255, 0, 0)
    image[150:200, 120:200] = (0, 0, 255)
    boxes = np.array([[40, 50, 60, 70], [150, 120, 200, 200]], np.float32) / 224
    return image, boxes, np.array([3, 16]), np.array([True, True])


def test_object_crops_hold_their_object_near_the_centre():
    image, boxes, labels, keep = scene()
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(200):
        crop, label = pick_crop(image, boxes, labels, keep, 17, 96, rng)
        assert crop.shape == (96, 96, 3)
        seen.add(label)
        if label == 3:  # the sign's centre is within the jitter of the crop's centre
            ys, xs = np.nonzero((crop == (255, 0, 0)).all(axis=2))
            assert len(ys) and abs(ys.mean() - 48) <= 26 and abs(xs.mean() - 48) <= 26
    assert seen == {3, 16, 17}


def test_background_crops_have_nothing_at_their_centre():
    image, boxes, labels, keep = scene()
    rng = np.random.default_rng(1)
    half = int(CENTRE * 96 / 2)
    backgrounds = 0
    for _ in range(300):
        crop, label = pick_crop(image, boxes, labels, keep, 17, 96, rng)
        if label == 17:
            backgrounds += 1
            middle = crop[48 - half : 48 + half, 48 - half : 48 + half]
            assert not (middle == (255, 0, 0)).all(axis=2).any()
            assert not (middle == (0, 0, 255)).all(axis=2).any()
    assert 30 <= backgrounds <= 100  # about BACKGROUND_SHARE of 300


def test_difficult_objects_are_never_targets():
    image, boxes, labels, _ = scene()
    keep = np.array([False, True])
    rng = np.random.default_rng(2)
    labels_seen = {pick_crop(image, boxes, labels, keep, 17, 96, rng)[1] for _ in range(100)}
    assert 3 not in labels_seen


@pytest.mark.parametrize("crop", [64, 96])
def test_objects_at_the_border_are_padded_not_shifted(crop):
    image = np.full((224, 224, 3), 90, np.uint8)
    image[0:10, 0:10] = (0, 255, 0)
    boxes = np.array([[0, 0, 10 / 224, 10 / 224]], np.float32)
    rng = np.random.default_rng(3)
    signs = []
    for _ in range(20):
        out, label = pick_crop(image, boxes, np.array([5]), np.array([True]), 17, crop, rng)
        if label == 5:
            signs.append(out)
    assert signs
    for out in signs:
        assert out.shape == (crop, crop, 3)
        assert (out == (0, 255, 0)).all(axis=2).any()  # the sign is in the crop
        assert (out == 128).all(axis=2).any()  # grey padding beyond the image's corner
