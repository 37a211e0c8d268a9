"""Per-frame latency of an export in the car runtime (LiteRT, one thread, XNNPACK)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vehicle.perception.lane_model import LaneModel


def lane_latency_ms(path: Path, image: np.ndarray, *, runs: int = 300) -> dict[str, float]:
    """Median and 90th-percentile milliseconds of `LaneModel.predict` after a warm-up."""
    model = LaneModel(path, num_threads=1)
    for _ in range(20):
        model.predict(image, "straight")
    times = []
    for i in range(runs):
        start = time.perf_counter()
        model.predict(image, ("straight", "left", "right")[i % 3])
        times.append((time.perf_counter() - start) * 1000.0)
    return {
        "median_ms": round(float(np.median(times)), 3),
        "p90_ms": round(float(np.percentile(times, 90)), 3),
        "runs": runs,
    }


def call_latency_ms(
    call: Callable[[], object], *, runs: int = 300, warmup: int = 20
) -> dict[str, float]:
    """Median and 90th-percentile milliseconds of `call()` after `warmup` calls: for any
    runner (the sign classifier's `probabilities`, say) timed the way the lane model is."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000.0)
    return {
        "median_ms": round(float(np.median(times)), 3),
        "p90_ms": round(float(np.percentile(times, 90)), 3),
        "runs": runs,
    }
