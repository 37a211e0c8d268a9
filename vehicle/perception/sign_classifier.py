"""The second stage of sign recognition: names the sign inside each box the detector found.

The SSD finds signs reliably but names them poorly (docs/training.md: the right class
first for under half of the near signs, most errors a wrong colour), while a small CNN
on a crop of the box names them well. So the car crops every sign box
(`preprocess.sign_crop`, the same function training uses), classifies it, and keeps the
detector's box with the classifier's label. The classifier's last class, `background`,
rejects boxes with no sign in them. Car boxes pass through untouched.

Any export of `pixelopolis train signs` (float32 or int8) loads here: input `image`
(1, S, S, 3) uint8 RGB, output `probs` (1, K) softmax over `signs_labels.txt`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vehicle.perception.detections import CAR_LABEL, Detection, ObjectDetector
from vehicle.perception.lane_model import _quantise
from vehicle.perception.preprocess import SignCropPreprocess, sign_crop

MODELS_DIR = Path(__file__).resolve().parent.parent.parent / "models"
BACKGROUND = "background"
SIGNATURE = "serving_default"


@dataclass(frozen=True)
class SignClassifierConfig:
    """Which classifier file to run; the defaults run the shipped int8 model.

    The detector's own threshold decides that a box holds an object; the classifier
    decides which sign it is: a sign box takes the classifier's most likely class and
    its probability as label and score, and is dropped when that class is `background`
    or its probability is under `min_prob`.
    """

    model: Path = MODELS_DIR / "signs_int8.tflite"
    labels: Path = MODELS_DIR / "signs_labels.txt"
    min_prob: float = 0.5
    num_threads: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "model", Path(self.model))
        object.__setattr__(self, "labels", Path(self.labels))
        if not 0.0 <= self.min_prob <= 1.0:
            raise ValueError(f"min_prob: must be in [0, 1], got {self.min_prob}")
        if not isinstance(self.num_threads, int) or self.num_threads < 1:
            raise ValueError(f"num_threads: must be at least 1, got {self.num_threads}")


class SignClassifier:
    """Class probabilities for sign crops, and detections relabelled with them."""

    def __init__(self, config: SignClassifierConfig | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.config = config = config or SignClassifierConfig()
        if not config.model.is_file():
            raise FileNotFoundError(f"{config.model}: no sign classifier model")
        if not config.labels.is_file():
            raise FileNotFoundError(f"{config.labels}: no sign classifier labels")
        self.labels = [s.strip() for s in config.labels.read_text().splitlines() if s.strip()]
        self._interpreter = Interpreter(
            model_path=str(config.model), num_threads=config.num_threads
        )
        self._interpreter.allocate_tensors()
        if SIGNATURE not in self._interpreter.get_signature_list():
            raise ValueError(f"{config.model}: no {SIGNATURE!r} signature; not a sign classifier")
        runner = self._interpreter.get_signature_runner(SIGNATURE)
        inputs, outputs = runner.get_input_details(), runner.get_output_details()
        if "image" not in inputs or "probs" not in outputs:
            raise ValueError(f"{config.model}: expected input image and output probs")
        self._image, self._probs = inputs["image"], outputs["probs"]
        shape = tuple(int(v) for v in self._image["shape"])
        if len(shape) != 4 or shape[0] != 1 or shape[1] != shape[2] or shape[3] != 3:
            raise ValueError(f"{config.model}: input {shape} is not (1, S, S, 3)")
        n_out = int(self._probs["shape"][-1])
        if n_out != len(self.labels):
            raise ValueError(
                f"{config.labels}: {len(self.labels)} labels for {n_out} model outputs"
            )
        self.preprocess = SignCropPreprocess(size=shape[1])

    def probabilities(self, crop: np.ndarray) -> np.ndarray:
        """Class probabilities (K,) for one prepared crop (S, S, 3) uint8 RGB."""
        interpreter = self._interpreter
        interpreter.set_tensor(self._image["index"], _quantise(crop[None], self._image))
        interpreter.invoke()
        raw = interpreter.get_tensor(self._probs["index"]).reshape(-1).astype(np.float32)
        scale, zero = self._probs["quantization"]
        return (raw - zero) * scale if scale else raw

    def classify(
        self, frame_bgr: np.ndarray, box: tuple[float, float, float, float]
    ) -> tuple[str, float]:
        """The most likely class of the sign in `box` and its probability."""
        probs = self.probabilities(sign_crop(frame_bgr, box, self.preprocess))
        k = int(np.argmax(probs))
        return self.labels[k], float(probs[k])

    def relabel(self, frame_bgr: np.ndarray, detections: Sequence[Detection]) -> list[Detection]:
        """The detections with every sign box named by the classifier.

        Boxes the classifier calls background, or names with less than `min_prob`, are
        dropped; car boxes are kept as they are. Order: best score first.
        """
        out: list[Detection] = []
        for det in detections:
            if det.label == CAR_LABEL:
                out.append(det)
                continue
            label, prob = self.classify(frame_bgr, det.box)
            if label == BACKGROUND or prob < self.config.min_prob:
                continue
            out.append(Detection(label, prob, det.box))
        out.sort(key=lambda d: d.score, reverse=True)
        return out


class TwoStageDetector:
    """A detector whose sign boxes are named by a `SignClassifier` (same `detect` call)."""

    def __init__(self, detector: ObjectDetector, classifier: SignClassifier) -> None:
        self.detector, self.classifier = detector, classifier

    def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
        return self.classifier.relabel(frame_bgr, self.detector.detect(frame_bgr))
