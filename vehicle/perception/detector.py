"""The sign-and-car detector on the car: LiteRT with the model's own post-process op.

Runs any export of `pixelopolis train detect` (float32 or int8) or any TFLite SSD with the
`TFLite_Detection_PostProcess` outputs (boxes, classes, scores, count). Outputs are read
by signature name (by the post-process op's output order for files without one), and
always cut to `count`: the rows after it are garbage. The Edge TPU delegate is tried when
asked; without it (no libedgetpu here) the model runs on the CPU through XNNPACK.
"""

from __future__ import annotations

import ctypes
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vehicle.perception.detections import Detection
from vehicle.perception.lane_model import _quantise
from vehicle.perception.preprocess import DetectorPreprocess, detector_input

log = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parent.parent.parent / "models"
EDGETPU_LIBRARY = "libedgetpu.so.1"
OUTPUTS = ("boxes", "classes", "scores", "count")
POSTPROCESS = "TFLite_Detection_PostProcess"


@dataclass(frozen=True)
class DetectorConfig:
    """Which detector file to run and how; the defaults run the shipped int8 model."""

    model: Path = MODELS_DIR / "detect_int8.tflite"
    labels: Path = MODELS_DIR / "detect_labels.txt"
    min_score: float = 0.5
    num_threads: int = 1
    use_edgetpu: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "model", Path(self.model))
        object.__setattr__(self, "labels", Path(self.labels))
        if not 0.0 <= self.min_score <= 1.0:
            raise ValueError(f"min_score: must be in [0, 1], got {self.min_score}")
        if not isinstance(self.num_threads, int) or self.num_threads < 1:
            raise ValueError(f"num_threads: must be at least 1, got {self.num_threads}")


class Detector:
    """Labelled, scored boxes (normalised ymin, xmin, ymax, xmax) in a BGR camera frame."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter, load_delegate

        self.config = config = config or DetectorConfig()
        if not config.model.is_file():
            raise FileNotFoundError(f"{config.model}: no detector model")
        if not config.labels.is_file():
            raise FileNotFoundError(f"{config.labels}: no detector labels")
        self.labels = [s.strip() for s in config.labels.read_text().splitlines() if s.strip()]
        delegates = []
        self.on_edgetpu = False
        if config.use_edgetpu:
            try:
                # Loading the library first: a failed load_delegate leaves a half-built
                # Delegate whose destructor prints a traceback.
                ctypes.CDLL(EDGETPU_LIBRARY)
                delegates = [load_delegate(EDGETPU_LIBRARY)]
                self.on_edgetpu = True
            except (OSError, ValueError) as exc:
                log.warning("Edge TPU delegate unavailable (%s); running on the CPU", exc)
        self._interpreter = Interpreter(
            model_path=str(config.model),
            num_threads=config.num_threads,
            experimental_delegates=delegates or None,
        )
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]
        shape = tuple(int(v) for v in self._input["shape"])
        if len(shape) != 4 or shape[0] != 1 or shape[1] != shape[2] or shape[3] != 3:
            raise ValueError(f"{config.model}: input {shape} is not (1, S, S, 3)")
        self.preprocess = DetectorPreprocess(size=shape[1])
        self._outputs = self._find_outputs()

    def _find_outputs(self) -> dict[str, int]:
        interpreter = self._interpreter
        signatures = interpreter.get_signature_list()
        if "serving_default" in signatures:
            outs = interpreter.get_signature_runner("serving_default").get_output_details()
            if set(OUTPUTS) <= set(outs):
                return {name: int(outs[name]["index"]) for name in OUTPUTS}
        # No named signature (e.g. a TF OD API file): the op's outputs are in this order.
        for op in interpreter._get_ops_details():
            if op["op_name"] == POSTPROCESS:
                return dict(zip(OUTPUTS, (int(i) for i in op["outputs"]), strict=True))
        raise ValueError(f"{self.config.model}: no {POSTPROCESS} outputs (boxes, classes, ...)")

    def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
        """Detections scoring at least `min_score` in a BGR frame, best first."""
        return self.detect_input(detector_input(frame_bgr, self.preprocess))

    def detect_input(self, image: np.ndarray, *, min_score: float | None = None) -> list[Detection]:
        """Detections in an already prepared detector input (S, S, 3) uint8 RGB."""
        threshold = self.config.min_score if min_score is None else min_score
        interpreter = self._interpreter
        interpreter.set_tensor(self._input["index"], _quantise(image[None], self._input))
        interpreter.invoke()
        get = interpreter.get_tensor
        count = int(np.asarray(get(self._outputs["count"])).reshape(-1)[0])
        boxes = np.asarray(get(self._outputs["boxes"])).reshape(-1, 4)
        count = max(0, min(count, len(boxes)))
        boxes = np.clip(boxes[:count], 0.0, 1.0)
        classes = np.asarray(get(self._outputs["classes"])).reshape(-1)[:count]
        scores = np.asarray(get(self._outputs["scores"])).reshape(-1)[:count]
        found = []
        for box, cls, score in zip(boxes, classes, scores, strict=True):
            k = int(round(float(cls)))
            if score < threshold or not 0 <= k < len(self.labels):
                continue
            ymin, xmin, ymax, xmax = (float(v) for v in box)
            if ymax < ymin or xmax < xmin:
                continue
            found.append(Detection(self.labels[k], float(score), (ymin, xmin, ymax, xmax)))
        found.sort(key=lambda d: d.score, reverse=True)
        return found
