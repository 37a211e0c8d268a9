"""What `pixelopolis train detect` does, as one typed configuration checked at start."""

from __future__ import annotations

from dataclasses import dataclass, field

from training.lane.config import STRATEGIES, TrainingError
from vehicle.perception import DetectorPreprocess


@dataclass(frozen=True)
class DetectTrainConfig:
    """Every field has a default that trains the shipped detector (docs/training.md)."""

    epochs: int = 12
    batch_size: int = 16
    learning_rate: float = 2e-3  # peak of the cosine schedule (after warm-up)
    warmup_steps: int = 300
    weight_decay: float = 1e-4
    class_ce_weight: float = 1.0  # softmax cross-entropy on positives (training/detect/loss.py)
    alpha: float = 0.5  # MobileNetV2 width multiplier
    seed: int = 0
    augment: bool = True
    patience: int = 4  # epochs without validation improvement before stopping
    steps_per_epoch: int | None = None  # None: one pass over the training split
    max_images: int | None = None  # use only the first N images of each split
    strategy: str = "auto"
    calibration_images: int = 200  # int8 representative data (from the training split)
    parity_images: int = 20  # validation images every export is compared on
    eval_images: int | None = None  # validation images scored for mAP (None: all)
    latency_runs: int = 200
    # Backbone pretraining on crops of the objects (training/detect/pretrain.py); 0: none.
    pretrain_steps: int = 6000
    pretrain_batch_size: int = 32
    preprocess: DetectorPreprocess = field(default_factory=lambda: DetectorPreprocess(size=224))

    def __post_init__(self) -> None:
        positive = ("epochs", "batch_size", "calibration_images", "parity_images")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise TrainingError(f"{name}: must be a positive integer, got {value!r}")
        for name in ("steps_per_epoch", "max_images", "eval_images"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value <= 0):
                raise TrainingError(f"{name}: must be a positive integer or unset, got {value!r}")
        if not 0 < self.learning_rate < 1:
            raise TrainingError(f"learning_rate: must be in (0, 1), got {self.learning_rate}")
        if not isinstance(self.pretrain_batch_size, int) or self.pretrain_batch_size <= 0:
            raise TrainingError(
                f"pretrain_batch_size: must be a positive integer, got {self.pretrain_batch_size!r}"
            )
        for name in (
            "warmup_steps",
            "weight_decay",
            "latency_runs",
            "pretrain_steps",
            "class_ce_weight",
        ):
            if getattr(self, name) < 0:
                raise TrainingError(f"{name}: must be 0 or more, got {getattr(self, name)}")
        if self.alpha not in (0.35, 0.5, 0.75, 1.0):
            raise TrainingError(f"alpha: must be 0.35, 0.5, 0.75 or 1.0, got {self.alpha}")
        if self.patience < 1:
            raise TrainingError("patience: must be at least 1")
        if self.strategy not in STRATEGIES:
            raise TrainingError(f"strategy: must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.preprocess.size % 32:
            raise TrainingError(f"input size: must be a multiple of 32, got {self.preprocess.size}")
