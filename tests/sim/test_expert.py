"""The expert driver in closed loop with the dynamics, with and without recovery noise."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pytest

from city import City, Route, RouteStep, default_city
from city.generate import grid_city
from city.kinematics import CarGeometry, wheel_speeds
from sim.dynamics import CarState, step
from sim.expert import (
    Control,
    ExpertConfig,
    ExpertDriver,
    RecoveryConfig,
    RecoveryNoise,
)
from sim.path import RoutePath
from sim.routes import random_route

CITY = default_city()
DT = 0.05


@dataclass
class Run:
    path: RoutePath
    finished: bool
    controls: list[Control]
    executed: list[float]
    final: CarState


def drive(city: City, route: Route, noise: RecoveryNoise | None = None) -> Run:
    path = RoutePath.from_route(city, route)
    expert = ExpertDriver(path)
    state = CarState(path.pose_at(0.0))
    controls, executed = [], []
    for _ in range(int((path.length / 0.05 + 30) / DT)):
        control = expert.act(state.pose)
        if expert.finished:
            break
        steering = control.steering
        if noise is not None:
            steering = noise.perturb(steering, DT, cross_track_m=control.cross_track_m)
        controls.append(control)
        executed.append(steering)
        state = step(state, wheel_speeds(steering, control.speed_mps), DT)
    for _ in range(int(1.0 / DT)):  # the expert says stop: let the motors run down
        state = step(state, expert.act(state.pose).wheel_speeds(), DT)
    return Run(path, expert.finished, controls, executed, state)


def manual_route(nodes: list[str], turns: list[str]) -> Route:
    steps = tuple(RouteStep(n, CITY.node(n).sign, t) for n, t in zip(nodes, turns, strict=True))
    return Route(steps=steps, length_m=0.0)


@pytest.fixture(scope="module")
def default_runs() -> list[Run]:
    pairs = itertools.permutations(CITY.nodes, 2)
    return [drive(CITY, CITY.route(a, b)) for a, b in pairs]


def check_tracking(run: Run) -> None:
    assert run.finished
    errors = np.abs([c.cross_track_m for c in run.controls])
    assert np.percentile(errors, 95) < 0.05
    assert errors.max() < 0.10
    end = run.path.point_at(run.path.length)
    assert math.dist((run.final.pose.x, run.final.pose.y), end[:2]) < 0.03
    assert abs(run.final.speed) < 1e-3


def test_expert_drives_every_default_city_route(default_runs):
    assert len(default_runs) == 13 * 12
    for run in default_runs:
        check_tracking(run)


def test_expert_drives_generated_city_routes():
    for seed in range(2):
        city = grid_city(100, seed=seed)
        rng = np.random.default_rng(seed)
        for _ in range(3):
            check_tracking(drive(city, random_route(city, rng, min_length_m=8.0)))


def test_expert_drives_a_u_turn():
    run = drive(
        CITY,
        manual_route(
            ["D", "C", "G", "C", "A"], ["depart", "straight", "u-turn", "right", "arrive"]
        ),
    )
    check_tracking(run)


def test_speed_slows_for_turns_and_stays_within_limits(default_runs):
    cfg = ExpertConfig()
    speeds = np.array([c.speed_mps for run in default_runs for c in run.controls])
    assert speeds.max() == pytest.approx(cfg.cruise_speed_mps)
    assert speeds.min() >= cfg.min_speed_mps
    tight = [
        c.speed_mps
        for run in default_runs
        for c in run.controls
        if abs(run.path.curvature_at(c.s)) >= cfg.turn_curvature_per_m
    ]
    assert tight and max(tight) <= cfg.turn_speed_mps + 1e-9


def test_label_is_straight_on_a_straight():
    path = RoutePath.from_route(CITY, CITY.route("A", "B"))
    control = ExpertDriver(path).act(path.pose_at(1.0))
    assert control.steering == pytest.approx(0.0, abs=1e-6)
    assert control.cross_track_m == pytest.approx(0.0, abs=1e-6)
    assert control.command == "straight"


@pytest.mark.parametrize(("turn", "sign", "end"), [("left", 1.0, "E"), ("right", -1.0, "C")])
def test_turn_labels_and_commands(turn, sign, end):
    run = drive(CITY, manual_route(["A", "D", end], ["depart", turn, "arrive"]))
    check_tracking(run)
    node = run.path.nodes[1]
    before = [c for c in run.controls if c.s < node.entry_s]
    inside = [c for c in run.controls if abs(c.s - node.s) < 0.15]
    after = [c for c in run.controls if c.s > node.exit_s + 0.3]
    assert before and inside and after
    assert {c.command for c in before} == {turn}
    assert {c.command for c in inside} == {turn}
    assert {c.command for c in after} == {"straight"}
    assert all(sign * c.steering > 0.3 for c in inside)
    assert all(abs(c.steering) < 0.1 for c in after)


def test_recovery_noise_pushes_the_car_off_and_the_labels_bring_it_back():
    rng = np.random.default_rng(7)
    routes = [random_route(CITY, rng, min_length_m=5.0) for _ in range(12)]
    offsets, labels, worst = [], [], 0.0
    for route in routes:
        run = drive(CITY, route, RecoveryNoise(rng))
        assert run.finished
        worst = max(worst, max(abs(c.cross_track_m) for c in run.controls))
        for c in run.controls:
            if abs(run.path.curvature_at(c.s)) < 1e-6 and abs(c.cross_track_m) > 0.03:
                offsets.append(c.cross_track_m)
                labels.append(c.steering)
        # The label is the clean expert steering, not what was executed.
        assert any(
            abs(c.steering - e) > 0.1 for c, e in zip(run.controls, run.executed, strict=True)
        )
    assert 0.06 < worst < 0.15
    offsets, labels = np.array(offsets), np.array(labels)
    assert len(offsets) > 100
    assert np.mean(np.sign(labels) == -np.sign(offsets)) > 0.9


def test_recovery_noise_is_deterministic_and_bounded():
    def series(seed: int) -> list[float]:
        noise = RecoveryNoise(np.random.default_rng(seed))
        return [noise.perturb(0.0, DT) for _ in range(400)]

    a, b, c = series(1), series(1), series(2)
    assert a == b and a != c
    assert all(-1.0 <= x <= 1.0 for x in a)
    assert np.std(a) > 0.05
    # Correlated in time: neighbouring samples agree more than distant ones.
    x = np.array(a)
    assert np.corrcoef(x[:-1], x[1:])[0, 1] > 0.8


def test_recovery_noise_never_pushes_further_out_than_the_limit():
    noise = RecoveryNoise(np.random.default_rng(3), RecoveryConfig(ou_sigma=2.0))
    for _ in range(200):
        assert noise.perturb(0.0, DT, cross_track_m=0.12) <= 0.0
        assert noise.perturb(0.0, DT, cross_track_m=-0.12) >= 0.0


def test_control_wheel_speeds_and_throttle():
    control = Control(
        steering=0.5, speed_mps=0.15, command="left", cross_track_m=0.0, heading_error=0.0, s=0.0
    )
    assert control.wheel_speeds() == wheel_speeds(0.5, 0.15)
    assert control.throttle == pytest.approx(0.15 / CarGeometry().max_wheel_speed_mps)
    small = CarGeometry(max_wheel_speed_mps=0.1)
    assert control.wheel_speeds(small) == wheel_speeds(0.5, 0.15, small)


def test_expert_stops_and_reports_finished_at_the_end():
    path = RoutePath.from_route(CITY, CITY.route("A", "B"))
    expert = ExpertDriver(path)
    assert not expert.finished
    control = expert.act(path.pose_at(path.length))
    assert expert.finished and control.speed_mps == 0.0


@pytest.mark.parametrize(
    ("config", "field"),
    [
        (lambda: ExpertConfig(lookahead_m=0.0), "lookahead_m"),
        (lambda: ExpertConfig(min_lookahead_m=1.0), "min_lookahead_m"),
        (lambda: ExpertConfig(cruise_speed_mps=2.0), "cruise_speed_mps"),
        (lambda: ExpertConfig(turn_speed_mps=0.5), "turn_speed_mps"),
        (lambda: RecoveryConfig(ou_sigma=-1.0), "ou_sigma"),
        (lambda: RecoveryConfig(max_offset_m=0.0), "max_offset_m"),
        (lambda: RecoveryConfig(swerve_max_duration_s=0.1), "swerve_max_duration_s"),
    ],
)
def test_invalid_configs_name_the_field(config, field):
    with pytest.raises(ValueError, match=field):
        config()
