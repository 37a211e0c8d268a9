"""donkeycar's vehicle loop with its TFLite KerasLinear pilot, timed per frame.

Runs inside a throwaway venv with `pip install donkeycar==5.3.0 tensorflow-cpu==2.15.1`
(donkeycar 5.4 needs Python >= 3.12), called by benchmarks/car_loop.py. The pilot is
donkeycar's default KerasLinear (untrained: weights do not change its speed), converted
with donkeycar's own `keras_to_tflite`, float and int8 (calibrated on the frames, as
donkeycar does for the Coral). Prints one JSON line: per-frame loop time of each.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", required=True, help=".npy stack of BGR frames")
    parser.add_argument("--runs", type=int, default=1500)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    import cv2
    from donkeycar.parts.interpreter import TfLite, keras_to_tflite
    from donkeycar.parts.keras import KerasLinear
    from donkeycar.vehicle import Vehicle

    frames = np.load(args.frames)
    images = [cv2.resize(f, (160, 120))[:, :, ::-1].copy() for f in frames]  # RGB 160x120
    keras_pilot = KerasLinear()
    model = keras_pilot.interpreter.model

    def calibration():
        for image in images[:100]:
            yield [image[None].astype(np.float32) / 255.0]

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "pilot_float.tflite")
        keras_to_tflite(model, path)
        pilot = KerasLinear(interpreter=TfLite())
        pilot.load(path)
        results["Vehicle loop, KerasLinear TFLite float"] = _loop(Vehicle, pilot, images, args.runs)
        # donkeycar's int8 export takes uint8 pixels, which its KerasLinear.run (it scales
        # to float first) cannot feed: time the model itself, as the Coral path would run it.
        path = str(Path(tmp) / "pilot_int8.tflite")
        keras_to_tflite(model, path, calibration)
        results["KerasLinear TFLite int8, model only"] = _model_only(path, images, args.runs)
    print(json.dumps(results))


def _model_only(path: str, images: list[np.ndarray], runs: int) -> dict[str, float]:
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=path, num_threads=1)
    interpreter.allocate_tensors()
    index = interpreter.get_input_details()[0]["index"]
    times = []
    for i in range(runs + 50):
        t0 = time.perf_counter()
        interpreter.set_tensor(index, images[i % len(images)][None])
        interpreter.invoke()
        times.append(time.perf_counter() - t0)
    gaps = np.asarray(times[50:]) * 1000.0
    return _stats(gaps)


def _stats(gaps: np.ndarray) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(gaps, 50)), 3),
        "p99_ms": round(float(np.percentile(gaps, 99)), 3),
        "fps": round(1000.0 / float(gaps.mean()), 1),
    }


class _Camera:
    def __init__(self, images: list[np.ndarray]) -> None:
        self.images, self.i = images, 0

    def run(self) -> np.ndarray:
        self.i += 1
        return self.images[self.i % len(self.images)]


class _Clock:
    """Records when each loop reaches it: the spacing is the loop's time per frame."""

    def __init__(self) -> None:
        self.stamps: list[float] = []

    def run(self, angle: float, throttle: float) -> None:
        self.stamps.append(time.perf_counter())


def _loop(vehicle_cls, pilot, images, runs: int) -> dict[str, float]:
    v = vehicle_cls()
    clock = _Clock()
    v.add(_Camera(images), outputs=["cam/image_array"])
    v.add(pilot, inputs=["cam/image_array"], outputs=["pilot/angle", "pilot/throttle"])
    v.add(clock, inputs=["pilot/angle", "pilot/throttle"])
    v.start(rate_hz=10_000, max_loop_count=runs + 50, verbose=False)
    if len(clock.stamps) < 60:
        raise RuntimeError(f"donkeycar's loop ran {len(clock.stamps)} frames, not {runs + 50}")
    return _stats(np.diff(np.asarray(clock.stamps[50:])) * 1000.0)


if __name__ == "__main__":
    main()
