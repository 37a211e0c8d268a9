"""Perception on the car: the one image preprocessing, and (later) the TFLite models."""

from vehicle.perception.preprocess import (
    DetectorPreprocess,
    LanePreprocess,
    detector_input,
    lane_input,
)

__all__ = ["DetectorPreprocess", "LanePreprocess", "detector_input", "lane_input"]
