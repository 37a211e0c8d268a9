"""Perception on the car: the one image preprocessing, and the TFLite models."""

from vehicle.perception.detector import Detector, DetectorConfig
from vehicle.perception.preprocess import (
    DetectorPreprocess,
    LanePreprocess,
    detector_input,
    lane_input,
)

__all__ = [
    "Detector",
    "DetectorConfig",
    "DetectorPreprocess",
    "LanePreprocess",
    "detector_input",
    "lane_input",
]
