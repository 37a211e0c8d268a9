"""Runtime parity: every TFLite export against its Keras source, on real dataset frames."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.lane.manifest import COMMANDS
from vehicle.perception.lane_model import LaneModel

# Largest |TFLite - Keras| steering difference allowed per export kind (steering in [-1, 1]).
# float32 differs only by kernel arithmetic; float16 weights round to 11 bits; int8 is
# bounded on the mean (its worst frame is reported, and bounded loosely).
TOLERANCE_MAX = {"float32": 1e-4, "float16": 5e-3, "int8": 0.08}
TOLERANCE_MEAN = {"float32": 1e-5, "float16": 1e-3, "int8": 0.01}


@dataclass(frozen=True)
class Parity:
    kind: str
    frames: int
    max_abs: float
    mean_abs: float
    p99_abs: float
    tolerance_max: float
    tolerance_mean: float

    @property
    def ok(self) -> bool:
        return self.max_abs <= self.tolerance_max and self.mean_abs <= self.tolerance_mean

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def keras_steering(model: Any, images: np.ndarray, commands: np.ndarray) -> np.ndarray:
    """The Keras model's steering for a stack of lane inputs, in one batched call."""
    onehot = np.eye(len(COMMANDS), dtype=np.float32)[commands]
    out = model.predict(
        {"image": images.astype(np.float32), "command": onehot}, batch_size=256, verbose=0
    )
    return np.clip(np.asarray(out).reshape(-1), -1.0, 1.0)


def tflite_steering(path: Path, images: np.ndarray, commands: np.ndarray) -> np.ndarray:
    """The car runtime's steering, frame by frame, as on the road."""
    runner = LaneModel(path)
    return np.array(
        [runner.predict(img, COMMANDS[c]) for img, c in zip(images, commands, strict=True)]
    )


def check_parity(
    kind: str, path: Path, reference: np.ndarray, images: np.ndarray, commands: np.ndarray
) -> Parity:
    """Compare an export with the Keras outputs `reference` on the same frames."""
    diff = np.abs(tflite_steering(path, images, commands) - reference)
    return Parity(
        kind=kind,
        frames=len(diff),
        max_abs=float(diff.max()),
        mean_abs=float(diff.mean()),
        p99_abs=float(np.percentile(diff, 99)),
        tolerance_max=TOLERANCE_MAX[kind],
        tolerance_mean=TOLERANCE_MEAN[kind],
    )
