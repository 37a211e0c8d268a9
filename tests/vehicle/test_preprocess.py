"""The one preprocessing: shapes, colour space, and the crop taking the bottom band."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vehicle.perception import DetectorPreprocess, LanePreprocess, detector_input, lane_input


def test_lane_input_is_the_bottom_band_in_yuv():
    frame = np.zeros((240, 320, 3), np.uint8)
    frame[:100] = (0, 0, 255)  # red sky: above the band
    frame[120:] = (255, 0, 0)  # blue road
    out = lane_input(frame)
    assert out.shape == (40, 120, 3) and out.dtype == np.uint8
    expected = cv2.cvtColor(np.full((1, 1, 3), (255, 0, 0), np.uint8), cv2.COLOR_BGR2YUV)[0, 0]
    assert np.abs(out[-1, 60].astype(int) - expected).max() <= 1
    red = cv2.cvtColor(np.full((1, 1, 3), (0, 0, 255), np.uint8), cv2.COLOR_BGR2YUV)[0, 0]
    assert not (np.abs(out.astype(int) - red).max(axis=2) <= 2).any()


def test_detector_input_is_square_rgb():
    frame = np.zeros((240, 320, 3), np.uint8)
    frame[..., 2] = 200  # red in BGR
    out = detector_input(frame, DetectorPreprocess(size=96))
    assert out.shape == (96, 96, 3) and out[0, 0, 0] == 200 and out[0, 0, 2] == 0


@pytest.mark.parametrize("bad", [np.zeros((10, 10), np.uint8), np.zeros((10, 10, 3), np.float32)])
def test_bad_frames_are_refused(bad):
    with pytest.raises(ValueError, match="frame"):
        lane_input(bad)


def test_invalid_config_names_the_field():
    with pytest.raises(ValueError, match="crop_top"):
        LanePreprocess(crop_top=0.9, crop_bottom=0.5)
