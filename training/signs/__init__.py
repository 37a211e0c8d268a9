"""The sign classifier: the second stage that names the signs in the detector's boxes.

Importing this package does not import TensorFlow; the functions that need it do.
"""

from training.lane.config import TrainingError
from training.signs.config import SignsTrainConfig

__all__ = ["SignsTrainConfig", "TrainingError"]
