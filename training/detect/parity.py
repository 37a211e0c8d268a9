"""Detector parity: the raw head outputs of a TFLite export against its Keras source.

Compared are the two tensors the post-process op reads (box encodings and class
scores after the sigmoid), taken from the TFLite interpreter the car uses, against the
Keras model on the same prepared images. float32 must match to 1e-4; int8 is reported
and bounded on the mean (its worst value is reported, and bounded loosely).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.detect.export import POSTPROCESS

TOLERANCE_MAX = {"float32": 1e-4, "int8": 1.5}
TOLERANCE_MEAN = {"float32": 1e-5, "int8": 0.05}


@dataclass(frozen=True)
class DetectParity:
    kind: str
    images: int
    boxes_max_abs: float
    boxes_mean_abs: float
    scores_max_abs: float
    scores_mean_abs: float
    tolerance_max: float
    tolerance_mean: float

    @property
    def ok(self) -> bool:
        worst = max(self.boxes_max_abs, self.scores_max_abs)
        mean = max(self.boxes_mean_abs, self.scores_mean_abs)
        return worst <= self.tolerance_max and mean <= self.tolerance_mean

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def keras_heads(model: Any, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(box encodings, sigmoid scores) of the Keras model, one batched call."""
    out = model.predict(images.astype(np.float32), batch_size=16, verbose=0)
    return np.asarray(out["boxes"]), 1.0 / (1.0 + np.exp(-np.asarray(out["classes"])))


def tflite_heads(path: Path, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The post-process op's inputs in a TFLite file, image by image (LiteRT, XNNPACK)."""
    from ai_edge_litert.interpreter import Interpreter

    from vehicle.perception.lane_model import _quantise

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    post = [op for op in interpreter._get_ops_details() if op["op_name"] == POSTPROCESS]
    if not post:
        raise ValueError(f"{path}: no {POSTPROCESS} op")
    box_index, score_index = post[0]["inputs"][:2]
    detail = interpreter.get_input_details()[0]
    boxes, scores = [], []
    for image in images:
        interpreter.set_tensor(detail["index"], _quantise(image[None], detail))
        interpreter.invoke()
        boxes.append(interpreter.get_tensor(box_index)[0].astype(np.float32))
        scores.append(interpreter.get_tensor(score_index)[0].astype(np.float32))
    return np.stack(boxes), np.stack(scores)


def check_detect_parity(
    kind: str, path: Path, reference: tuple[np.ndarray, np.ndarray], images: np.ndarray
) -> DetectParity:
    boxes, scores = tflite_heads(path, images)
    db = np.abs(boxes - reference[0])
    ds = np.abs(scores - reference[1])
    return DetectParity(
        kind=kind,
        images=len(images),
        boxes_max_abs=float(db.max()),
        boxes_mean_abs=float(db.mean()),
        scores_max_abs=float(ds.max()),
        scores_mean_abs=float(ds.mean()),
        tolerance_max=TOLERANCE_MAX[kind],
        tolerance_mean=TOLERANCE_MEAN[kind],
    )
