"""Planner: the car's state machine driven by scripted frames and a scripted fleet server."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pytest

from city.kinematics import wheel_speeds
from vehicle.perception.detections import Detection
from vehicle.planner import (
    Action,
    CarState,
    Planner,
    PlannerConfig,
    PlannerInput,
    PlannerOutput,
)

DT = 0.05
SIGNS = {
    "A": "red-circle",
    "B": "blue-square",
    "C": "green-circle",
    "D": "yellow-diamond",
    "E": "purple-star",  # on no route below
}


def booking(turns: Sequence[str] = ("depart", "left", "straight", "arrive"), **kw: Any) -> dict:
    nodes = kw.get("nodes", "ABCD")
    steps = [{"node": n, "sign": SIGNS[n], "turn": t} for n, t in zip(nodes, turns, strict=True)]
    return {"id": kw.get("id", "bk1"), "route": {"steps": steps, "length_m": 3.0}}


def far(node: str) -> Detection:
    return Detection(SIGNS[node], 0.9, (0.40, 0.60, 0.45, 0.64))  # small: seen from afar


def near(node: str) -> Detection:
    return Detection(SIGNS[node], 0.9, (0.20, 0.70, 0.45, 0.85))  # big, on the right


CAR_AHEAD = Detection("car", 0.8, (0.40, 0.35, 0.95, 0.65))


class Run:
    """The runtime's side: feeds frames, answers reserves like the server would, integrates
    odometry from the wheel speeds."""

    def __init__(self, planner: Planner | None = None, assignment: dict | None = None) -> None:
        self.planner = planner or Planner()
        self.assignment = assignment
        self.now = 100.0
        self.odometry = 0.0
        self.granted: bool | None = None
        self.busy: set[str] = set()
        self.unanswered: set[str] = set()  # reserves the server never answers
        self.server_ok = True
        self.legs: tuple[float, ...] | None = None
        self.yaw: float | None = None  # set to 0.0 to integrate the heading from the wheels
        self.wall: float | None = None  # set to run a wall clock beside the frame clock
        self.wall_per_frame = DT
        self.actions: list[Action] = []

    def frame(self, dets: Sequence[Detection] = (), steering: float = 0.0) -> PlannerOutput:
        out = self.planner.step(
            PlannerInput(
                now=self.now,
                assignment=self.assignment,
                steering=steering,
                detections=tuple(dets),
                odometry_m=self.odometry,
                reservation_granted=self.granted,
                server_ok=self.server_ok,
                leg_lengths_m=self.legs,
                yaw_rad=self.yaw,
                wall_now=self.wall,
            )
        )
        self.actions += out.actions
        for action in out.actions:
            if action.kind == "reserve":
                self.granted = (
                    None
                    if not self.server_ok or action.node in self.unanswered
                    else action.node not in self.busy
                )
        self.odometry += (out.left_mps + out.right_mps) / 2 * DT
        if self.yaw is not None:
            track = self.planner.config.geometry.wheel_base_m
            self.yaw += (out.right_mps - out.left_mps) / track * DT
        self.now += DT
        if self.wall is not None:
            self.wall += self.wall_per_frame
        return out

    def frames(self, n: int, dets: Sequence[Detection] = (), **kw: Any) -> list[PlannerOutput]:
        return [self.frame(dets, **kw) for _ in range(n)]

    def pass_node(self, node: str) -> list[PlannerOutput]:
        """Approach a node's sign (far, then near), pass it and leave it behind."""
        return self.frames(3, [far(node)]) + self.frames(6, [near(node)]) + self.frames(5)

    def wrong_sign_after_b(self) -> list[PlannerOutput]:
        """Pass B, drive 1 m out of its junction on the road to C, then see E's sign where
        C's should be (12 frames): the frames of that sighting."""
        self.frames(3)
        self.pass_node("B")
        passed = self.odometry
        while self.odometry < passed + 1.0:
            self.frame()
        return self.frames(12, [near("E")])

    def kinds(self, *kinds: str) -> list[tuple[str, str | None]]:
        return [(a.kind, a.node) for a in self.actions if a.kind in kinds]


def test_idle_without_assignment_gives_zero_wheels() -> None:
    run = Run()
    for out in run.frames(3, [CAR_AHEAD], steering=0.5):
        assert out.state is CarState.IDLE
        assert (out.left_mps, out.right_mps) == (0.0, 0.0)
        assert out.actions == ()


def test_happy_path_reports_progress_in_order_then_arrives() -> None:
    run = Run(assignment=booking())
    first = run.frame()
    assert first.state is CarState.ASSIGNED and first.left_mps == 0.0
    out = run.frame()
    assert out.state is CarState.DRIVING and out.left_mps > 0 and out.command == "left"
    assert out.node == "A"
    run.frames(20)
    for node in "BCD":
        run.pass_node(node)
    assert run.planner.state is CarState.ARRIVED
    assert run.kinds("progress", "arrived") == [
        ("progress", "B"),
        ("progress", "C"),
        ("progress", "D"),
        ("arrived", "D"),
    ]
    assert run.kinds("reserve", "release") == [
        ("reserve", "B"),
        ("reserve", "C"),
        ("release", "B"),
        ("reserve", "D"),
        ("release", "C"),
        ("release", "D"),
    ]
    assert all(a.booking == "bk1" for a in run.actions)
    out = run.frame([near("D")])
    assert out.state is CarState.ARRIVED and (out.left_mps, out.right_mps) == (0.0, 0.0)
    assert out.actions == ()
    run.assignment = None
    assert run.frame().state is CarState.IDLE


def test_reservation_busy_waits_with_wheels_stopped_then_proceeds() -> None:
    run = Run(assignment=booking())
    run.frames(5)
    run.pass_node("B")
    run.busy.add("C")
    run.frame([far("C")])
    assert run.actions[-1] == Action("reserve", "C", "bk1")
    waiting = run.frames(80, [far("C")])  # 4 s
    assert all(o.state is CarState.WAITING_AT_INTERSECTION for o in waiting)
    assert all((o.left_mps, o.right_mps) == (0.0, 0.0) for o in waiting)
    retries = [a for o in waiting for a in o.actions if a == Action("reserve", "C", "bk1")]
    assert 6 <= len(retries) <= 9  # every ~0.5 s
    renewals = [a for o in waiting for a in o.actions if a.node == "B" and a.kind == "reserve"]
    assert renewals and renewals[0].detail == "renew"  # B's lease kept while waiting
    assert ("release", "B") not in run.kinds("release")

    run.busy.clear()
    outs = run.frames(12, [far("C")])
    assert outs[-1].state is CarState.DRIVING and outs[-1].left_mps > 0
    run.frames(6, [near("C")])
    run.frames(3)  # C's sign leaves the view: C is passed
    assert run.kinds("progress", "release")[-2:] == [("progress", "C"), ("release", "B")]


def test_held_nodes_are_renewed_by_the_wall_clock_when_frames_run_slow() -> None:
    # A synchronous simulation at a fifth of real time: 4 s of frames are 20 s of wall.
    # The server's leases run on the wall, so renewals must come every 3 s of it.
    for wall, least, most in ((None, 1, 1), (0.25, 6, 7)):
        run = Run(assignment=booking())
        run.wall = None if wall is None else 1000.0
        run.wall_per_frame = wall or DT
        run.frames(5)
        run.pass_node("B")
        run.busy.add("C")
        run.frame([far("C")])
        waiting = run.frames(80, [far("C")])
        renewals = [
            o for o in waiting for a in o.actions if a == Action("reserve", "B", "bk1", "renew")
        ]
        assert least <= len(renewals) <= most, (wall, len(renewals))


def test_no_answer_yet_when_the_sign_is_near_waits() -> None:
    run = Run(assignment=booking())
    run.frames(3)
    run.server_ok = False  # a reserve goes unanswered (briefly: not yet "server lost")
    out = run.frame([near("B")])
    assert out.state is CarState.WAITING_AT_INTERSECTION and out.left_mps == 0.0
    run.server_ok = True
    outs = run.frames(9, [near("B")])  # the retry goes out after reserve_retry_s
    assert all(o.state is CarState.WAITING_AT_INTERSECTION for o in outs)
    outs = run.frames(8, [near("B")])
    assert outs[-1].state is CarState.DRIVING
    run.frames(3)  # B's sign leaves the view: B is passed
    assert ("progress", "B") in run.kinds("progress")


def test_car_ahead_stops_then_resumes_after_resume_frames() -> None:
    run = Run(assignment=booking())
    run.frames(3)
    side_car = Detection("car", 0.9, (0.40, 0.80, 0.95, 0.99))
    far_car = Detection("car", 0.9, (0.45, 0.45, 0.55, 0.55))
    assert run.frame([side_car, far_car]).state is CarState.DRIVING
    out = run.frame([CAR_AHEAD])
    assert out.state is CarState.STOPPED_FOR_CAR and (out.left_mps, out.right_mps) == (0, 0)
    stopped = run.frames(4)
    assert all(o.state is CarState.STOPPED_FOR_CAR for o in stopped)
    out = run.frame()
    assert out.state is CarState.DRIVING and out.left_mps > 0


@pytest.mark.parametrize(
    "box, stops",
    [
        # The shipped detector's boxes for a car in the lane ahead with the default camera
        # (centre-to-centre gap): 0.5 m and 0.6 m stop the car, 1.0 m does not.
        ((0.14, 0.33, 0.49, 0.66), True),
        ((0.15, 0.37, 0.44, 0.63), True),
        ((0.14, 0.43, 0.30, 0.57), False),
        # an oncoming car in the other lane, 0.6 m off: beside, not ahead
        ((0.15, 0.0, 0.40, 0.21), False),
    ],
)
def test_a_car_close_ahead_stops_the_car_whatever_the_horizon(box, stops) -> None:
    run = Run(assignment=booking())
    run.frames(3)
    out = run.frame([Detection("car", 0.7, box)])
    assert (out.state is CarState.STOPPED_FOR_CAR) is stops


@pytest.mark.parametrize(
    "steering, center_x, stops",
    [
        (0.0, 0.45, True),  # straight on: a car just left of centre is in the way
        (-0.9, 0.45, False),  # turning hard right: it waits beside the path, not on it
        (-0.9, 0.82, True),  # turning right: the road ahead is right of centre
        (0.9, 0.18, True),  # and left of it in a left turn
    ],
)
def test_in_a_turn_ahead_is_where_the_turn_goes(steering, center_x, stops) -> None:
    run = Run(assignment=booking())
    run.frames(3)
    box = (0.2, center_x - 0.12, 0.6, center_x + 0.12)
    out = run.frame([Detection("car", 0.8, box)], steering=steering)
    assert (out.state is CarState.STOPPED_FOR_CAR) is stops


def test_curves_and_turns_slow_the_car() -> None:
    config = PlannerConfig()
    run = Run(assignment=booking(), planner=Planner(config))
    run.frames(2)
    straight = run.frame(steering=0.0)
    curve = run.frame(steering=0.6)
    assert (straight.left_mps + straight.right_mps) / 2 == pytest.approx(config.cruise_speed_mps)
    expected = wheel_speeds(0.6, config.cruise_speed_mps * (1 - 0.5 * 0.6))
    assert (curve.left_mps, curve.right_mps) == pytest.approx(expected)
    assert curve.right_mps > curve.left_mps  # +steering is a left turn
    run.frames(2, [far("B")])  # B's turn is "left": slow down for it
    approaching_left = run.frame([far("B")])
    assert approaching_left.command == "left"
    mean = (approaching_left.left_mps + approaching_left.right_mps) / 2
    assert mean == pytest.approx(config.turn_speed_mps)


def test_turn_command_holds_through_the_junction_after_the_sign() -> None:
    run = Run(assignment=booking(("depart", "right", "left", "arrive")))
    run.frames(3, [far("B")])
    outs = run.frames(6, [near("B")]) + run.frames(3)  # passing B's sign
    reached = [o for o in outs if o.reason == "reached B"]
    assert reached and reached[0].command == "right"  # still turning at B
    outs = run.frames(320)  # junction_exit_m at turn speed
    assert outs[0].command == "right" and outs[-1].command == "left"


def test_a_sign_passed_early_holds_the_turn_and_node_until_its_junction() -> None:
    def hold_after_pass(leg_m: float) -> tuple[float, float, float]:
        """(metres of B's turn, metres until B is given back, metres of the leg left by
        the map) after B's sign is passed, ~1.6 m into a leg of `leg_m`."""
        run = Run(assignment=booking(("depart", "right", "left", "arrive")))
        run.legs = (leg_m, 2.0, 2.0)
        while run.odometry < 1.6:
            run.frame()
        run.frames(6, [near("B")])
        passed_at = None
        turn_until = given_back = None
        for _ in range(1500):
            out = run.frame()
            if passed_at is None and ("progress", "B") in [(a.kind, a.node) for a in out.actions]:
                passed_at = run.odometry
                # never into a junction it does not hold: B is asked for first
                assert out.reason.startswith("reached") or out.left_mps == out.right_mps == 0
                assert ("reserve", "B") in run.kinds("reserve")
            if passed_at is not None and turn_until is None and out.command != "right":
                turn_until = run.odometry - passed_at
            if (
                passed_at is not None
                and given_back is None
                and ("release", "B") in run.kinds("release")
            ):
                given_back = run.odometry - passed_at
            if turn_until is not None and given_back is not None:
                left = leg_m - passed_at  # of the leg, by the map, when the sign passed
                return turn_until, given_back, left
        raise AssertionError("B's turn never ended")

    config = PlannerConfig()
    turn, given_back, left = hold_after_pass(2.0)
    assert left < config.early_pass_margin_m  # on time
    assert turn == pytest.approx(config.junction_exit_m, abs=0.05)
    assert given_back == pytest.approx(config.junction_clear_m, abs=0.05)
    # The map says B is still ~1.9 m on when its sign is passed: both last longer by
    # what is left beyond the margin.
    turn, given_back, left = hold_after_pass(3.5)
    extra = left - config.early_pass_margin_m
    assert extra > 1.0
    assert turn == pytest.approx(config.junction_exit_m + extra, abs=0.05)
    assert given_back == pytest.approx(config.junction_clear_m + extra, abs=0.05)


def _u_turn_command_until(steering: float) -> tuple[float, float]:
    """Leave a dead end by a u-turn with the lane model steering `steering`: the distance
    driven and the heading turned (degrees) when the command leaves "left"."""
    run = Run(assignment=booking(("u-turn", "right", "arrive"), nodes="ABC"))
    run.yaw = 0.0
    start = run.odometry
    for _ in range(2000):
        out = run.frame(steering=steering)
        if out.left_mps + out.right_mps > 0 and out.command != "left":
            assert out.command == "right"  # B's turn
            return run.odometry - start, abs(math.degrees(run.yaw))
    raise AssertionError("the u-turn never ended")


def test_a_u_turn_command_holds_until_the_car_has_turned_round() -> None:
    config = PlannerConfig()
    # Turning hard, the car is round well within depart_hold_m: the distance decides.
    driven, turned = _u_turn_command_until(1.0)
    assert driven == pytest.approx(config.depart_hold_m, abs=0.02)
    # A wide, slow u-turn: 1.5 m is not enough to turn round, so "left" holds on until
    # the wheels have turned the car by u_turn_min_deg...
    driven, turned = _u_turn_command_until(0.22)
    assert driven > config.depart_hold_m + 0.3
    assert turned == pytest.approx(config.u_turn_min_deg, abs=2.0)
    # ...but never beyond u_turn_max_m (a car that cannot turn round is not held forever).
    driven, turned = _u_turn_command_until(0.0)
    assert driven == pytest.approx(config.u_turn_max_m, abs=0.02) and turned < 1.0


def test_distance_based_reservation_and_missed_node_reroutes() -> None:
    run = Run(assignment=booking())
    planner = run.planner

    def frame() -> PlannerOutput:
        out = planner.step(
            PlannerInput(
                now=run.now,
                assignment=run.assignment,
                steering=0.0,
                detections=(),
                odometry_m=run.odometry,
                reservation_granted=True,
                server_ok=True,
                leg_lengths_m=(1.0, 1.0, 1.0),
            )
        )
        run.actions += out.actions
        run.odometry += (out.left_mps + out.right_mps) / 2 * DT
        run.now += DT
        return out

    frame()
    while run.odometry < 0.49:
        frame()
    assert run.kinds("reserve") == []
    while run.odometry < 0.51:
        frame()
    frame()
    assert run.kinds("reserve") == [("reserve", "B")]  # 0.5 m before B
    while run.planner.state is CarState.DRIVING:
        out = frame()
    assert out.state is CarState.STOPPED and (out.left_mps, out.right_mps) == (0.0, 0.0)
    assert [e.kind for e in out.events] == ["missed"]
    assert run.kinds("reroute") == [("reroute", "A")]
    assert 3.0 < run.odometry < 3.2  # leg, next leg and the 1 m margin


def test_wrong_sign_asks_for_a_new_route_and_stops_until_it_comes() -> None:
    run = Run(assignment=booking())
    outs = run.wrong_sign_after_b()
    assert outs[-1].state is CarState.STOPPED
    assert run.kinds("reroute") == [("reroute", "B")]
    (reroute,) = [a for a in run.actions if a.kind == "reroute"]
    assert "purple-star" in reroute.detail and reroute.sign == "purple-star"
    assert all((o.left_mps, o.right_mps) == (0.0, 0.0) for o in run.frames(10))
    assert run.kinds("reroute") == [("reroute", "B")]  # asked once

    # The runtime fetched a new route from where the car is: same booking, new steps.
    run.assignment = booking(("depart", "right", "arrive"), nodes="DCA")
    assert run.frame().state is CarState.ASSIGNED
    assert run.kinds("release")[-1] == ("release", "B")  # not on the new route
    out = run.frame()
    assert out.state is CarState.DRIVING and out.command == "right" and out.node == "D"


def test_server_lost_finishes_the_leg_then_stops_and_resumes_when_back() -> None:
    run = Run(assignment=booking())
    run.frames(3)
    run.frames(3, [far("B")])  # B reserved and granted
    run.server_ok = False
    outs = run.frames(50)  # 2.5 s without the server: still driving the leg
    assert outs[-1].state is CarState.DRIVING and "server lost" in outs[-1].reason
    outs = run.frames(6, [near("B")]) + run.frames(3)
    assert outs[-1].state is CarState.STOPPED and outs[-1].left_mps == 0.0
    assert "stopped at B" in outs[-1].reason
    assert ("progress", "B") in run.kinds("progress")
    assert all(o.state is CarState.STOPPED for o in run.frames(20))
    run.server_ok = True
    out = run.frame()
    assert out.state is CarState.DRIVING and out.left_mps > 0


def test_server_lost_before_a_reservation_stops_short_of_the_node() -> None:
    run = Run(assignment=booking())
    run.frames(3)
    run.server_ok = False
    run.frames(50)
    out = run.frame([near("B")])
    assert out.state is CarState.STOPPED and "before entering B" in out.reason
    assert ("progress", "B") not in run.kinds("progress")


def test_server_lost_stops_short_of_an_unheld_node_whose_sign_is_never_seen() -> None:
    """Odometry alone keeps the car out of a junction it does not hold (a missed sign)."""
    run = Run(assignment=booking())
    run.legs = (1.0, 1.0, 1.0)
    run.frames(3)
    run.server_ok = False
    outs = run.frames(400)  # 20 s, no sign ever recognised
    assert outs[-1].state is CarState.STOPPED and "before entering B" in outs[-1].reason
    assert 1.0 - 0.15 - 0.02 < run.odometry <= 1.0 - 0.15 + 0.01
    assert all(o.left_mps == 0.0 for o in outs[-100:])
    assert ("progress", "B") not in run.kinds("progress")
    run.server_ok = True
    outs = run.frames(20)
    assert ("reserve", "B") in run.kinds("reserve")
    assert outs[-1].state is CarState.DRIVING and outs[-1].left_mps > 0


def test_an_unanswered_node_is_not_entered_by_odometry_either() -> None:
    run = Run(assignment=booking())
    run.legs = (1.0, 1.0, 1.0)
    run.unanswered.add("B")
    outs = run.frames(400)
    assert outs[-1].state is CarState.WAITING_AT_INTERSECTION and "no answer" in outs[-1].reason
    assert 1.0 - 0.15 - 0.02 < run.odometry <= 1.0 - 0.15 + 0.01
    run.unanswered.clear()
    outs = run.frames(40)
    assert outs[-1].state is CarState.DRIVING and run.odometry > 1.0


def test_invalid_assignment_is_a_safe_stop() -> None:
    run = Run(assignment={"id": "bk9", "route": {"steps": []}})
    out = run.frame()
    assert out.state is CarState.STOPPED and "invalid assignment" in out.reason
    assert run.frame().left_mps == 0.0


def test_single_step_route_arrives_at_once() -> None:
    run = Run(assignment=booking(("arrive",), nodes="A"))
    out = run.frame()
    assert out.state is CarState.ARRIVED
    assert run.kinds("arrived") == [("arrived", "A")]


def test_a_car_before_its_first_junction_holds_that_node_before_moving() -> None:
    run = Run(assignment=booking(turns=("left", "straight", "right", "arrive")))
    run.busy.add("A")
    outs = run.frames(25)
    assert run.kinds("reserve")[0] == ("reserve", "A")
    assert all((o.left_mps, o.right_mps) == (0.0, 0.0) for o in outs)
    assert outs[-1].state is CarState.WAITING_AT_INTERSECTION
    assert len(run.kinds("reserve")) >= 2  # it keeps asking
    run.busy.clear()
    outs = run.frames(15)  # the next retry comes within reserve_retry_s
    moving = [o for o in outs if o.left_mps > 0]
    assert moving and moving[0].command == "left"  # the first junction's turn, first
    run.frames(10)
    for node in "BCD":
        run.pass_node(node)
    assert run.planner.state is CarState.ARRIVED
    # A is given back once B is reached; nothing is left held at the end
    releases = [n for k, n in run.kinds("release")]
    assert releases.index("A") < releases.index("B")
    held = {n for k, n in run.kinds("reserve")} - set(releases)
    assert held == set()


def test_a_node_is_given_back_once_the_car_has_left_its_junction() -> None:
    # Held for the whole next leg, a node would deadlock two cars meeting on a two-way
    # street (each holding the node the other needs next).
    run = Run(assignment=booking())
    run.frames(3)
    run.pass_node("B")
    assert ("release", "B") not in run.kinds("release")
    run.frames(int(2.0 / (0.10 * DT)))  # 2 m at turn speed at most: past B's junction
    assert ("release", "B") in run.kinds("release")
    assert run.planner.state is CarState.DRIVING
    run.pass_node("C")
    run.pass_node("D")
    assert run.planner.state is CarState.ARRIVED
    assert run.kinds("release").count(("release", "B")) == 1


def test_a_sign_seen_far_off_does_not_stop_the_car_when_the_leg_is_known() -> None:
    # A straight leg shows the next node's sign from the last junction. With the map's
    # leg lengths the car asks for that node 0.5 m before it, not when the sign shows:
    # waiting on a busy node from the far end of the leg would hold the junction the car
    # stands in (two cars meeting on a two-way street then wait for each other).
    run = Run(assignment=booking())
    run.legs = (2.0, 1.0, 1.0)
    run.busy = {"B"}
    run.frame([far("B")])  # takes the assignment
    outs = [run.frame([far("B")]) for _ in range(10)]
    assert run.kinds("reserve") == []
    assert all(out.state is CarState.DRIVING and out.left_mps > 0 for out in outs)
    while run.odometry < 1.45:
        run.frame([far("B")])
    assert run.kinds("reserve") == []
    outs = [run.frame([far("B")]) for _ in range(20)]
    assert run.kinds("reserve")[:1] == [("reserve", "B")]  # 0.5 m before B
    assert outs[-1].state is CarState.WAITING_AT_INTERSECTION and outs[-1].left_mps == 0.0
    assert 1.5 <= run.odometry < 1.6


def test_without_leg_lengths_the_sign_coming_into_view_asks_for_the_node() -> None:
    run = Run(assignment=booking())
    run.frame([far("B")])
    run.frame([far("B")])
    assert run.kinds("reserve") == [("reserve", "B")]


def test_waiting_on_a_busy_node_gives_back_the_node_left_behind_on_a_short_leg() -> None:
    # B→C is 1.5 m: 0.5 m before C the car has not driven `junction_clear_m` past B's
    # sign, so it still holds B. Another car holding C and waiting for B (coming the other
    # way) would wait for ever; waiting on busy C, the car gives B back once it is
    # `busy_release_m` past B's mouth — and not before.
    run = Run(assignment=booking())
    run.legs = (1.0, 1.5, 1.0)
    run.busy = {"C"}
    while run.odometry < 0.5:
        run.frame()
    run.pass_node("B")
    assert run.kinds("progress") == [("progress", "B")]
    passed_b = run.odometry
    while run.planner.state is not CarState.WAITING_AT_INTERSECTION:
        run.frame()
        assert run.odometry - passed_b < 1.5
    assert ("reserve", "C") in run.kinds("reserve")
    run.frames(40)
    assert run.kinds("release") == [("release", "B")]
    released_at = next(i for i, a in enumerate(run.actions) if (a.kind, a.node) == ("release", "B"))
    assert run.odometry - passed_b >= 0.9
    assert released_at > 0
    run.busy.clear()
    run.frames(40)
    assert run.planner.state is CarState.DRIVING
    assert run.kinds("release").count(("release", "B")) == 1


def test_a_busy_node_does_not_give_back_a_junction_the_car_is_still_in() -> None:
    run = Run(assignment=booking())
    run.legs = (1.0, 0.6, 1.0)  # C 0.6 m after B: waiting for C, the car is still in B
    run.busy = {"C"}
    while run.odometry < 0.5:
        run.frame()
    run.pass_node("B")
    assert run.kinds("progress") == [("progress", "B")]
    run.frames(60)
    assert run.planner.state is CarState.WAITING_AT_INTERSECTION
    assert run.kinds("release") == []


def test_a_new_route_equal_to_the_last_one_still_restarts_the_stopped_car() -> None:
    # Stopped for a wrong sign, the car asks for a new route; the server may send the
    # same steps again. The runtime counts its reroutes, so the answer is a new trip.
    run = Run(assignment=booking())
    run.wrong_sign_after_b()
    assert run.planner.state is CarState.STOPPED
    run.assignment = {**booking(("depart", "straight", "arrive"), nodes="BCD")}
    assert run.frame().state is CarState.ASSIGNED
    start = run.odometry
    while run.odometry < start + 1.0:
        run.frame()
    run.frames(12, [near("E")])
    assert run.planner.state is CarState.STOPPED
    assert run.frames(3)[-1].state is CarState.STOPPED  # same dict: nothing new
    run.assignment = {**booking(("depart", "straight", "arrive"), nodes="BCD"), "rerouted": 2}
    assert run.frame().state is CarState.ASSIGNED
    assert run.frame().state is CarState.DRIVING


def test_a_started_u_turn_is_driven_as_a_half_circle_from_lane_to_lane() -> None:
    """Once the lane model steers into a u-turn, the planner drives a half circle of half
    the lane width on the wheels' odometry, ending in the other lane facing back."""
    config = PlannerConfig()
    radius = 0.15  # no map: half the default lane width of 0.3 m
    half = config.geometry.wheel_base_m / (2 * radius)
    arc_ratio = (1 + half) / (1 - half)
    run = Run(assignment=booking(("u-turn", "right", "arrive"), nodes="ABC"))
    run.yaw = 0.0
    x = y = 0.0
    in_arc = 0
    for k in range(400):
        # The model drives straight, then starts the turn; alone it would turn gently.
        yaw_before = run.yaw
        out = run.frame(steering=0.0 if k < 20 else 0.4)
        v = (out.left_mps + out.right_mps) / 2
        heading = (yaw_before + run.yaw) / 2
        x, y = x + v * math.cos(heading) * DT, y + v * math.sin(heading) * DT
        arc = out.left_mps > 0 and out.right_mps / out.left_mps == pytest.approx(arc_ratio)
        if arc:
            in_arc += 1
            assert out.command == "left"
        elif in_arc:
            break
    else:
        raise AssertionError("the half circle never ended")
    assert in_arc > 20
    assert math.degrees(run.yaw) == pytest.approx(config.u_turn_arc_deg, abs=2.0)
    # lane to lane: two radii across (the straight run before was along +x), facing back
    assert y == pytest.approx(2 * radius, abs=0.01)
    # and back to the lane model: its steering 0.4 now curves the car gently, not round
    model = wheel_speeds(0.4, 1.0)
    assert out.right_mps / out.left_mps == pytest.approx(model[1] / model[0])


def test_a_u_turn_the_lane_model_never_starts_is_not_driven_by_the_planner() -> None:
    run = Run(assignment=booking(("u-turn", "right", "arrive"), nodes="ABC"))
    run.yaw = 0.0
    model = wheel_speeds(0.2, 1.0)
    driven = 0
    for out in run.frames(60, steering=0.2):  # below u_turn_commit_steering
        if out.left_mps > 0:
            driven += 1
            assert out.right_mps / out.left_mps == pytest.approx(model[1] / model[0])
    assert driven > 50


def test_rerouted_from_the_node_whose_sign_is_ahead_the_car_holds_it_until_past_it() -> None:
    # The car saw E's sign instead of C's: it is on a road into E, before E's junction.
    # The new route starts at E. Its hold and the leg to D count from where E's sign is
    # passed: counted from the reroute, the car took itself to be at D's mouth and, waiting
    # on busy D, gave E back while it was still to cross it, and another car drove in.
    run = Run(assignment=booking())
    run.legs = (1.0, 3.0, 1.0)
    run.wrong_sign_after_b()
    assert run.planner.state is CarState.STOPPED
    run.assignment = booking(("straight", "arrive"), nodes="ED")
    run.legs = (1.0,)
    run.busy = {"D"}
    assert run.frame([near("E")]).state is CarState.ASSIGNED
    start = run.odometry
    while run.odometry < start + 1.2:  # still coming up to E: its sign in view
        out = run.frame([near("E")])
        assert out.state is CarState.DRIVING and out.command == "straight"
    assert ("reserve", "E") in run.kinds("reserve")
    assert ("reserve", "D") not in run.kinds("reserve")  # D is over 1 m away yet
    sign_passed = run.odometry
    run.frames(80)  # E's sign behind; D busy: the car waits before D
    assert run.planner.state is CarState.WAITING_AT_INTERSECTION
    assert ("reserve", "D") in run.kinds("reserve")
    waited_at = run.odometry
    busy_release = run.planner.config.busy_release_m
    # by the map, D's mouth is 0.5 m past E's sign: the car is still in E's junction
    assert waited_at - sign_passed == pytest.approx(0.5, abs=0.05)
    assert waited_at - sign_passed < busy_release
    assert ("release", "E") not in run.kinds("release")
    run.busy.clear()
    run.frames(10)
    assert run.planner.state is CarState.DRIVING
