"""What the detector found in one frame: labelled, scored boxes.

Boxes are normalised to [0, 1] and ordered ``(ymin, xmin, ymax, xmax)``, the order
TFLite's ``TFLite_Detection_PostProcess`` op emits, so the detector's output maps
onto `Detection` without reshuffling. Labels are sign type names (`city.signs`) or
`CAR_LABEL`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

CAR_LABEL = "car"


@dataclass(frozen=True)
class Detection:
    """One detected object: its label, the detector's confidence and its box."""

    label: str
    score: float
    box: tuple[float, float, float, float]  # ymin, xmin, ymax, xmax, normalised to [0, 1]

    def __post_init__(self) -> None:
        if len(self.box) != 4 or not all(math.isfinite(v) for v in self.box):
            raise ValueError(f"box: must be 4 finite numbers, got {self.box!r}")
        ymin, xmin, ymax, xmax = self.box
        if ymin > ymax or xmin > xmax:
            raise ValueError(f"box: must be (ymin, xmin, ymax, xmax), got {self.box!r}")
        if not math.isfinite(self.score):
            raise ValueError(f"score: must be finite, got {self.score!r}")

    @property
    def height(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def width(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def center_x(self) -> float:
        return (self.box[1] + self.box[3]) / 2.0

    @property
    def center_y(self) -> float:
        return (self.box[0] + self.box[2]) / 2.0

    @property
    def area(self) -> float:
        return self.height * self.width


def filter_detections(dets: Iterable[Detection], *, min_score: float = 0.5) -> list[Detection]:
    """The detections scoring at least `min_score`, in their original order."""
    return [det for det in dets if det.score >= min_score]


class ObjectDetector(Protocol):
    """Anything that finds labelled boxes in a BGR frame (the detector, or the detector
    with its sign classifier)."""

    def detect(self, frame_bgr: np.ndarray) -> list[Detection]: ...
