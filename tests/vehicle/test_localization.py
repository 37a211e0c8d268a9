"""RouteTracker: which node the car has reached, from scripted detector frames."""

from __future__ import annotations

import pytest

from vehicle.localization import (
    LocalizationConfig,
    RouteStep,
    RouteTracker,
    lane_command,
    steps_from_route,
)
from vehicle.perception.detections import Detection, filter_detections

ROUTE = {
    "steps": [
        {"node": "A", "sign": "red-circle", "turn": "depart"},
        {"node": "B", "sign": "blue-square", "turn": "left"},
        {"node": "C", "sign": "blue-square", "turn": "u-turn"},
        {"node": "D", "sign": "green-diamond", "turn": "arrive"},
    ],
    "length_m": 3.0,
}
CONFIG = LocalizationConfig(
    window=6, hits=3, wrong_sign_hits=4, refractory_frames=2, pass_frames=0, wrong_sign_after_m=0.0
)


def sign(label: str, *, height: float = 0.2, cx: float = 0.75, score: float = 0.9) -> Detection:
    """A sign box of `height`, centred at x = `cx`, in the upper half of the frame."""
    return Detection(label, score, (0.2, cx - 0.05, 0.2 + height, cx + 0.05))


def tracker(**kwargs: object) -> RouteTracker:
    return RouteTracker(steps_from_route(ROUTE), config=CONFIG, **kwargs)


def feed(t: RouteTracker, frames: list[list[Detection]], odometry_m: float = 0.0) -> list:
    events = []
    for frame in frames:
        events += t.update(frame, odometry_m=odometry_m)
    return events


def test_detection_geometry_and_filter() -> None:
    det = Detection("car", 0.8, (0.5, 0.25, 0.9, 0.75))
    assert det.height == pytest.approx(0.4) and det.width == pytest.approx(0.5)
    assert (det.center_x, det.center_y) == pytest.approx((0.5, 0.7))
    assert det.area == pytest.approx(0.2)
    assert filter_detections([det, sign("red-circle", score=0.3)], min_score=0.5) == [det]
    with pytest.raises(ValueError, match="box"):
        Detection("car", 0.8, (0.9, 0.1, 0.5, 0.2))


def test_route_step_from_dict_validates() -> None:
    assert RouteStep.from_dict({"node": "B", "sign": "x", "turn": "left"}).turn == "left"
    with pytest.raises(ValueError, match="turn"):
        RouteStep.from_dict({"node": "B", "sign": "x", "turn": "sideways"})
    with pytest.raises(ValueError, match="node"):
        RouteStep.from_dict({"sign": "x", "turn": "left"})
    with pytest.raises(ValueError, match="hits"):
        LocalizationConfig(window=3, hits=4)


def test_reached_after_k_of_n_frames() -> None:
    t = tracker()
    b = sign("blue-square")
    assert feed(t, [[b], [], [b]]) == []
    assert t.index == 0 and t.expected.node == "B"
    (event,) = feed(t, [[], [b]])
    assert (event.kind, event.node, event.index) == ("reached", "B", 1)
    assert t.index == 1 and t.expected.node == "C"


def test_low_scores_do_not_count() -> None:
    t = tracker()
    assert feed(t, [[sign("blue-square", score=0.6)]] * 6) == []


def test_tiny_far_box_is_not_reached() -> None:
    t = tracker()
    assert feed(t, [[sign("blue-square", height=0.04)]] * 6) == []
    assert t.index == 0


def test_frame_filling_box_is_not_reached() -> None:
    t = tracker()
    assert feed(t, [[Detection("blue-square", 0.9, (0.0, 0.4, 0.97, 1.0))]] * 6) == []


def test_sign_on_the_wrong_side_is_not_reached() -> None:
    t = tracker()
    assert feed(t, [[sign("blue-square", cx=0.2)]] * 6) == []
    left_hand = RouteTracker(
        steps_from_route(ROUTE),
        config=LocalizationConfig(side="left", window=6, hits=3, pass_frames=0),
    )
    assert [e.kind for e in feed(left_hand, [[sign("blue-square", cx=0.2)]] * 3)] == ["reached"]


def test_same_sign_at_consecutive_nodes_counts_again_only_after_it_disappears() -> None:
    t = tracker()
    b = sign("blue-square")
    assert [e.node for e in feed(t, [[b]] * 3)] == ["B"]
    # B's sign stays in view while the car passes it: it must not count as C.
    assert feed(t, [[b]] * 10) == []
    assert t.expected.node == "C"
    assert feed(t, [[], []]) == []  # gone for refractory_frames
    assert [e.node for e in feed(t, [[b]] * 3)] == ["C"]


def test_steady_wrong_sign_is_reported_once() -> None:
    t = tracker()
    y = sign("yellow-triangle")
    events = feed(t, [[y]] * 10)
    assert [(e.kind, e.node, e.index) for e in events] == [("wrong_sign", "B", 1)]
    assert "yellow-triangle" in events[0].detail


def test_the_node_just_passed_is_never_a_wrong_sign() -> None:
    steps = [
        RouteStep("A", "red-circle", "depart"),
        RouteStep("B", "blue-square", "straight"),
        RouteStep("C", "green-circle", "arrive"),
    ]
    t = RouteTracker(steps, config=CONFIG)
    b = sign("blue-square")
    assert [e.kind for e in feed(t, [[b]] * 3)] == ["reached"]
    assert feed(t, [[b]] * 10) == []  # B's sign lingers while the car passes it
    assert feed(t, [[], []]) == []
    # Other boards of B (one per road into it) show as the car turns through its
    # junction: the node just passed is never a wrong sign.
    assert feed(t, [[b]] * 6) == []
    assert [(e.kind, e.node) for e in feed(t, [[sign("red-circle")]] * 6)] == [("wrong_sign", "C")]


def test_a_flickering_other_sign_is_not_a_wrong_sign() -> None:
    t = tracker()
    y = sign("yellow-triangle")
    assert feed(t, [[y], [], [], [y], [], [], [y], []]) == []


def test_missed_node_by_odometry() -> None:
    # A node is missed once the car drove its leg, the next leg (where the next sign
    # would have shown it passed, see the skip-ahead test) and the margin (1 m).
    t = tracker(leg_lengths_m=[1.0, 0.8, 1.2])
    assert feed(t, [[]], odometry_m=1.9) == []
    assert t.leg_remaining_m(1.9) == pytest.approx(-0.9)
    assert feed(t, [[]], odometry_m=2.7) == []
    (event,) = feed(t, [[]], odometry_m=2.9)
    assert (event.kind, event.node) == ("missed", "B")
    assert feed(t, [[]], odometry_m=3.5) == []  # once
    # Legs are measured from where the last node was reached.
    t2 = tracker(leg_lengths_m=[1.0, 0.8, 1.2])
    feed(t2, [[sign("blue-square")]] * 3, odometry_m=1.0)
    assert t2.leg_remaining_m(1.5) == pytest.approx(0.3)
    assert feed(t2, [[]], odometry_m=3.9) == []
    assert [e.kind for e in feed(t2, [[]], odometry_m=4.1)] == ["missed"]


def test_a_sign_never_in_view_is_passed_when_the_next_nodes_is_near() -> None:
    # On a curved approach the camera may never face a node's sign; the next node's
    # sign up close shows the car passed it (with its turn as the lane command).
    t = tracker(leg_lengths_m=[1.0, 0.8, 1.2])
    feed(t, [[sign("blue-square")]] * 3, odometry_m=1.0)  # B reached
    nxt = t.steps[t.index + 2]
    assert nxt.sign != t.expected.sign
    assert feed(t, [[sign(nxt.sign)]] * 3, odometry_m=1.2) == []  # too early in the leg
    t3 = tracker(leg_lengths_m=[1.0, 0.8, 1.2])
    feed(t3, [[sign("blue-square")]] * 3, odometry_m=1.0)
    expected = t3.expected.node
    events = feed(t3, [[sign(nxt.sign)]] * CONFIG.hits, odometry_m=1.6)
    assert [(e.kind, e.node) for e in events] == [("reached", expected)]
    # the sightings kept count: the next node is reached without waiting a window
    assert t3.expected.node == nxt.node
    (event,) = feed(t3, [[sign(nxt.sign)]], odometry_m=1.7)
    assert (event.kind, event.node) == ("reached", nxt.node)


def test_the_next_sign_near_does_not_skip_a_node_the_car_cannot_be_past_yet() -> None:
    # Legs of 2 m: the next node's sign seen steadily 1.3 m into the leg (past its half)
    # is the expected node's own sign misread (the car is short of it), not the car two
    # junctions on.
    t = tracker(leg_lengths_m=[1.0, 2.0, 2.0])
    feed(t, [[sign("blue-square")]] * 3, odometry_m=1.0)  # B reached
    expected = t.expected.node
    nxt = t.steps[t.index + 2]
    early = feed(t, [[sign(nxt.sign)]] * 6, odometry_m=2.3)
    assert "reached" not in [e.kind for e in early]  # (without a map: a wrong sign)
    assert t.expected.node == expected
    # ...but near the next node by odometry (both legs less 1.4 m), it is taken as passed
    events = feed(t, [[sign(nxt.sign)]], odometry_m=1.0 + 2.6)
    assert [(e.kind, e.node) for e in events] == [("reached", expected)]


def test_leg_lengths_must_match_the_route() -> None:
    with pytest.raises(ValueError, match="leg_lengths_m"):
        tracker(leg_lengths_m=[1.0])


def test_next_turn_mapping_and_finish() -> None:
    t = tracker()
    assert t.next_turn == "left"  # the turn at B
    feed(t, [[sign("blue-square")]] * 3)
    assert t.next_turn == "left"  # u-turn at C, right-hand traffic
    feed(t, [[]] * 2 + [[sign("blue-square")]] * 3)
    assert t.expected.node == "D" and t.next_turn == "straight"  # arrive
    feed(t, [[sign("green-diamond")]] * 3)
    assert t.finished and t.expected is None and t.next_turn == "straight"
    assert feed(t, [[sign("green-diamond")]] * 3) == []
    assert lane_command("u-turn", "left") == "right"
    assert lane_command("right") == "right"
    assert lane_command("depart") == "straight"


def test_with_pass_frames_a_node_is_reached_when_its_sign_leaves_the_view() -> None:
    # The sign is seen steadily well before the junction; the car is only at the
    # junction's mouth when the sign leaves the camera's view on the right.
    t = RouteTracker(
        steps_from_route(ROUTE),
        config=LocalizationConfig(window=6, hits=3, wrong_sign_hits=4, pass_frames=2),
    )
    b = sign("blue-square")
    assert feed(t, [[b]] * 8) == []  # steady, not yet passed
    assert t.expected.node == "B"
    assert feed(t, [[]]) == []  # one frame out of view: maybe a flicker
    assert feed(t, [[b]]) == []  # back in view: the count starts over
    assert feed(t, [[]]) == []
    assert [e.node for e in feed(t, [[]])] == ["B"]


def test_a_seen_sign_not_yet_passed_is_not_missed() -> None:
    steps = [
        RouteStep("A", "red-circle", "depart"),
        RouteStep("B", "blue-square", "straight"),
        RouteStep("C", "green-circle", "arrive"),
    ]
    config = LocalizationConfig(window=6, hits=3, wrong_sign_hits=4, pass_frames=2)
    t = RouteTracker(steps, leg_lengths_m=[1.0, 1.0], config=config)
    feed(t, [[sign("blue-square")]] * 4 + [[]] * 2, odometry_m=0.9)
    assert t.current.node == "B"
    c = sign("green-circle")
    feed(t, [[c]] * 4, odometry_m=1.5)  # armed within its leg
    assert feed(t, [[c]] * 4, odometry_m=3.5) == []  # past leg + margin, still in view
    assert [(e.kind, e.node) for e in feed(t, [[]] * 2, odometry_m=3.6)] == [("reached", "C")]


def test_a_departure_through_the_first_junction_is_allowed_for_on_the_first_leg_only():
    # A car standing before a dead end's u-turn drives the loop before the G→C leg's
    # node-to-node length begins: "missed" must not fire at leg + margin there.
    steps = [RouteStep("G", "green-triangle", "u-turn"), RouteStep("C", "green-circle", "arrive")]
    tracker = RouteTracker(steps, leg_lengths_m=(1.5,), start_allowance_m=1.5)
    assert tracker.update([], odometry_m=2.6) == []  # 1.5 m leg + 1 m margin
    assert tracker.update([], odometry_m=3.9) == []
    events = tracker.update([], odometry_m=4.1)
    assert [e.kind for e in events] == ["missed"]

    plain = RouteTracker(steps, leg_lengths_m=(1.5,))
    assert [e.kind for e in plain.update([], odometry_m=2.6)] == ["missed"]
    with pytest.raises(ValueError, match="start_allowance_m"):
        RouteTracker(steps, leg_lengths_m=(1.5,), start_allowance_m=-1.0)


def test_signs_swept_over_in_the_junction_just_passed_are_not_wrong_signs():
    # Turning through C towards A, the camera sweeps over G's board (a road not taken):
    # seen before `wrong_sign_after_m` into the leg, it is no wrong sign; the same sign
    # further on (the car did take G's road) is.
    config = LocalizationConfig(window=6, hits=3, wrong_sign_hits=4, pass_frames=0)
    steps = [RouteStep("C", "green-circle", "left"), RouteStep("A", "red-circle", "arrive")]
    t = RouteTracker(steps, leg_lengths_m=(3.0,), config=config)
    g = sign("green-triangle")
    for k in range(10):
        assert t.update([g], odometry_m=0.09 * k) == []  # 0 .. 0.81 m
    assert t.update([], odometry_m=1.0) == []
    events = []
    for k in range(6):
        events += t.update([g], odometry_m=1.05 + 0.05 * k)
    assert [(e.kind, e.node) for e in events] == [("wrong_sign", "A")]
    with pytest.raises(ValueError, match="wrong_sign_after_m"):
        LocalizationConfig(wrong_sign_after_m=-0.5)


def test_a_departure_that_takes_the_wrong_road_sees_a_wrong_sign_before_passing_it():
    # Departing C with a left turn towards A (3.3 m), the car went straight to D (2 m):
    # D's sign 1.2-1.5 m into the leg is a wrong sign, even with the departure allowance.
    config = LocalizationConfig(window=6, hits=3, wrong_sign_hits=4, pass_frames=0)
    steps = [RouteStep("C", "green-circle", "left"), RouteStep("A", "red-circle", "arrive")]
    t = RouteTracker(steps, leg_lengths_m=(3.3,), config=config, start_allowance_m=1.5)
    d = sign("yellow-circle")
    events = []
    for k in range(6):
        events += t.update([d], odometry_m=1.2 + 0.05 * k)
    assert [(e.kind, e.node, e.sign) for e in events] == [("wrong_sign", "A", "yellow-circle")]


def test_a_car_is_never_a_wrong_sign():
    t = tracker()
    car = Detection("car", 0.9, (0.3, 0.55, 0.8, 0.95))  # big, on the drive side
    assert feed(t, [[car]] * 10) == []


def test_a_node_is_not_reached_far_too_early_in_its_leg_by_odometry() -> None:
    # Legs of 2.4 m: after B is passed, C's sign seen steadily 0.8 m on (another node's
    # board misread as C's) does not reach C; counting starts at min(half the leg, the leg
    # but 1 m) = 1.2 m, and from there C's real sightings reach it.
    t = tracker(leg_lengths_m=[1.0, 2.4, 2.4])
    feed(t, [[sign("blue-square")]] * 3, odometry_m=1.0)  # B reached
    feed(t, [[]] * CONFIG.refractory_frames, odometry_m=1.1)  # B's board out of view
    assert t.expected.node == "C"
    assert feed(t, [[sign("blue-square")]] * 6, odometry_m=1.8) == []
    assert t.expected.node == "C"
    # a frame past the earliest point is not enough: `hits` of them are needed
    assert feed(t, [[sign("blue-square")]] * (CONFIG.hits - 1), odometry_m=2.3) == []
    (event,) = feed(t, [[sign("blue-square")]], odometry_m=2.3)
    assert (event.kind, event.node) == ("reached", "C")


def test_short_legs_and_the_first_leg_have_no_odometry_floor() -> None:
    # A 1 m leg: min(0.5 m, 0 m) = 0, the sign counts at once after the last node.
    t = tracker(leg_lengths_m=[1.0, 1.0, 1.0])
    feed(t, [[sign("blue-square")]] * 3, odometry_m=1.0)
    feed(t, [[]] * CONFIG.refractory_frames, odometry_m=1.0)
    (event,) = feed(t, [[sign("blue-square")]] * 3, odometry_m=1.05)
    assert (event.kind, event.node) == ("reached", "C")
    # The first leg: the car may start anywhere along it (a reroute from the last node
    # confirmed), so its first node's sign counts at once.
    first = tracker(leg_lengths_m=[3.0, 3.0, 3.0])
    (event,) = feed(first, [[sign("blue-square")]] * 3, odometry_m=0.1)
    assert (event.kind, event.node) == ("reached", "B")


def test_the_reach_floor_is_validated() -> None:
    with pytest.raises(ValueError, match="reach_min_leg_fraction"):
        LocalizationConfig(reach_min_leg_fraction=1.5)
    with pytest.raises(ValueError, match="reach_max_early_m"):
        LocalizationConfig(reach_max_early_m=-0.1)
