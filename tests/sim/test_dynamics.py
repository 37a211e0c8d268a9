"""Differential-drive dynamics: motor lag, limits, and exact arcs."""

from __future__ import annotations

import math

import pytest

from city.kinematics import CarGeometry
from sim.dynamics import CarState, DynamicsConfig, step
from sim.pose import Pose

G = CarGeometry()


DEFAULT = DynamicsConfig()


def drive(state: CarState, command, seconds: float, dt: float = 0.01, config=DEFAULT):
    for _ in range(round(seconds / dt)):
        state = step(state, command, dt, config)
    return state


def test_equal_commands_drive_straight_at_that_speed():
    start = CarState(Pose(1.0, 2.0, 0.3))
    settled = drive(start, (0.2, 0.2), 1.0)
    assert settled.speed == pytest.approx(0.2, abs=1e-4)
    assert settled.yaw_rate == pytest.approx(0.0)
    later = drive(settled, (0.2, 0.2), 1.0)
    assert math.hypot(later.pose.x - settled.pose.x, later.pose.y - settled.pose.y) == (
        pytest.approx(0.2, abs=1e-4)
    )
    for pose in (settled.pose, later.pose):
        assert pose.heading == pytest.approx(0.3)
        # Still on the line through the start along its heading.
        assert -(pose.x - 1.0) * math.sin(0.3) + (pose.y - 2.0) * math.cos(0.3) == (
            pytest.approx(0.0, abs=1e-12)
        )


def test_opposite_commands_turn_in_place():
    state = drive(CarState(Pose(0.5, 0.5, 0.0)), (-0.1, 0.1), 1.0)
    assert (state.pose.x, state.pose.y) == pytest.approx((0.5, 0.5), abs=1e-12)
    assert state.speed == pytest.approx(0.0)
    assert state.yaw_rate == pytest.approx(0.2 / G.wheel_base_m, rel=1e-3)
    assert state.pose.heading > 1.0


def test_right_wheel_faster_turns_left():
    state = drive(CarState(Pose(0.0, 0.0, 0.0)), (0.15, 0.25), 0.5)
    assert state.pose.heading > 0.1
    assert state.pose.y > 0
    state = drive(CarState(Pose(0.0, 0.0, 0.0)), (0.25, 0.15), 0.5)
    assert state.pose.heading < -0.1


def test_lag_reaches_63_percent_after_one_time_constant():
    config = DynamicsConfig()
    tau = config.motor_time_constant_s
    state = drive(CarState(Pose(0, 0, 0)), (0.1, 0.1), tau, dt=tau / 8)
    assert state.v_left == pytest.approx(0.1 * (1 - math.exp(-1)), rel=1e-6)
    # The answer does not depend on how the time is cut up.
    once = step(CarState(Pose(0, 0, 0)), (0.1, 0.1), tau)
    assert once.v_right == pytest.approx(state.v_right, rel=1e-6)


def test_acceleration_is_limited():
    config = DynamicsConfig(geometry=CarGeometry(max_wheel_speed_mps=0.6))
    state = drive(CarState(Pose(0, 0, 0)), (0.6, 0.6), 0.1, config=config)
    assert state.v_left == pytest.approx(config.max_wheel_accel_mps2 * 0.1)
    braking = drive(CarState(Pose(0, 0, 0), 0.4, 0.4), (0.0, 0.0), 0.1, config=config)
    assert braking.speed == pytest.approx(0.4 - config.max_wheel_accel_mps2 * 0.1)


def test_commands_are_clamped_to_the_motor_limit():
    state = drive(CarState(Pose(0, 0, 0)), (5.0, -5.0), 2.0)
    assert state.v_left == pytest.approx(G.max_wheel_speed_mps)
    assert state.v_right == pytest.approx(-G.max_wheel_speed_mps)


def test_constant_curvature_closes_the_circle_with_large_steps():
    speed, period = 0.1, 5.0
    omega = 2 * math.pi / period
    half = omega * G.wheel_base_m / 2
    command = (speed - half, speed + half)
    start = CarState(Pose(1.0, -1.0, 2.0), *command)
    end = drive(start, command, period, dt=0.05)
    assert math.hypot(end.pose.x - 1.0, end.pose.y + 1.0) < 1e-3
    assert end.pose.heading == pytest.approx(2.0, abs=1e-9)
    # Half way round the car is one diameter away.
    half_way = drive(start, command, period / 2, dt=0.5)
    assert math.hypot(half_way.pose.x - 1.0, half_way.pose.y + 1.0) == (
        pytest.approx(2 * speed / omega, abs=1e-9)
    )


def test_zero_dt_changes_nothing_and_negative_dt_is_refused():
    state = CarState(Pose(1, 2, 3), 0.1, 0.2)
    assert step(state, (0.5, 0.5), 0.0).pose == state.pose
    with pytest.raises(ValueError, match="dt"):
        step(state, (0.0, 0.0), -0.1)


@pytest.mark.parametrize(
    ("field", "value"),
    [("motor_time_constant_s", -1.0), ("max_wheel_accel_mps2", 0.0), ("max_substep_s", 0.0)],
)
def test_invalid_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        DynamicsConfig(**{field: value})
