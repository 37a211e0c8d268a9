"""What `pixelopolis train lane` does, as one typed configuration checked at start."""

from __future__ import annotations

from dataclasses import dataclass, field

from vehicle.perception import LanePreprocess

ACTIVATIONS = ("relu", "elu")
STRATEGIES = ("auto", "mirrored", "multi-worker", "default")


class TrainingError(Exception):
    """Bad training input: a missing dataset, invalid settings, an unusable split."""


@dataclass(frozen=True)
class LaneTrainConfig:
    """Every field has a default that trains the shipped lane model (docs/training.md)."""

    epochs: int = 40
    batch_size: int = 128
    learning_rate: float = 1e-3
    # ReLU quantises to a full-integer model the Edge TPU runs; "elu" is Pixelopolis's
    # original network, kept as the float baseline.
    activation: str = "relu"
    dropout: float = 0.3
    # Convolution filters x width (1 = Pixelopolis's 24/36/48/64/64; smaller runs faster).
    width: float = 1.0
    val_share: float = 0.15  # share of episodes (whole drives) held out for validation
    seed: int = 0
    # 0 = sample frames as recorded, 1 = every steering bin equally often.
    balance: float = 0.6
    balance_bins: int = 20
    # 0 = commands as recorded, 1 = frames of each route command drawn equally often.
    command_balance: float = 1.0
    max_repeat: float = 5.0  # cap on how often one frame is drawn per epoch
    augment: bool = True
    patience: int = 8  # epochs without validation improvement before stopping
    lr_patience: int = 3
    steps_per_epoch: int | None = None  # None: one pass over the balanced training set
    max_frames: int | None = None  # use only the first N frames of each dataset's manifest
    strategy: str = "auto"
    calibration_frames: int = 400  # int8 representative data (from the training split)
    parity_frames: int = 300  # validation frames every export is compared on
    latency_runs: int = 300
    preprocess: LanePreprocess = field(default_factory=LanePreprocess)

    def __post_init__(self) -> None:
        positive = ("epochs", "batch_size", "balance_bins", "calibration_frames", "parity_frames")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise TrainingError(f"{name}: must be a positive integer, got {value!r}")
        for name in ("steps_per_epoch", "max_frames"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value <= 0):
                raise TrainingError(f"{name}: must be a positive integer or unset, got {value!r}")
        if not 0 < self.learning_rate < 1:
            raise TrainingError(f"learning_rate: must be in (0, 1), got {self.learning_rate}")
        if self.activation not in ACTIVATIONS:
            raise TrainingError(
                f"activation: must be one of {ACTIVATIONS}, got {self.activation!r}"
            )
        if not 0.1 <= self.width <= 2:
            raise TrainingError(f"width: must be in [0.1, 2], got {self.width}")
        if not 0 <= self.dropout < 1:
            raise TrainingError(f"dropout: must be in [0, 1), got {self.dropout}")
        if not 0 < self.val_share < 1:
            raise TrainingError(f"val_share: must be in (0, 1), got {self.val_share}")
        if not 0 <= self.balance <= 1:
            raise TrainingError(f"balance: must be in [0, 1], got {self.balance}")
        if not 0 <= self.command_balance <= 1:
            raise TrainingError(f"command_balance: must be in [0, 1], got {self.command_balance}")
        if self.max_repeat < 1:
            raise TrainingError(f"max_repeat: must be at least 1, got {self.max_repeat}")
        if self.patience < 1 or self.lr_patience < 1:
            raise TrainingError("patience, lr_patience: must be at least 1")
        if self.latency_runs < 0:
            raise TrainingError(f"latency_runs: must be 0 or more, got {self.latency_runs}")
        if self.strategy not in STRATEGIES:
            raise TrainingError(f"strategy: must be one of {STRATEGIES}, got {self.strategy!r}")
