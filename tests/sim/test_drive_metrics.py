"""Ground-truth driving scores: quiet for an expert, loud for a car that leaves its lane."""

from __future__ import annotations

import math

import numpy as np

from city import default_city
from sim.drive_metrics import DriveMetrics
from sim.expert import ExpertDriver
from sim.path import RoutePath
from sim.pose import Pose
from sim.routes import random_route, start_pose
from sim.world import World

DT = 0.05


def _drive_expert(city, route, metrics, car_id="a", max_ticks=4000):
    path = RoutePath.from_route(city, route)
    world = World(city)
    world.add_car(car_id, start_pose(city, path))
    expert = ExpertDriver(path)
    for _ in range(max_ticks):
        control = expert.act(world.state(car_id).pose)
        if expert.finished:
            break
        world.set_command(car_id, *control.wheel_speeds())
        world.step(DT)
        metrics.update({car_id: world.state(car_id).pose}, DT)
    return path


def test_an_expert_drives_without_off_lane_events_and_visits_its_route_in_order():
    city = default_city()
    rng = np.random.default_rng(3)
    metrics = DriveMetrics(city)
    for k in range(6):
        route = random_route(city, rng, min_length_m=4.0)
        before = len(metrics.tally(f"c{k}").visits)
        path = _drive_expert(city, route, metrics, car_id=f"c{k}")
        visited = [node for _, node in metrics.tally(f"c{k}").visits[before:]]
        route_nodes = list(route.nodes)
        # every junction entered is on the route, in the route's order
        positions = [route_nodes.index(n) for n in visited]
        assert positions == sorted(positions), (visited, route_nodes)
        assert path.length > 3.0
    summary = metrics.summary()
    assert summary.off_lane_events == 0
    assert summary.p95_abs_cte_m is not None and summary.p95_abs_cte_m < 0.04
    assert summary.km_driven > 0.02


def test_leaving_the_lane_is_one_event_per_excursion(caplog):
    city = default_city()
    metrics = DriveMetrics(city)
    edge = max(city.edges.values(), key=lambda e: e.lane_length_m)
    x, y, heading, _ = edge.sample(edge.lane_length_m / 2)
    left = (-math.sin(heading), math.cos(heading))
    for offset in (0.0, 0.12, 0.12, 0.0, 0.12, 0.0):
        pose = Pose(x + left[0] * offset, y + left[1] * offset, heading)
        metrics.update({"a": pose}, DT)
    assert metrics.summary().off_lane_events == 2
    # each excursion is logged with the road, the side and how far out
    events = [r.getMessage() for r in caplog.records if "off its lane" in r.getMessage()]
    assert len(events) == 2
    assert all(f"a off its lane on {edge.key_str}" in e for e in events)
    assert all("0.120 m left of the lane centre" in e for e in events)


def test_touching_cars_collide_once_and_sharing_a_junction_is_a_conflict():
    city = default_city()
    metrics = DriveMetrics(city)
    node = next(iter(city.nodes.values()))
    a = Pose(node.x, node.y, 0.0)
    b = Pose(node.x + 0.15, node.y, 0.0)  # bumper to bumper: bodies 0.22 m long overlap
    far = Pose(node.x + 5.0, node.y + 5.0, 0.0)
    metrics.update({"a": a, "b": far}, DT)
    assert metrics.collisions == 0 and metrics.conflicts == 0
    for _ in range(3):
        metrics.update({"a": a, "b": b}, DT)
    assert metrics.collisions == 1 and metrics.conflicts == 1
    metrics.update({"a": a, "b": far}, DT)
    metrics.update({"a": a, "b": b}, DT)
    assert metrics.collisions == 2
