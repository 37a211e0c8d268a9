"""Lane model latency on LiteRT (one thread, XNNPACK for float), as the car runs it.

Times `LaneModel.predict` (model only) and `LaneModel.steer` (preprocessing + model)
for every shipped export in models/, on simulator frames.

    .venv/bin/python benchmarks/lane_model.py [--runs 2000]
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
from sim.path import RoutePath  # noqa: E402
from sim.render import Renderer  # noqa: E402
from sim.routes import random_route  # noqa: E402
from vehicle.perception import lane_input  # noqa: E402
from vehicle.perception.lane_model import LaneModel  # noqa: E402


def frames(count: int) -> list[np.ndarray]:
    city = default_city()
    rng = np.random.default_rng(5)
    renderer = Renderer(city)
    path = RoutePath.from_route(city, random_route(city, rng))
    return [renderer.render(path.pose_at(s)).image for s in np.linspace(0, path.length, count)]


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
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    images = frames(64)
    inputs = [lane_input(f) for f in images]
    commands = ("straight", "left", "right")
    print(f"\n### Lane model on LiteRT — {date.today()} — {platform.machine()}, one thread\n")
    print("| export | size (KiB) | model p50 / p99 (ms) | preprocess + model p50 / p99 (ms) |")
    print("|---|---:|---:|---:|")
    for name in ("lane_float32", "lane_float16", "lane_int8"):
        path = ROOT / "models" / f"{name}.tflite"
        model = LaneModel(path)
        for i in range(50):
            model.predict(inputs[i % len(inputs)], commands[i % 3])
        p50, p99 = timed(lambda i, m=model: m.predict(inputs[i % 64], commands[i % 3]), args.runs)
        s50, s99 = timed(lambda i, m=model: m.steer(images[i % 64], commands[i % 3]), args.runs)
        size = path.stat().st_size // 1024
        print(f"| `{name}.tflite` | {size} | {p50:.3f} / {p99:.3f} | {s50:.3f} / {s99:.3f} |")


if __name__ == "__main__":
    main()
