"""Simulator throughput: lane frames and detection images per second per core, and memory.

Lane frames are timed as the generator makes them (render + randomise + JPEG +
manifest record, the ego car's and the traffic's simulation, each episode's new look),
on one core, without process start-up. Detection images likewise (scene + annotation
XML + JPEG, one look per 64 images). The process is set up as the generators set up
theirs (`prepare_process`: OpenCV single-threaded).

Rates are per CPU second of the process (what one core does when it has it to itself;
on a shared machine the wall-clock rate also counts the time other jobs took the
core) and per wall second. The memory run generates a long lane dataset with all cores
and samples the resident memory of the whole process tree.

    .venv/bin/python benchmarks/sim.py [--frames 10000] [--images 1024] [--long 100000]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from city import default_city  # noqa: E402
from sim.datasets.detect import DetectDatasetConfig, _SceneMaker  # noqa: E402
from sim.datasets.lane import LaneDatasetConfig, _EpisodeMaker, generate_lane_dataset  # noqa: E402
from sim.datasets.parallel import prepare_process  # noqa: E402


def pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def lane_rate(frames: int) -> tuple[float, float]:
    """(frames per CPU second, frames per wall second)."""
    maker = _EpisodeMaker(default_city(), LaneDatasetConfig(frames=frames, seed=11))
    maker(10_000)  # warm up: textures, caches
    done, episode = 0, 0
    cpu, wall = time.process_time(), time.perf_counter()
    while done < frames:
        done += len(maker(episode).records)
        episode += 1
    return done / (time.process_time() - cpu), done / (time.perf_counter() - wall)


def detect_rate(images: int) -> tuple[float, float]:
    """(images per CPU second, images per wall second)."""
    maker = _SceneMaker(default_city(), DetectDatasetConfig(images=images + 64, seed=11))
    maker(0)
    cpu, wall = time.process_time(), time.perf_counter()
    done = sum(len(maker(chunk)) for chunk in range(1, 1 + images // 64))
    return done / (time.process_time() - cpu), done / (time.perf_counter() - wall)


def rss_tree_mb() -> float:
    """Resident memory of this process and its children, MB (Linux /proc)."""
    total = 0
    pids = [os.getpid()]
    try:
        children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()
        pids += [int(p) for p in children]
    except OSError:
        pass
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def long_run(frames: int) -> tuple[float, list[float]]:
    samples: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(2.0):
            samples.append(rss_tree_mb())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        generate_lane_dataset(Path(tmp) / "ds", LaneDatasetConfig(frames=frames, seed=5))
        elapsed = time.perf_counter() - started
    stop.set()
    return frames / elapsed, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10000)
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--long", type=int, default=0, help="frames of the memory run (0: skip)")
    args = parser.parse_args()

    prepare_process()  # as the generators set their processes up
    long_result = long_run(args.long) if args.long else None
    pin_one_core()
    (lane, lane_wall), (detect, detect_wall) = lane_rate(args.frames), detect_rate(args.images)
    print(
        f"\n### Simulator — {date.today()} — {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}\n"
    )
    print("One core, OpenCV single-threaded.\n")
    print("| what | per CPU second | per wall second | target | vs real time (20 frames/s) |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| lane frames/s (320x240, render + randomise + JPEG + record) | {lane:.0f} | "
        f"{lane_wall:.0f} | 800 | {lane / 20:.0f}x |"
    )
    print(
        f"| detection images/s (scene + VOC XML + JPEG) | {detect:.0f} | {detect_wall:.0f} | "
        "300 | |"
    )
    if long_result:
        rate, samples = long_result
        print(
            f"\nMemory run: {args.long} lane frames with all cores at {rate:.0f} frames/s; "
            f"resident memory of the process tree (MB), sampled every 2 s: first "
            f"{samples[0]:.0f}, median {sorted(samples)[len(samples) // 2]:.0f}, "
            f"last {samples[-1]:.0f}, max {max(samples):.0f}"
        )


if __name__ == "__main__":
    main()
