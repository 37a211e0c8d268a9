"""The lane model on the car: a LiteRT interpreter fed the one preprocessing and the route command.

Any export of `pixelopolis train lane` (float32, float16 or int8) loads here. Inputs and
the output are found through the model's `serving_default` signature by name; quantised
tensors are (de)quantised with the scale and zero point the file declares.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vehicle.perception.preprocess import LanePreprocess, lane_input

COMMANDS = ("straight", "left", "right")  # the order of the model's command one-hot
SIGNATURE = "serving_default"


class LaneModel:
    """Steering in [-1, 1] (+1 = tightest left) from a camera frame and a route command."""

    def __init__(
        self, path: Path | str, *, num_threads: int = 1, preprocess: LanePreprocess | None = None
    ) -> None:
        from ai_edge_litert.interpreter import Interpreter  # XNNPACK is its default CPU path

        self.path = Path(path)
        self.preprocess = preprocess or LanePreprocess()
        self._interpreter = Interpreter(model_path=str(self.path), num_threads=num_threads)
        self._interpreter.allocate_tensors()
        signatures = self._interpreter.get_signature_list()
        if SIGNATURE not in signatures:
            raise ValueError(f"{self.path}: no {SIGNATURE!r} signature; not a lane model")
        runner = self._interpreter.get_signature_runner(SIGNATURE)
        inputs, outputs = runner.get_input_details(), runner.get_output_details()
        if set(inputs) != {"image", "command"} or "steering" not in outputs:
            raise ValueError(f"{self.path}: expected inputs image, command and output steering")
        self._image, self._command, self._steering = (
            inputs["image"],
            inputs["command"],
            outputs["steering"],
        )
        if tuple(self._image["shape"][1:]) != self.preprocess.shape:
            raise ValueError(
                f"{self.path}: input {self._image['shape']} != {self.preprocess.shape}"
            )

    def steer(self, frame_bgr: np.ndarray, command: str) -> float:
        """Steering for a BGR camera frame, prepared by `lane_input` as in training."""
        return self.predict(lane_input(frame_bgr, self.preprocess), command)

    def predict(self, image: np.ndarray, command: str) -> float:
        """Steering for an already prepared lane input (height, width, 3) uint8 YUV."""
        if command not in COMMANDS:
            raise ValueError(f"command: must be one of {COMMANDS}, got {command!r}")
        onehot = np.zeros((1, len(COMMANDS)), np.float32)
        onehot[0, COMMANDS.index(command)] = 1.0
        interpreter = self._interpreter
        interpreter.set_tensor(self._image["index"], _quantise(image[None], self._image))
        interpreter.set_tensor(self._command["index"], _quantise(onehot, self._command))
        interpreter.invoke()
        raw = interpreter.get_tensor(self._steering["index"])
        scale, zero = self._steering["quantization"]
        value = (float(raw.reshape(-1)[0]) - zero) * scale if scale else float(raw.reshape(-1)[0])
        return float(np.clip(value, -1.0, 1.0))


def _quantise(value: np.ndarray, detail: dict) -> np.ndarray:
    dtype = detail["dtype"]
    scale, zero = detail["quantization"]
    if value.dtype == dtype and (not scale or (scale == 1.0 and zero == 0)):
        return value
    if np.issubdtype(dtype, np.integer) and scale:
        info = np.iinfo(dtype)
        value = np.clip(np.round(value.astype(np.float32) / scale + zero), info.min, info.max)
    return value.astype(dtype, copy=False)
