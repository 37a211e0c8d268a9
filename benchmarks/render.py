"""Renderer throughput on one core: lane-style and detection-style frames, as a Markdown table.

    .venv/bin/python benchmarks/render.py [--frames 2000] [--seed 0]

Lane frames: render + the look's per-frame effects + JPEG (quality 85), no annotation.
Detection frames: the same with annotate=True and 2-3 other cars near the camera.
Poses are spread along the default city's lanes; looks are fully randomised and change
every 200 frames (the repaint is timed separately, as it happens once per episode).
Rates are from the process's CPU time, so that other load on a shared machine does not
count against the renderer; wall-clock rates are printed alongside.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from city import default_city  # noqa: E402
from sim.appearance import Appearance  # noqa: E402
from sim.pose import Pose  # noqa: E402
from sim.render import CarBody, Renderer  # noqa: E402

COLOURS = ((40, 40, 200), (200, 80, 30), (40, 170, 40), (30, 200, 230), (160, 160, 160))


def lane_poses(city, count: int, rng: np.random.Generator) -> list[Pose]:
    edges = list(city.edges.values())
    poses = []
    for _ in range(count):
        edge = edges[int(rng.integers(len(edges)))]
        x, y, heading, _ = edge.sample(float(rng.uniform(0, edge.lane_length_m)))
        poses.append(
            Pose(x, y, heading).moved(
                left_m=float(rng.normal(0, 0.03)), turn_rad=float(rng.normal(0, 0.1))
            )
        )
    return poses


def cars_ahead(pose: Pose, city, rng: np.random.Generator) -> list[CarBody]:
    edges = list(city.edges.values())
    cars: list[CarBody] = []
    wanted = int(rng.integers(2, 4))
    for _ in range(200):
        if len(cars) == wanted:
            break
        edge = edges[int(rng.integers(len(edges)))]
        x, y, heading, _ = edge.sample(float(rng.uniform(0, edge.lane_length_m)))
        ahead = (x - pose.x) * math.cos(pose.heading) + (y - pose.y) * math.sin(pose.heading)
        if 0.3 < math.hypot(x - pose.x, y - pose.y) < 2.5 and ahead > 0.2:
            colour = COLOURS[len(cars) % len(COLOURS)]
            cars.append(CarBody(f"car-{len(cars)}", Pose(x, y, heading), colour))
    return cars


def run(frames: int, seed: int) -> list[tuple[str, float, float, float]]:
    """Rows of (what, CPU ms per item, items per CPU second, items per wall second)."""
    city = default_city()
    renderer = Renderer(city)
    rng = np.random.default_rng(seed)
    poses = lane_poses(city, frames, rng)
    scenes = [cars_ahead(p, city, rng) for p in poses]
    looks = [Appearance.randomised(rng, 1.0) for _ in range(max(1, frames // 200))]
    params = [cv2.IMWRITE_JPEG_QUALITY, 85]
    rows = []

    cpu, wall = time.process_time(), time.perf_counter()
    for look in looks:
        renderer.set_appearance(look)
    cpu, wall = (time.process_time() - cpu) / len(looks), (time.perf_counter() - wall) / len(looks)
    rows.append(("set_appearance (once per episode)", cpu * 1e3, 1 / cpu, 1 / wall))

    per_look = max(1, frames // len(looks))
    for name, annotate in (("lane frame (render + effects + JPEG)", False),
                           ("detection frame (annotate, 2-3 cars, + JPEG)", True)):  # fmt: skip
        frame_rng = np.random.default_rng(seed + 1)
        cpu_total = wall_total = cpu_render = 0.0
        for start in range(0, frames, per_look):
            renderer.set_appearance(looks[min(start // per_look, len(looks) - 1)])
            renderer.render(poses[start], rng=frame_rng)  # sign faces are made on first use
            batch = range(start, min(frames, start + per_look))
            cpu, wall = time.process_time(), time.perf_counter()
            images = [
                renderer.render(poses[i], cars=scenes[i] if annotate else (), rng=frame_rng,
                                annotate=annotate).image
                for i in batch
            ]  # fmt: skip
            cpu_render += time.process_time() - cpu
            for image in images:
                cv2.imencode(".jpg", image, params)
            cpu_total += time.process_time() - cpu
            wall_total += time.perf_counter() - wall
        rows.append((name, cpu_total / frames * 1e3, frames / cpu_total, frames / wall_total))
        rows.append(("  of which render + effects", cpu_render / frames * 1e3,
                     frames / cpu_render, float("nan")))  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    cv2.setNumThreads(1)
    rows = run(args.frames, args.seed)
    print(f"Renderer on one core, 320x240, default city, {args.frames} frames each\n")
    print("| what | CPU ms per item | items/s (CPU) | items/s (wall) |")
    print("|---|---:|---:|---:|")
    for name, ms, rate, wall_rate in rows:
        wall = "" if math.isnan(wall_rate) else f"{wall_rate:.0f}"
        print(f"| {name} | {ms:.3f} | {rate:.0f} | {wall} |")


if __name__ == "__main__":
    main()
