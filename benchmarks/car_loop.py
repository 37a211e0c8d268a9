"""Per-frame processing of the car loop on one core, beside donkeycar's vehicle loop.

Ours: lane model + detector + sign classifier (names the detector's sign boxes) +
localization + planner + annotation + JPEG (the stream's
encode), on simulator frames of a drive with other cars in view, pinned to one core —
what `CarRuntime.step` does between reading a frame and the next, minus the I/O.

Side by side, in the same run (when `--donkeycar-python` points at a venv where
`pip install donkeycar==5.3.0` was run — see docs/benchmarks.md): donkeycar's
`Vehicle` loop with its KerasLinear pilot converted to TFLite, on the same frames.
Pixelopolis's own loop slept 30 ms per frame, so it could not exceed ~33 frames/s
whatever the models cost.

    .venv/bin/python benchmarks/car_loop.py [--frames 1500] [--donkeycar-python PY] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from city import default_city  # noqa: E402
from sim.path import RoutePath  # noqa: E402
from sim.render import CarBody, Renderer  # noqa: E402
from sim.routes import random_route  # noqa: E402
from vehicle.annotate import annotate  # noqa: E402
from vehicle.config import CarConfig  # noqa: E402
from vehicle.perception.detector import Detector, DetectorConfig  # noqa: E402
from vehicle.perception.lane_model import LaneModel  # noqa: E402
from vehicle.perception.sign_classifier import SignClassifier  # noqa: E402
from vehicle.planner import Planner, PlannerInput  # noqa: E402

DONKEY_SCRIPT = Path(__file__).with_name("donkeycar_loop.py")


def drive_frames(count: int) -> tuple[list[np.ndarray], dict]:
    """Frames along a route, another car 0.6 m ahead of the camera; and the route."""
    city = default_city()
    rng = np.random.default_rng(11)
    renderer = Renderer(city)
    route = random_route(city, rng, min_length_m=6.0)
    path = RoutePath.from_route(city, route)
    frames = []
    for s in np.linspace(0, path.length - 0.7, count):
        ahead = path.pose_at(min(path.length, s + 0.6))
        frames.append(renderer.render(path.pose_at(s), cars=[CarBody("b", ahead)]).image)
    return frames, {"id": "bench", "route": route.to_dict(), "destination": route.goal}


def percentiles(ms: list[float]) -> dict[str, float]:
    arr = np.asarray(ms)
    return {
        "p50_ms": round(float(np.percentile(arr, 50)), 3),
        "p99_ms": round(float(np.percentile(arr, 99)), 3),
        "fps": round(1000.0 / float(arr.mean()), 1),
    }


def ours(frames: list[np.ndarray], assignment: dict, runs: int) -> dict[str, dict[str, float]]:
    lane = LaneModel(ROOT / "models" / "lane_int8.tflite")
    detector = Detector(DetectorConfig(min_score=CarConfig().detector.min_score))
    classifier = SignClassifier()
    planner = Planner()
    keys = ("lane", "detect", "classify", "plan", "annotate_jpeg")
    stages: dict[str, list[float]] = {k: [] for k in keys}
    total: list[float] = []
    command = "straight"
    for i in range(runs):
        image = frames[i % len(frames)]
        t0 = time.perf_counter()
        steering = lane.steer(image, command)
        t1 = time.perf_counter()
        detections = detector.detect(image)
        t15 = time.perf_counter()
        detections = classifier.relabel(image, detections)
        t2 = time.perf_counter()
        out = planner.step(
            PlannerInput(
                now=i * 0.05,
                assignment=assignment,
                steering=steering,
                detections=detections,
                odometry_m=i * 0.008,
                reservation_granted=True,
                server_ok=True,
            )
        )
        command = out.command
        t3 = time.perf_counter()
        view = annotate(image, detections, steering=steering, command=command, state="driving")
        cv2.imencode(".jpg", view, [cv2.IMWRITE_JPEG_QUALITY, 70])
        t4 = time.perf_counter()
        times = (t1 - t0, t15 - t1, t2 - t15, t3 - t2, t4 - t3)
        for key, dt in zip(stages, times, strict=True):
            stages[key].append(dt * 1000)
        total.append((t4 - t0) * 1000)
    result = {k: percentiles(v) for k, v in stages.items()}
    result["total"] = percentiles(total)
    return result


def donkeycar(python: str, frames: list[np.ndarray], runs: int) -> dict | None:
    """donkeycar's Vehicle loop + TFLite KerasLinear pilot, in its own venv."""
    with tempfile.TemporaryDirectory() as tmp:
        stack = Path(tmp) / "frames.npy"
        np.save(stack, np.stack(frames[:200]))
        cmd = [python, str(DONKEY_SCRIPT), "--frames", str(stack), "--runs", str(runs)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        print(f"donkeycar run failed:\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1500, help="frames to time")
    parser.add_argument("--donkeycar-python", help="python of a venv with donkeycar==5.3.0")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    frames, assignment = drive_frames(300)
    results = {"pixelopolis": ours(frames, assignment, args.frames)}
    if args.donkeycar_python:
        results["donkeycar"] = donkeycar(args.donkeycar_python, frames, args.frames)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"\n### Car loop per frame — {date.today()} — {platform.machine()}, one core\n")
    print("| loop | stage | p50 (ms) | p99 (ms) | frames/s |")
    print("|---|---|---:|---:|---:|")
    for who, stages in results.items():
        if stages is None:
            continue
        for stage, v in stages.items():
            print(f"| {who} | {stage} | {v['p50_ms']} | {v['p99_ms']} | {v['fps']} |")
    print("| Pixelopolis (original) | sleep per frame | 30 | 30 | ≤ 33 |")


if __name__ == "__main__":
    main()
