"""What `pixelopolis train signs` does, as one typed configuration checked at start."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from training.lane.config import TrainingError
from vehicle.perception.detector import MODELS_DIR
from vehicle.perception.preprocess import SignCropPreprocess


@dataclass(frozen=True)
class SignsTrainConfig:
    """Every field has a default that trains the shipped sign classifier (docs/training.md)."""

    steps: int = 3000
    batch_size: int = 128
    learning_rate: float = 3e-3  # peak of the cosine schedule (after warm-up)
    warmup_steps: int = 100
    dropout: float = 0.3
    seed: int = 0
    augment: bool = True
    # Crops: a detector's box is off by some share of its size, so training boxes are the
    # true ones shifted and scaled by up to `jitter` of their size, redrawn until their
    # IoU with the truth is at least `min_iou`. `draws` such boxes per sign are cropped
    # once and kept in memory (and as many background boxes per image).
    jitter: float = 0.15
    min_iou: float = 0.6
    draws: int = 4
    # Background crops (car boxes, and random sign-sized boxes overlapping no sign by
    # IoU `background_max_iou` or more) make up this share of every batch.
    background_share: float = 0.22
    background_max_iou: float = 0.2
    max_images: int | None = None  # use only the first N images of each split
    eval_every: int = 250  # steps between validation passes (history.csv)
    calibration_crops: int = 400  # int8 representative data (training crops)
    latency_runs: int = 1000
    # The two-stage measurement: the shipped detector on the first `pipeline_images`
    # validation images (0: skip), its boxes kept from `detector_min_score`, signs
    # counted as near from `near_height` of the frame tall.
    pipeline_images: int = 600
    detector: Path = MODELS_DIR / "detect_int8.tflite"
    detector_labels: Path = MODELS_DIR / "detect_labels.txt"
    detector_min_score: float = 0.3
    near_height: float = 0.10
    crop: SignCropPreprocess = field(default_factory=SignCropPreprocess)

    def __post_init__(self) -> None:
        object.__setattr__(self, "detector", Path(self.detector))
        object.__setattr__(self, "detector_labels", Path(self.detector_labels))
        for name in ("steps", "batch_size", "draws", "eval_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise TrainingError(f"{name}: must be a positive integer, got {value!r}")
        for name in ("warmup_steps", "calibration_crops", "latency_runs", "pipeline_images"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise TrainingError(f"{name}: must be 0 or a positive integer, got {value!r}")
        if self.max_images is not None and (
            not isinstance(self.max_images, int) or self.max_images <= 0
        ):
            raise TrainingError(
                f"max_images: must be a positive integer or unset, got {self.max_images!r}"
            )
        if not 0 < self.learning_rate < 1:
            raise TrainingError(f"learning_rate: must be in (0, 1), got {self.learning_rate}")
        if not 0 <= self.dropout < 1:
            raise TrainingError(f"dropout: must be in [0, 1), got {self.dropout}")
        if not 0 <= self.jitter <= 0.5:
            raise TrainingError(f"jitter: must be in [0, 0.5], got {self.jitter}")
        if not 0 < self.min_iou <= 1:
            raise TrainingError(f"min_iou: must be in (0, 1], got {self.min_iou}")
        if not 0 <= self.background_share < 1:
            raise TrainingError(f"background_share: must be in [0, 1), got {self.background_share}")
        if not 0 < self.background_max_iou < self.min_iou:
            raise TrainingError(
                f"background_max_iou: must be in (0, min_iou), got {self.background_max_iou}"
            )
        for name in ("detector_min_score", "near_height"):
            if not 0 <= getattr(self, name) <= 1:
                raise TrainingError(f"{name}: must be in [0, 1], got {getattr(self, name)}")
