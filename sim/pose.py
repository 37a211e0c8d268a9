"""A car's pose on the city's ground plane."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Pose:
    """Position of the car's axle centre in metres (x east, y north) and heading in radians.

    Heading is counter-clockwise from +x, as everywhere in the city model.
    """

    x: float
    y: float
    heading: float

    def forward(self) -> tuple[float, float]:
        return math.cos(self.heading), math.sin(self.heading)

    def left(self) -> tuple[float, float]:
        return -math.sin(self.heading), math.cos(self.heading)

    def moved(self, *, forward_m: float = 0.0, left_m: float = 0.0, turn_rad: float = 0.0) -> Pose:
        """This pose shifted in its own frame and turned."""
        fx, fy = self.forward()
        lx, ly = self.left()
        return Pose(
            self.x + forward_m * fx + left_m * lx,
            self.y + forward_m * fy + left_m * ly,
            wrap_angle(self.heading + turn_rad),
        )

    def to_dict(self) -> dict[str, float]:
        return {"x": round(self.x, 4), "y": round(self.y, 4), "heading": round(self.heading, 4)}


def wrap_angle(angle: float) -> float:
    """The angle in (-pi, pi]."""
    wrapped = math.remainder(angle, math.tau)
    return math.pi if wrapped == -math.pi else wrapped
