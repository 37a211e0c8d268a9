"""The sign-and-car detector: SSDLite on a MobileNetV2 backbone, trained on VOC data.

Importing this package does not import TensorFlow; the functions that need it do.
"""

from training.detect.config import DetectTrainConfig
from training.lane.config import TrainingError

__all__ = ["DetectTrainConfig", "TrainingError"]
