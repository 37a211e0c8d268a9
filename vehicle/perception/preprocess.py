"""The image preprocessing of both models, in exactly one place.

Training (`training/`) imports these functions and the car calls them, so a model
never sees in training an image prepared differently from the road. Normalisation to
floats happens inside the models (their first layer), so inputs stay uint8: the form
a full-integer TFLite model takes directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class LanePreprocess:
    """Bottom band of the frame, resized to the lane model's input, in YUV (as PilotNet)."""

    crop_top: float = 0.45  # fraction of the frame height where the band starts
    crop_bottom: float = 1.0
    width: int = 120
    height: int = 40

    def __post_init__(self) -> None:
        if not 0.0 <= self.crop_top < self.crop_bottom <= 1.0:
            raise ValueError("crop_top, crop_bottom: need 0 <= crop_top < crop_bottom <= 1")
        if self.width < 8 or self.height < 8:
            raise ValueError("width, height: must be at least 8 pixels")

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, 3)


@dataclass(frozen=True)
class DetectorPreprocess:
    """The whole frame, resized to the detector's square input, in RGB."""

    size: int = 300

    def __post_init__(self) -> None:
        if self.size < 32:
            raise ValueError("size: must be at least 32 pixels")

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.size, self.size, 3)


def lane_input(frame_bgr: np.ndarray, config: LanePreprocess = LanePreprocess()) -> np.ndarray:
    """The lane model's input (height, width, 3) uint8 YUV from a BGR camera frame."""
    _check_frame(frame_bgr)
    rows = frame_bgr.shape[0]
    top = int(round(config.crop_top * rows))
    bottom = max(top + 1, int(round(config.crop_bottom * rows)))
    band = frame_bgr[top:bottom]
    small = cv2.resize(band, (config.width, config.height), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2YUV)


def detector_input(
    frame_bgr: np.ndarray, config: DetectorPreprocess = DetectorPreprocess()
) -> np.ndarray:
    """The detector's input (size, size, 3) uint8 RGB from a BGR camera frame.

    The frame is stretched, not letterboxed: boxes in normalised coordinates map back to
    the frame by scaling x and y separately.
    """
    _check_frame(frame_bgr)
    small = cv2.resize(frame_bgr, (config.size, config.size), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2RGB)


@dataclass(frozen=True)
class SignCropPreprocess:
    """A detected sign's box, widened by `margin` of its size on each side, as a square
    `size` x `size` RGB crop for the sign classifier (the second stage that names what
    the detector found)."""

    size: int = 32
    margin: float = 0.15

    def __post_init__(self) -> None:
        if self.size < 8:
            raise ValueError("size: must be at least 8 pixels")
        if not 0.0 <= self.margin <= 1.0:
            raise ValueError(f"margin: must be in [0, 1], got {self.margin}")

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.size, self.size, 3)


def sign_crop(
    frame_bgr: np.ndarray,
    box: tuple[float, float, float, float],
    config: SignCropPreprocess = SignCropPreprocess(),
) -> np.ndarray:
    """The sign classifier's input (size, size, 3) uint8 RGB for one box.

    `box` is normalised (ymin, xmin, ymax, xmax) in the frame, as the detector gives it.
    The widened box is clipped to the frame (at least one pixel) and stretched to the
    square, as the detector stretches the frame.
    """
    _check_frame(frame_bgr)
    rows, cols = frame_bgr.shape[:2]
    ymin, xmin, ymax, xmax = (float(v) for v in box)
    dy, dx = (ymax - ymin) * config.margin, (xmax - xmin) * config.margin
    top = min(rows - 1, max(0, int(np.floor((ymin - dy) * rows))))
    left = min(cols - 1, max(0, int(np.floor((xmin - dx) * cols))))
    bottom = max(top + 1, min(rows, int(np.ceil((ymax + dy) * rows))))
    right = max(left + 1, min(cols, int(np.ceil((xmax + dx) * cols))))
    patch = frame_bgr[top:bottom, left:right]
    shrink = patch.shape[0] > config.size and patch.shape[1] > config.size
    small = cv2.resize(
        patch,
        (config.size, config.size),
        interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR,
    )
    return cv2.cvtColor(small, cv2.COLOR_BGR2RGB)


def _check_frame(frame: np.ndarray) -> None:
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError("frame: expected an HxWx3 BGR image")
    if frame.dtype != np.uint8:
        raise ValueError(f"frame: expected uint8 pixels, got {frame.dtype}")
