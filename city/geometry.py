"""Centreline geometry: straight lines and circular arcs chained end to end.

Coordinates are metres, x east and y north; headings are radians counter-clockwise
from +x; curvature is positive for left (counter-clockwise) bends.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate

import numpy as np

Point = tuple[float, float]
Pose = tuple[float, float, float, float]  # x, y, heading_rad, curvature


def wrap_angle(angle_rad: float) -> float:
    """`angle_rad` normalised to (-pi, pi]."""
    wrapped = math.remainder(angle_rad, math.tau)
    return math.pi if wrapped == -math.pi else wrapped


@dataclass(frozen=True)
class Line:
    """A straight segment from `start` to `end`."""

    start: Point
    end: Point
    length: float = field(init=False, repr=False, compare=False)
    heading: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        dx, dy = self.end[0] - self.start[0], self.end[1] - self.start[1]
        object.__setattr__(self, "length", math.hypot(dx, dy))
        object.__setattr__(self, "heading", math.atan2(dy, dx))

    @property
    def start_heading(self) -> float:
        return self.heading

    @property
    def end_heading(self) -> float:
        return self.heading

    @property
    def curvature(self) -> float:
        return 0.0

    def point_at(self, s: float) -> Pose:
        t = s / self.length if self.length else 0.0
        x = self.start[0] + t * (self.end[0] - self.start[0])
        y = self.start[1] + t * (self.end[1] - self.start[1])
        return x, y, self.heading, 0.0

    def sample(self, n: int) -> np.ndarray:
        """`n + 1` evenly spaced points from start to end, shape (n + 1, 2)."""
        t = np.linspace(0.0, 1.0, n + 1)[:, None]
        return np.asarray(self.start) + t * (np.asarray(self.end) - np.asarray(self.start))

    def offset(self, right_m: float) -> Line:
        """The parallel line `right_m` metres to the right of travel (negative: left)."""
        dx, dy = right_m * math.sin(self.heading), -right_m * math.cos(self.heading)
        return Line((self.start[0] + dx, self.start[1] + dy), (self.end[0] + dx, self.end[1] + dy))

    def reversed(self) -> Line:
        return Line(self.end, self.start)

    def bbox(self) -> tuple[float, float, float, float]:
        xs, ys = (self.start[0], self.end[0]), (self.start[1], self.end[1])
        return min(xs), min(ys), max(xs), max(ys)

    def to_dict(self) -> dict:
        return {"type": "line", "end": [self.end[0], self.end[1]]}


@dataclass(frozen=True)
class Arc:
    """A circular arc from `start` turning about `center` by `sweep_deg` (positive: left)."""

    start: Point
    center: Point
    sweep_deg: float
    radius: float = field(init=False, repr=False, compare=False)
    length: float = field(init=False, repr=False, compare=False)
    end: Point = field(init=False, repr=False, compare=False)
    start_heading: float = field(init=False, repr=False, compare=False)
    end_heading: float = field(init=False, repr=False, compare=False)
    curvature: float = field(init=False, repr=False, compare=False)
    _phi0: float = field(init=False, repr=False, compare=False)
    _sign: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        dx, dy = self.start[0] - self.center[0], self.start[1] - self.center[1]
        radius = math.hypot(dx, dy)
        phi0 = math.atan2(dy, dx)
        sweep = math.radians(self.sweep_deg)
        sign = 1.0 if sweep >= 0 else -1.0
        phi1 = phi0 + sweep
        end = (self.center[0] + radius * math.cos(phi1), self.center[1] + radius * math.sin(phi1))
        values = {
            "radius": radius,
            "length": radius * abs(sweep),
            "end": end,
            "start_heading": wrap_angle(phi0 + sign * math.pi / 2),
            "end_heading": wrap_angle(phi1 + sign * math.pi / 2),
            "curvature": sign / radius if radius else math.inf,
            "_phi0": phi0,
            "_sign": sign,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def point_at(self, s: float) -> Pose:
        phi = self._phi0 + self._sign * s / self.radius if self.radius else self._phi0
        x = self.center[0] + self.radius * math.cos(phi)
        y = self.center[1] + self.radius * math.sin(phi)
        return x, y, wrap_angle(phi + self._sign * math.pi / 2), self.curvature

    def sample(self, n: int) -> np.ndarray:
        """`n + 1` evenly spaced points from start to end, shape (n + 1, 2)."""
        phi = self._phi0 + np.linspace(0.0, math.radians(self.sweep_deg), n + 1)
        return np.column_stack(
            (self.center[0] + self.radius * np.cos(phi), self.center[1] + self.radius * np.sin(phi))
        )

    def offset(self, right_m: float) -> Arc:
        """The concentric arc `right_m` metres to the right of travel (negative: left)."""
        radius = self.radius + self._sign * right_m
        start = (
            self.center[0] + radius * math.cos(self._phi0),
            self.center[1] + radius * math.sin(self._phi0),
        )
        return Arc(start, self.center, self.sweep_deg)

    def reversed(self) -> Arc:
        return Arc(self.end, self.center, -self.sweep_deg)

    def bbox(self) -> tuple[float, float, float, float]:
        xs, ys = [self.start[0], self.end[0]], [self.start[1], self.end[1]]
        lo, hi = sorted((self._phi0, self._phi0 + math.radians(self.sweep_deg)))
        for k in range(math.ceil(lo / (math.pi / 2)), math.floor(hi / (math.pi / 2)) + 1):
            xs.append(self.center[0] + self.radius * math.cos(k * math.pi / 2))
            ys.append(self.center[1] + self.radius * math.sin(k * math.pi / 2))
        return min(xs), min(ys), max(xs), max(ys)

    def to_dict(self) -> dict:
        return {
            "type": "arc",
            "center": [self.center[0], self.center[1]],
            "sweep_deg": self.sweep_deg,
        }


Segment = Line | Arc


def build_chain(start: Point, specs: Sequence[Mapping], end: Point) -> tuple[Segment, ...]:
    """Segments from file-format specs, chained from `start`; empty specs: a line to `end`."""
    if not specs:
        return (Line(start, end),)
    segments: list[Segment] = []
    current = start
    for spec in specs:
        if spec["type"] == "line":
            segment: Segment = Line(current, _point(spec["end"]))
        else:
            segment = Arc(current, _point(spec["center"]), float(spec["sweep_deg"]))
        segments.append(segment)
        current = segment.end
    return tuple(segments)


def arc_center(start: Point, end: Point, sweep_deg: float) -> Point:
    """The centre of the arc that leaves `start` and reaches `end` turning by `sweep_deg`."""
    vx, vy = end[0] - start[0], end[1] - start[1]
    chord = math.hypot(vx, vy)
    if chord == 0 or sweep_deg == 0 or abs(sweep_deg) >= 360:
        raise ValueError("an arc needs distinct end points and a sweep in (-360, 0) or (0, 360)")
    to_center = (chord / 2) / math.tan(math.radians(sweep_deg) / 2)
    mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
    return mx - vy / chord * to_center, my + vx / chord * to_center


def chain_polyline(segments: Sequence[Segment], step_m: float) -> np.ndarray:
    """Points along the chain at most `step_m` apart, shape (N, 2), both ends included."""
    if step_m <= 0:
        raise ValueError(f"step_m must be positive, got {step_m}")
    parts = [np.asarray([segments[0].start], dtype=float)]
    for segment in segments:
        n = max(1, math.ceil(segment.length / step_m))
        parts.append(segment.sample(n)[1:])
    return np.concatenate(parts)


class ChainSampler:
    """Pose lookup by arc length along a chain of segments."""

    def __init__(self, segments: Sequence[Segment]) -> None:
        self._segments = tuple(segments)
        self._starts = [0.0, *accumulate(seg.length for seg in self._segments)]
        self.length = self._starts[-1]

    def pose(self, s: float) -> Pose:
        """(x, y, heading_rad, curvature) at arc length `s`, clamped to the chain."""
        s = min(max(s, 0.0), self.length)
        i = min(bisect.bisect_right(self._starts, s) - 1, len(self._segments) - 1)
        return self._segments[i].point_at(s - self._starts[i])


def _point(value: Sequence[float]) -> Point:
    return float(value[0]), float(value[1])
