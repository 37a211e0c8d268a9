"""The sign crop both training and the car use, and how classifier answers relabel boxes."""

from __future__ import annotations

import numpy as np
import pytest

from vehicle.perception.detections import Detection
from vehicle.perception.preprocess import SignCropPreprocess, sign_crop
from vehicle.perception.sign_classifier import (
    SignClassifier,
    SignClassifierConfig,
    TwoStageDetector,
)


def _frame_with_square(colour_bgr: tuple[int, int, int]) -> np.ndarray:
    frame = np.full((240, 320, 3), 90, np.uint8)
    frame[100:130, 200:230] = colour_bgr
    return frame


def test_sign_crop_is_the_widened_box_as_rgb():
    frame = _frame_with_square((255, 0, 0))  # blue in BGR
    crop = sign_crop(frame, (100 / 240, 200 / 320, 130 / 240, 230 / 320))
    assert crop.shape == (32, 32, 3) and crop.dtype == np.uint8
    assert tuple(crop[16, 16]) == (0, 0, 255)  # RGB
    # the 15 % margin shows the grey around the square at the crop's edges
    assert tuple(crop[0, 0]) == (90, 90, 90)
    assert tuple(crop[6, 16]) == (0, 0, 255)


@pytest.mark.parametrize(
    "box", [(0.99, 0.99, 1.0, 1.0), (-0.3, -0.2, 0.0, 0.0), (0.5, 0.5, 0.5, 0.5)]
)
def test_sign_crop_of_a_box_at_or_past_the_edge_is_still_a_crop(box):
    crop = sign_crop(_frame_with_square((0, 0, 255)), box, SignCropPreprocess(size=24))
    assert crop.shape == (24, 24, 3)


def test_bad_crop_settings_are_refused():
    with pytest.raises(ValueError, match="margin"):
        SignCropPreprocess(margin=-0.1)
    with pytest.raises(ValueError, match="size"):
        SignCropPreprocess(size=4)


class _ScriptedClassifier(SignClassifier):
    """The real relabel logic over scripted class probabilities (no model file)."""

    def __init__(self, answers: list[np.ndarray], min_prob: float = 0.5) -> None:
        self.config = SignClassifierConfig(min_prob=min_prob)
        self.labels = ["red-circle", "blue-circle", "background"]
        self.preprocess = SignCropPreprocess()
        self._answers = list(answers)

    def probabilities(self, crop: np.ndarray) -> np.ndarray:
        assert crop.shape == (32, 32, 3)
        return self._answers.pop(0)


class _FixedDetector:
    def __init__(self, dets: list[Detection]) -> None:
        self.dets = dets

    def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
        return list(self.dets)


def test_two_stage_names_sign_boxes_and_keeps_cars():
    box = (0.4, 0.6, 0.55, 0.7)
    dets = [
        Detection("red-circle", 0.3, box),  # the detector's colour is wrong
        Detection("car", 0.8, (0.5, 0.2, 0.9, 0.5)),
        Detection("blue-circle", 0.25, (0.1, 0.1, 0.2, 0.2)),  # no sign in it
        Detection("red-circle", 0.6, (0.3, 0.3, 0.4, 0.4)),  # unsure classifier
    ]
    answers = [
        np.array([0.02, 0.95, 0.03]),
        np.array([0.1, 0.1, 0.8]),
        np.array([0.45, 0.40, 0.15]),
    ]
    two = TwoStageDetector(_FixedDetector(dets), _ScriptedClassifier(answers))
    found = two.detect(_frame_with_square((0, 0, 255)))
    assert [(d.label, round(d.score, 2), d.box) for d in found] == [
        ("blue-circle", 0.95, box),
        ("car", 0.8, (0.5, 0.2, 0.9, 0.5)),
    ]


def test_bad_classifier_settings_are_refused(tmp_path):
    with pytest.raises(ValueError, match="min_prob"):
        SignClassifierConfig(min_prob=1.5)
    with pytest.raises(FileNotFoundError, match="no sign classifier model"):
        SignClassifier(SignClassifierConfig(model=tmp_path / "none.tflite"))
