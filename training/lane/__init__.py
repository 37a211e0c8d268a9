"""The lane model: a conditional PilotNet trained on `pixelopolis sim lane` datasets.

Importing this package does not import TensorFlow; the functions that need it do.
"""

from training.lane.config import LaneTrainConfig, TrainingError
from training.lane.manifest import (
    COMMANDS,
    LaneRecords,
    load_manifest,
    load_manifests,
    split_by_episode,
)

__all__ = [
    "COMMANDS",
    "LaneRecords",
    "LaneTrainConfig",
    "TrainingError",
    "load_manifest",
    "load_manifests",
    "split_by_episode",
]
