"""The car's shared kinematics: how a steering command and a speed become wheel speeds.

The car is differential-drive (two wheel motors, ball casters). Both the simulator's
expert (which writes steering labels) and the car's planner (which turns the lane
model's steering into wheel speeds) use these functions, so a label means the same
thing in training and on the road.

Steering is a normalised curvature in [-1, 1]: +1 is the tightest left turn
(counter-clockwise, curvature `max_curvature_per_m`), -1 the tightest right turn,
0 straight ahead.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CarGeometry:
    """Dimensions and limits of a Pixelopolis car (metres, seconds)."""

    wheel_base_m: float = 0.13
    # DYNAMIXEL XL430 at 12 V (61 rpm) on 66 mm wheels: the board's motors top out here.
    max_wheel_speed_mps: float = 0.21
    max_curvature_per_m: float = 5.0
    length_m: float = 0.22
    width_m: float = 0.14
    height_m: float = 0.10

    def __post_init__(self) -> None:
        for name in (
            "wheel_base_m",
            "max_wheel_speed_mps",
            "max_curvature_per_m",
            "length_m",
            "width_m",
            "height_m",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be positive")


DEFAULT_GEOMETRY = CarGeometry()


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def wheel_speeds(
    steering: float, speed_mps: float, geometry: CarGeometry = DEFAULT_GEOMETRY
) -> tuple[float, float]:
    """(left, right) wheel speeds in m/s for a steering command at a forward speed.

    If a wheel would exceed the motor limit, both are scaled down together so the
    curvature (the path) is kept and only the speed drops.
    """
    curvature = clamp(steering, -1.0, 1.0) * geometry.max_curvature_per_m
    return curvature_wheel_speeds(curvature, speed_mps, geometry)


def curvature_wheel_speeds(
    curvature_per_m: float, speed_mps: float, geometry: CarGeometry = DEFAULT_GEOMETRY
) -> tuple[float, float]:
    """(left, right) wheel speeds for a path curvature (1/m, + = left) at a forward speed,
    not limited to `max_curvature_per_m` (a differential drive turns tighter when told
    to); scaled down together like `wheel_speeds` when a wheel would be too fast."""
    half = curvature_per_m * geometry.wheel_base_m / 2.0
    left, right = speed_mps * (1.0 - half), speed_mps * (1.0 + half)
    peak = max(abs(left), abs(right))
    if peak > geometry.max_wheel_speed_mps:
        scale = geometry.max_wheel_speed_mps / peak
        left, right = left * scale, right * scale
    return left, right


def steering_from_wheels(
    left_mps: float, right_mps: float, geometry: CarGeometry = DEFAULT_GEOMETRY
) -> tuple[float, float]:
    """(steering, forward speed) that the wheel speeds amount to (steering 0 at standstill)."""
    speed = (left_mps + right_mps) / 2.0
    if abs(speed) < 1e-9:
        return 0.0, 0.0
    curvature = (right_mps - left_mps) / (geometry.wheel_base_m * speed)
    return clamp(curvature / geometry.max_curvature_per_m, -1.0, 1.0), speed
