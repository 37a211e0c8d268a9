"""The city's value types: nodes, edges (with their lane geometry) and routes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from city.geometry import ChainSampler, Pose, Segment, chain_polyline

DEFAULT_LANE_WIDTH_M = 0.3


@dataclass(frozen=True, kw_only=True)
class Node:
    """A place in the city (usually an intersection), marked by one sign."""

    id: str
    x: float
    y: float
    sign: str
    allow_u_turn: bool = False
    name: str | None = None

    @property
    def position(self) -> tuple[float, float]:
        return self.x, self.y


@dataclass(frozen=True, kw_only=True)
class Edge:
    """A one-way road from `from_node` to `to_node` along a chain of line and arc segments.

    `segments` is the road centreline; the lane a car drives on lies `lane_offset_m`
    to the right of travel (negative: to the left). `City` sets the offset from its
    lane width and drive side, so edges built in code may leave the default.
    """

    from_node: str
    to_node: str
    segments: tuple[Segment, ...]
    length_m: float = field(init=False)
    speed_limit_mps: float | None = None
    lane_offset_m: float = DEFAULT_LANE_WIDTH_M / 2

    def __post_init__(self) -> None:
        if not self.segments:
            raise ValueError(f"edge {self.key_str}: needs at least one segment")
        object.__setattr__(self, "segments", tuple(self.segments))
        object.__setattr__(self, "length_m", sum(seg.length for seg in self.segments))

    @property
    def key(self) -> tuple[str, str]:
        return self.from_node, self.to_node

    @property
    def key_str(self) -> str:
        return f"{self.from_node}->{self.to_node}"

    @property
    def start_heading(self) -> float:
        """Heading (radians) of the road centreline as it leaves `from_node`."""
        return self.segments[0].start_heading

    @property
    def end_heading(self) -> float:
        """Heading (radians) of the road centreline as it reaches `to_node`."""
        return self.segments[-1].end_heading

    @cached_property
    def lane_segments(self) -> tuple[Segment, ...]:
        """The lane centreline: the road's segments offset to the driving side."""
        return tuple(seg.offset(self.lane_offset_m) for seg in self.segments)

    @cached_property
    def lane_length_m(self) -> float:
        return self._lane_sampler.length

    def lane_polyline(self, step_m: float = 0.02) -> np.ndarray:
        """Points along the lane centreline at most `step_m` apart, shape (N, 2)."""
        return chain_polyline(self.lane_segments, step_m)

    def road_polyline(self, step_m: float = 0.02) -> np.ndarray:
        """Points along the road centreline at most `step_m` apart, shape (N, 2)."""
        return chain_polyline(self.segments, step_m)

    def sample(self, s: float) -> Pose:
        """(x, y, heading_rad, curvature) on the lane centreline at arc length `s` (clamped)."""
        return self._lane_sampler.pose(s)

    def sample_road(self, s: float) -> Pose:
        """(x, y, heading_rad, curvature) on the road centreline at arc length `s` (clamped)."""
        return self._road_sampler.pose(s)

    def with_lane_offset(self, lane_offset_m: float) -> Edge:
        return (
            self
            if lane_offset_m == self.lane_offset_m
            else replace(self, lane_offset_m=lane_offset_m)
        )

    @cached_property
    def _lane_sampler(self) -> ChainSampler:
        return ChainSampler(self.lane_segments)

    @cached_property
    def _road_sampler(self) -> ChainSampler:
        return ChainSampler(self.segments)


@dataclass(frozen=True)
class RouteStep:
    """One node on a route: its sign, and the manoeuvre that leaves it."""

    node: str
    sign: str
    turn: str

    def to_dict(self) -> dict:
        return {"node": self.node, "sign": self.sign, "turn": self.turn}


@dataclass(frozen=True)
class Route:
    """A route: one step per node from start to destination inclusive, and its length."""

    steps: tuple[RouteStep, ...]
    length_m: float

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(step.node for step in self.steps)

    @property
    def start(self) -> str:
        return self.steps[0].node

    @property
    def goal(self) -> str:
        return self.steps[-1].node

    def to_dict(self) -> dict:
        return {
            "steps": [step.to_dict() for step in self.steps],
            "length_m": round(self.length_m, 3),
        }
