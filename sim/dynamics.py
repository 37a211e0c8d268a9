"""Differential-drive dynamics: wheel-speed commands in, pose out.

Each wheel follows its command through a first-order motor lag with an acceleration
limit; the pose then moves along the exact unicycle arc of the mean wheel speeds over
each sub-step, so a large `dt` changes the motor response slightly but never bends
the path the wheels describe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from city.kinematics import CarGeometry
from sim.pose import Pose, wrap_angle

_DEFAULT_GEOMETRY = CarGeometry()


@dataclass(frozen=True)
class DynamicsConfig:
    """Motor response of one car."""

    geometry: CarGeometry = _DEFAULT_GEOMETRY
    motor_time_constant_s: float = 0.08  # first-order lag of each wheel towards its command
    max_wheel_accel_mps2: float = 1.5  # acceleration limit per wheel
    max_substep_s: float = 0.01  # larger steps are split into sub-steps of at most this

    def __post_init__(self) -> None:
        if self.motor_time_constant_s < 0:
            raise ValueError("motor_time_constant_s: must be zero or positive")
        for name in ("max_wheel_accel_mps2", "max_substep_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be positive")


@dataclass(frozen=True)
class CarState:
    """A car's pose and its actual wheel speeds (m/s, positive forwards)."""

    pose: Pose
    v_left: float = 0.0
    v_right: float = 0.0
    wheel_base_m: float = _DEFAULT_GEOMETRY.wheel_base_m

    @property
    def speed(self) -> float:
        """Forward speed of the axle centre (m/s)."""
        return (self.v_left + self.v_right) / 2.0

    @property
    def yaw_rate(self) -> float:
        """Turn rate (rad/s), positive counter-clockwise (to the left)."""
        return (self.v_right - self.v_left) / self.wheel_base_m


def step(
    state: CarState,
    command: tuple[float, float],
    dt: float,
    config: DynamicsConfig = DynamicsConfig(),  # noqa: B008 - frozen, so sharing is safe
) -> CarState:
    """The state `dt` seconds later with wheel-speed `command` (left, right) held throughout."""
    if dt < 0:
        raise ValueError(f"dt must not be negative, got {dt}")
    limit = config.geometry.max_wheel_speed_mps
    target_left = max(-limit, min(limit, float(command[0])))
    target_right = max(-limit, min(limit, float(command[1])))
    wheel_base = config.geometry.wheel_base_m
    if (
        target_left == target_right == state.v_left == state.v_right == 0.0
        and state.wheel_base_m == wheel_base
    ):
        return state  # at rest and told to stay: nothing moves (a parked car, every frame)
    x, y, heading = state.pose.x, state.pose.y, state.pose.heading
    left, right = state.v_left, state.v_right
    n = max(1, math.ceil(dt / config.max_substep_s - 1e-9))
    h = dt / n
    # The lag's decay and the acceleration limit are the same for every sub-step.
    tau = config.motor_time_constant_s
    decay = math.exp(-h / tau) if tau else 0.0
    max_change = config.max_wheel_accel_mps2 * h
    # The sub-steps inline (a first-order lag with a clamped change per wheel, then the
    # exact arc; unrolled by hand: this runs for every car on
    # every frame, and a Python call costs more than its arithmetic).
    two_base = 2.0 * wheel_base
    for _ in range(n):
        lagged = target_left if tau == 0 else target_left + (left - target_left) * decay
        change = lagged - left
        new_left = left + (max_change if change > max_change else max(-max_change, change))
        lagged = target_right if tau == 0 else target_right + (right - target_right) * decay
        change = lagged - right
        new_right = right + (max_change if change > max_change else max(-max_change, change))
        # Mean speeds over the sub-step, held constant: an exact arc.
        v = (left + new_left + right + new_right) / 4.0
        omega = (new_right + right - new_left - left) / two_base
        turn = omega * h
        if abs(turn) < 1e-9:
            mid = heading + turn / 2
            x, y, heading = x + v * h * math.cos(mid), y + v * h * math.sin(mid), heading + turn
        else:
            radius = v / omega
            new_heading = heading + turn
            x += radius * (math.sin(new_heading) - math.sin(heading))
            y -= radius * (math.cos(new_heading) - math.cos(heading))
            heading = new_heading
        left, right = new_left, new_right
    return CarState(Pose(x, y, wrap_angle(heading)), left, right, wheel_base)
