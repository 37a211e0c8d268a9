"""Detector latency on LiteRT (one thread, XNNPACK for float), as the car runs it.

Times `Detector.detect_input` (model + post-process op + slicing) and `Detector.detect`
(with the shared `detector_input` preprocessing) for the shipped float32 and int8
exports in models/, on simulator detection scenes.

    .venv/bin/python benchmarks/detector.py [--runs 500]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from city import default_city  # noqa: E402
from sim.datasets.detect import DetectDatasetConfig, _SceneMaker  # noqa: E402
from vehicle.perception import Detector, DetectorConfig, detector_input  # noqa: E402


def frames(count: int) -> list[np.ndarray]:
    """Simulator detection scenes (city views and composites), decoded as the camera gives."""
    import cv2

    maker = _SceneMaker(default_city(), DetectDatasetConfig(images=count, seed=11))
    samples = maker(0)[:count]
    return [cv2.imdecode(np.frombuffer(s.jpeg, np.uint8), cv2.IMREAD_COLOR) for s in samples]


def timed(fn, runs: int) -> tuple[float, float]:
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
    times.sort()
    return 1000 * statistics.median(times), 1000 * times[int(0.99 * (len(times) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--models", default=str(ROOT / "models"), help="folder of the exports")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    images = frames(32)
    folder = Path(args.models)
    print(f"\n### Detector on LiteRT — {date.today()} — {platform.machine()}, one thread\n")
    print("| export | size (KiB) | model p50 / p99 (ms) | preprocess + model p50 / p99 (ms) |")
    print("|---|---:|---:|---:|")
    for name in ("detect_float32", "detect_int8"):
        path = folder / f"{name}.tflite"
        detector = Detector(
            DetectorConfig(
                model=path, labels=folder / "detect_labels.txt", num_threads=1, use_edgetpu=False
            )
        )
        inputs = [detector_input(f, detector.preprocess) for f in images]
        for i in range(30):
            detector.detect_input(inputs[i % len(inputs)])
        n = len(inputs)
        p50, p99 = timed(lambda i, d=detector, x=inputs, n=n: d.detect_input(x[i % n]), args.runs)
        s50, s99 = timed(lambda i, d=detector, n=n: d.detect(images[i % n]), args.runs)
        size = path.stat().st_size // 1024
        print(f"| `{name}.tflite` | {size} | {p50:.2f} / {p99:.2f} | {s50:.2f} / {s99:.2f} |")


if __name__ == "__main__":
    main()
