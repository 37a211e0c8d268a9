"""Steering and wheel speeds: the label in training means the same turn on the car."""

from __future__ import annotations

import math

import pytest

from city.kinematics import CarGeometry, steering_from_wheels, wheel_speeds


@pytest.mark.parametrize("steering", [-1.0, -0.4, 0.0, 0.3, 1.0])
def test_round_trip(steering):
    left, right = wheel_speeds(steering, 0.15)
    back, speed = steering_from_wheels(left, right)
    assert back == pytest.approx(steering) and speed == pytest.approx(0.15)


def test_positive_steering_turns_left():
    left, right = wheel_speeds(0.5, 0.15)
    assert right > left


def test_full_steering_is_the_tightest_radius():
    g = CarGeometry()
    left, right = wheel_speeds(1.0, 0.1, g)
    radius = g.wheel_base_m * (left + right) / 2 / (right - left)
    assert radius == pytest.approx(1 / g.max_curvature_per_m)


def test_wheel_limit_keeps_the_curvature():
    g = CarGeometry(max_wheel_speed_mps=0.3)
    left, right = wheel_speeds(0.8, 0.5, g)
    assert max(abs(left), abs(right)) == pytest.approx(0.3)
    assert steering_from_wheels(left, right, g)[0] == pytest.approx(0.8)


def test_invalid_geometry_is_refused():
    with pytest.raises(ValueError, match="wheel_base_m"):
        CarGeometry(wheel_base_m=0)
    assert math.isfinite(steering_from_wheels(0.0, 0.0)[0])
