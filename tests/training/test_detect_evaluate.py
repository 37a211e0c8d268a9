"""VOC AP by hand, difficult boxes, and a cross-check against pycocotools."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.detect.dataset import VocImage
from training.detect.evaluate import Prediction, class_ap, coco_map, voc_ap, voc_map


def _image(boxes, labels, difficult=None) -> VocImage:
    n = len(boxes)
    return VocImage(
        image_id="x",
        path=Path("x.jpg"),
        boxes=np.array(boxes, np.float32).reshape(-1, 4),
        labels=np.array(labels, np.int32),
        difficult=np.zeros(n, bool) if difficult is None else np.array(difficult, bool),
    )


A = (0.1, 0.1, 0.3, 0.3)
B = (0.5, 0.5, 0.8, 0.8)
ELSEWHERE = (0.0, 0.6, 0.1, 0.7)


def test_hand_computed_ap():
    # Scores 0.9 hit, 0.8 miss, 0.7 hit: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1.
    # Envelope: 1 up to recall 1/2, 2/3 up to 1 -> AP = 0.5 + 0.5 * 2/3.
    images = [_image([A, B], [0, 0])]
    preds = [[Prediction(0, 0.9, A), Prediction(0, 0.8, ELSEWHERE), Prediction(0, 0.7, B)]]
    ap, count = class_ap(images, preds, 0)
    assert count == 2 and ap == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_duplicates_are_false_positives_and_difficult_boxes_do_not_count():
    images = [_image([A, B], [0, 0], difficult=[False, True])]
    preds = [[Prediction(0, 0.9, A), Prediction(0, 0.8, A), Prediction(0, 0.7, B)]]
    ap, count = class_ap(images, preds, 0)
    # One countable box; the duplicate of A is a miss after the hit: AP stays 1.
    assert count == 1 and ap == pytest.approx(1.0)
    result = voc_map(images, preds, ["sign", "car"])
    assert result["per_class"]["car"]["ap"] is None and result["map"] == pytest.approx(1.0)


def test_voc_ap_of_a_perfect_and_an_empty_curve():
    assert voc_ap(np.array([0.5, 1.0]), np.array([1.0, 1.0])) == pytest.approx(1.0)
    assert voc_ap(np.array([]), np.array([])) == 0.0


def test_agrees_with_pycocotools_at_iou_half():
    pytest.importorskip("pycocotools")
    rng = np.random.default_rng(1)
    images, preds = [], []
    for _ in range(40):
        n = int(rng.integers(1, 4))
        centres = rng.uniform(0.2, 0.8, size=(n, 2))
        sizes = rng.uniform(0.05, 0.15, size=(n, 2))
        boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
        labels = rng.integers(0, 3, size=n)
        images.append(_image(boxes, labels))
        found = []
        for box, label in zip(boxes, labels, strict=True):
            if rng.random() < 0.8:
                jitter = box + rng.normal(0, 0.01, size=4)
                found.append(Prediction(int(label), float(rng.uniform(0.3, 1)), tuple(jitter)))
        if rng.random() < 0.5:
            found.append(Prediction(int(rng.integers(0, 3)), float(rng.uniform(0, 0.6)), B))
        preds.append(found)
    ours = voc_map(images, preds, ["a", "b", "c"])["map"]
    coco = coco_map(images, preds, ["a", "b", "c"])
    # pycocotools interpolates at 101 recall points, VOC at every point: close, not equal.
    assert ours == pytest.approx(coco["map50"], abs=0.02)
