"""The world: several cars stepped together, each seeing the others."""

from __future__ import annotations

import pytest

from city import default_city
from sim.dynamics import CarState, DynamicsConfig, step
from sim.pose import Pose
from sim.world import World


@pytest.fixture
def world() -> World:
    world = World(default_city())
    world.add_car("a", Pose(2.0, 4.0, 0.0))
    world.add_car("b", Pose(4.0, 2.0, 1.0))
    return world


def test_cars_step_independently(world):
    world.set_command("a", 0.2, 0.2)
    for _ in range(20):
        world.step(0.05)
    a, b = world.state("a"), world.state("b")
    expected = CarState(Pose(2.0, 4.0, 0.0))
    for _ in range(20):
        expected = step(expected, (0.2, 0.2), 0.05, DynamicsConfig())
    assert a == expected
    assert b.pose == Pose(4.0, 2.0, 1.0) and b.speed == 0.0
    assert world.time_s == pytest.approx(1.0)


def test_others_excludes_self(world):
    world.add_car("c", Pose(0.0, 2.0, 0.0))
    assert world.car_ids == ("a", "b", "c")
    assert world.others("a") == [("b", Pose(4.0, 2.0, 1.0)), ("c", Pose(0.0, 2.0, 0.0))]
    world.remove_car("b")
    assert [car for car, _ in world.others("a")] == ["c"]


def test_duplicate_and_unknown_cars_are_refused(world):
    with pytest.raises(ValueError, match="'a'"):
        world.add_car("a", Pose(0, 0, 0))
    with pytest.raises(KeyError, match="'zz'"):
        world.set_command("zz", 0.1, 0.1)
    with pytest.raises(KeyError):
        world.state("zz")
    with pytest.raises(KeyError):
        world.remove_car("zz")


def test_dynamics_config_applies_to_every_car():
    world = World(default_city(), dynamics=DynamicsConfig(motor_time_constant_s=0.0))
    world.add_car("a", Pose(0, 0, 0))
    world.set_command("a", 0.05, 0.05)
    world.step(0.1)
    assert world.state("a").speed == pytest.approx(0.05)


def test_nearest_node(world):
    assert world.nearest_node(Pose(2.1, 3.9, 0.0)) == "A"
    assert world.nearest_node(Pose(9.0, 2.2, 0.0)) == "M"
