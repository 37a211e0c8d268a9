"""Anchors, box encoding and matching: the numbers the loss and the post-process op share."""

from __future__ import annotations

import numpy as np
import pytest

from training.detect.anchors import (
    AnchorSpec,
    decode,
    encode,
    generate_anchors,
    iou_matrix,
    match,
    to_corners,
)


def test_anchor_count_and_layout_follow_the_feature_maps():
    spec = AnchorSpec()
    anchors = generate_anchors(224, spec)
    assert anchors.shape == (spec.count(224), 4)
    assert spec.grid_sizes(224) == [28, 14, 7, 4, 2]
    # First map, first cell: centred in the top-left cell of the 28x28 grid.
    assert anchors[0, 0] == pytest.approx(0.5 / 28) and anchors[0, 1] == pytest.approx(0.5 / 28)
    assert (anchors[:, 2:] > 0).all() and (anchors[:, 2:] <= 1).all()


def test_encode_then_decode_gives_the_box_back():
    anchors = generate_anchors(64)
    rng = np.random.default_rng(0)
    boxes = to_corners(anchors * [1, 1, 1, 1]) + rng.normal(0, 0.01, size=(len(anchors), 4))
    boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 0.01)
    np.testing.assert_allclose(decode(encode(boxes, anchors), anchors), boxes, atol=1e-5)


def test_iou_of_known_boxes():
    a = np.array([[0, 0, 1, 1]], np.float32)
    b = np.array([[0, 0, 1, 1], [0, 0, 0.5, 1], [2, 2, 3, 3]], np.float32)
    np.testing.assert_allclose(iou_matrix(a, b)[0], [1.0, 0.5, 0.0], atol=1e-6)


def test_match_marks_positives_ignored_and_background():
    anchors = generate_anchors(64)
    corners = to_corners(anchors)
    target = corners[10:11].copy()
    targets, classes = match(anchors, target, np.array([3]))
    assert classes[10] == 4  # label 3 -> class target 4 (0 is background)
    np.testing.assert_allclose(targets[10], 0.0, atol=1e-5)  # the box is the anchor itself
    assert (classes >= -1).all() and (classes == 0).sum() > len(anchors) // 2
    assert np.all(targets[classes <= 0] == 0)
    # An ignore box turns nearby background into "ignored", never into a positive.
    _, with_ignore = match(anchors, np.zeros((0, 4), np.float32), np.zeros(0, np.int32), target)
    assert with_ignore[10] == -1 and (with_ignore <= 0).all()


def test_every_box_gets_an_anchor_even_a_tiny_one():
    anchors = generate_anchors(224)
    tiny = np.array([[0.50, 0.50, 0.52, 0.505]], np.float32)  # 4 x 1 pixels
    _, classes = match(anchors, tiny, np.array([0]))
    assert (classes == 1).sum() >= 1
