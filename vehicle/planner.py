"""The car's driving decisions: an explicit state machine, pure and clocked from outside.

Every frame the runtime calls `Planner.step` with what it knows (the assignment, the
lane model's steering, the detections, the odometry, the answer to the last node
reservation, whether the server answers) and gets wheel speeds, the lane model's
command and the actions to carry out through the fleet client. The planner does no
I/O, so its tests script frames and check decisions.

States::

    IDLE ──assignment──▶ ASSIGNED ──▶ DRIVING ──last node──▶ ARRIVED
                                      │  ▲  ▲
                   reservation busy   │  │  │  car box gone for resume_frames
          (or no answer at the sign)  ▼  │  │
                    WAITING_AT_INTERSECTION  STOPPED_FOR_CAR ◀── car box ahead
    any active state ──wrong sign / missed node / server lost at a node──▶ STOPPED

Node reservations (see docs/server.md): every route node after the start is reserved
before the car enters it — when the leg's remaining length (if known) drops under
`reserve_distance_m`, or when the node's sign first comes into view. The car enters
only once granted: busy means WAITING (wheels 0, retry every `reserve_retry_s`); no
answer yet when the sign is already near means WAITING too. Held nodes are renewed
every `renew_interval_s` (the server's lease is 10 s) and the previous node is
released once the next is reached; everything is released on arrival.

Contract with the runtime for `PlannerInput.reservation_granted`: it is the answer to
the most recent ``reserve`` action executed (True granted, False busy), None while
none came (not sent yet, or the server unreachable). The runtime resets it to None
when it sends a new ``reserve``.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from city.kinematics import CarGeometry, curvature_wheel_speeds, wheel_speeds
from city.turns import TURNS
from vehicle.localization import (
    LocalizationConfig,
    LocalizationEvent,
    RouteTracker,
    lane_command,
    steps_from_route,
)
from vehicle.perception.detections import CAR_LABEL, Detection
from vehicle.sign_map import SignMap

log = logging.getLogger(__name__)

_LANE_WIDTH_M = 0.3  # the lanes a u-turn joins when the car has no map (the town's)

ActionKind = Literal["reserve", "release", "progress", "arrived", "reroute"]


class CarState(enum.Enum):
    IDLE = "idle"
    ASSIGNED = "assigned"
    DRIVING = "driving"
    WAITING_AT_INTERSECTION = "waiting_at_intersection"
    STOPPED_FOR_CAR = "stopped_for_car"
    ARRIVED = "arrived"
    STOPPED = "stopped"  # safe stop: fault, server lost, wrong route


class _StopCause(enum.Enum):
    REROUTE = "reroute"
    SERVER = "server"
    FAULT = "fault"


@dataclass(frozen=True)
class PlannerConfig:
    """Speeds, distances and thresholds of the planner (metres, seconds, image fractions)."""

    cruise_speed_mps: float = 0.16
    turn_speed_mps: float = 0.10
    curve_slowdown: float = 0.5  # speed *= 1 - curve_slowdown * |steering|
    reserve_distance_m: float = 0.5
    # Unheld, the car also stops when odometry puts the next node this close, even if
    # its sign was never recognised: no junction is entered on a missed sign.
    hold_distance_m: float = 0.15
    reserve_retry_s: float = 0.5
    renew_interval_s: float = 3.0
    junction_exit_m: float = 1.4  # after a node's sign is passed, its turn goes on this far
    # By the leg's length a node is usually passed within this of where the last one was
    # (measured with perfect detections: p90 0.77 m). A node passed earlier than that (its
    # sign left the view early: a curved approach turns the camera away) holds its turn
    # and its reservation longer by the rest, so neither ends before its junction.
    early_pass_margin_m: float = 0.6
    depart_hold_m: float = 1.5  # a route's first turn (standing before its junction) this far
    junction_clear_m: float = 1.6  # after a node's sign is passed the car has left its junction
    # A u-turn's command holds until the wheels' odometry says the car has turned this
    # far (the lane model's u-turn is wider and longer than any fixed hold), but no more
    # than `u_turn_max_m` of driving.
    u_turn_min_deg: float = 170.0
    u_turn_max_m: float = 4.0
    # The lane model chooses where a u-turn starts (it sees the road end or the junction),
    # not its shape: its tightest learned loop (steering ~0.75, radius ~0.27 m) is wider
    # than two lanes, and carries the car off the road. Once the model steers this far to
    # the u-turn's side, the planner drives the rest as one half circle on the wheels'
    # odometry, lane centre to lane centre: radius `u_turn_radius_m` (default half the
    # map's lane width; a differential-drive car can turn that tight), at
    # `u_turn_speed_mps`, until the heading has turned `u_turn_arc_deg` since the u-turn
    # began. Then the model drives again, in the other lane.
    u_turn_commit_steering: float = 0.3
    u_turn_radius_m: float | None = None
    u_turn_speed_mps: float = 0.08
    u_turn_arc_deg: float = 180.0
    # Waiting on a busy node, the car gives back a node it passed at least this far back
    # (out of its junction even when `junction_clear_m` has not been driven yet): two
    # cars crossing on a short two-way street would otherwise each hold the other's next.
    busy_release_m: float = 0.9
    # Rerouted after a wrong sign, the new route starts at the node whose sign the car saw
    # ahead: the car stands on the road into it, before its junction, not at its mouth as
    # after an arrival. The node's hold, its turn and the leg then count from where its
    # sign is passed (out of view for `localization.pass_frames` frames), or at the latest
    # after this far. (Counted from the reroute, the node was given back while the car
    # still had to cross it, and another car drove in: a collision.)
    sign_ahead_max_m: float = 2.5
    # A car box counts as "ahead" when it is this tall, reaches this low in the image
    # (its wheels on the road close in front: a box's bottom edge gives its distance) and
    # is centred in [min_x, max_x]. With the default camera a car 0.65 m ahead (centre to
    # centre) stands 0.27 high with its bottom at 0.42.
    car_ahead_min_height: float = 0.25
    car_ahead_min_bottom: float = 0.4
    # In a turn the road ahead swings to the turn's side: the window's centre moves by
    # this times the steering (+1 = tightest left moves it left by this much of the image).
    # A car turning right through a junction it holds otherwise stops for the car waiting
    # at the next mouth of that junction, 0.3 m beside its path, and both wait for ever.
    car_ahead_steer_shift: float = 0.4
    car_ahead_min_x: float = 0.3
    car_ahead_max_x: float = 0.7
    car_min_score: float = 0.5
    resume_frames: int = 5
    server_timeout_s: float = 2.0
    localization: LocalizationConfig = field(default_factory=LocalizationConfig)
    geometry: CarGeometry = field(default_factory=CarGeometry)

    def __post_init__(self) -> None:
        for name in ("cruise_speed_mps", "turn_speed_mps"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be positive, got {getattr(self, name)}")
        if not 0.0 <= self.curve_slowdown <= 1.0:
            raise ValueError(f"curve_slowdown: must be in [0, 1], got {self.curve_slowdown}")
        for name in (
            "reserve_distance_m",
            "hold_distance_m",
            "reserve_retry_s",
            "renew_interval_s",
            "junction_exit_m",
            "early_pass_margin_m",
            "depart_hold_m",
            "junction_clear_m",
            "busy_release_m",
            "sign_ahead_max_m",
            "u_turn_max_m",
            "u_turn_commit_steering",
            "car_ahead_steer_shift",
            "server_timeout_s",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must not be negative, got {getattr(self, name)}")
        if not 0.0 < self.u_turn_min_deg <= 180.0:
            raise ValueError(f"u_turn_min_deg: must be in (0, 180], got {self.u_turn_min_deg}")
        if not 0.0 < self.u_turn_arc_deg <= 180.0:
            raise ValueError(f"u_turn_arc_deg: must be in (0, 180], got {self.u_turn_arc_deg}")
        if self.u_turn_speed_mps <= 0:
            raise ValueError(f"u_turn_speed_mps: must be positive, got {self.u_turn_speed_mps}")
        min_radius = self.geometry.wheel_base_m / 2
        if self.u_turn_radius_m is not None and self.u_turn_radius_m < min_radius:
            raise ValueError(
                f"u_turn_radius_m: must be at least half the wheel base ({min_radius} m), "
                f"got {self.u_turn_radius_m}"
            )
        if not 0.0 < self.car_ahead_min_height <= 1.0:
            raise ValueError(
                f"car_ahead_min_height: must be in (0, 1], got {self.car_ahead_min_height}"
            )
        if not 0.0 <= self.car_ahead_min_bottom <= 1.0:
            raise ValueError(
                f"car_ahead_min_bottom: must be in [0, 1], got {self.car_ahead_min_bottom}"
            )
        if not 0.0 <= self.car_ahead_min_x < self.car_ahead_max_x <= 1.0:
            raise ValueError("car_ahead_min_x, car_ahead_max_x: need 0 <= min < max <= 1")
        if not 0.0 <= self.car_min_score <= 1.0:
            raise ValueError(f"car_min_score: must be in [0, 1], got {self.car_min_score}")
        if self.resume_frames < 1:
            raise ValueError(f"resume_frames: must be at least 1, got {self.resume_frames}")


@dataclass(frozen=True)
class PlannerInput:
    """What the runtime knows this frame.

    `assignment` is the booking dict (``{"id", "route": {"steps", "length_m"}, ...}``) or
    None; a booking with a different id, route or ``"rerouted"`` count (the runtime counts
    the new routes it fetched: one can equal the last) replaces the current one.
    `leg_lengths_m` (optional, read with a new assignment) enables distance-based
    reservation and missed-node detection. `sign_map` (optional, likewise) lets the
    tracker tell a misread sign from a wrong turn. `odometry_m` is the total distance
    driven.
    """

    now: float
    assignment: Mapping[str, Any] | None
    steering: float
    detections: Sequence[Detection]
    odometry_m: float
    reservation_granted: bool | None
    server_ok: bool
    leg_lengths_m: Sequence[float] | None = None
    yaw_rad: float | None = None
    sign_map: SignMap | None = None
    # Wall-clock seconds (monotonic), what the server's node leases run on: holds are
    # renewed by it. `now` is the frame's clock, which in a synchronous simulation runs
    # slower than the wall (renewed every 3 s of sim time, leases ran out at a fifth of
    # real time and a second car was granted the node). None: `now` is the wall.
    wall_now: float | None = None


@dataclass(frozen=True)
class Action:
    """Something for the runtime to do through the fleet client."""

    kind: ActionKind
    node: str | None
    booking: str | None
    detail: str = ""
    sign: str | None = None  # reroute after a wrong sign: the sign the car sees instead
    expected: str | None = None  # reroute: the node whose sign the car was looking for


@dataclass(frozen=True)
class PlannerOutput:
    """The decision for this frame. `node` is the last node the car confirmed."""

    state: CarState
    left_mps: float
    right_mps: float
    command: str
    actions: tuple[Action, ...]
    reason: str
    node: str | None = None
    events: tuple[LocalizationEvent, ...] = ()


class Planner:
    """The car's state machine. `step` once per frame; see the module docstring."""

    def __init__(self, config: PlannerConfig | None = None) -> None:
        self.config = config or PlannerConfig()
        self._state = CarState.IDLE
        self._car_ahead = False
        self._clear_frames = 0
        self._down_since: float | None = None
        self._server_lost = False
        self._rerouted_sign: str | None = None  # the sign seen instead, at the last reroute
        self._reset_trip()

    def _reset_trip(self) -> None:
        self._tracker: RouteTracker | None = None
        self._booking: str | None = None
        self._route_key: tuple[Any, ...] | None = None
        self._held: dict[str, float] = {}  # node -> when last granted or renewed
        self._pending: str | None = None  # node asked for, not granted yet
        self._busy = False  # the pending node was refused
        self._asked: tuple[str, bool] | None = None  # last reserve sent: (node, is_acquire)
        self._last_sent = 0.0
        self._approach = False  # the expected node is close (reserve triggered)
        self._hold_turn: str | None = None
        self._hold_until_m = 0.0
        self._u_turn_from: tuple[float, float] | None = None  # (odometry, yaw) at its start
        self._u_arc = False  # the planner drives the u-turn's half circle (see u_turn_*)
        self._depart: str | None = None  # a junction to hold before moving on (first node)
        self._depart_clear_m = 0.0  # once it is granted, give it back after this far
        self._release_at: dict[str, float] = {}  # held node -> odometry past its junction
        self._mouth_at: dict[str, float] = {}  # held node -> odometry at its junction's mouth
        self._stop_cause: _StopCause | None = None
        self._stop_reason = ""
        self._sign_ahead: str | None = None  # the start node's sign, ahead (see sign_ahead_max_m)
        self._sign_ahead_from = 0.0
        self._sign_gone = 0

    @property
    def state(self) -> CarState:
        return self._state

    @property
    def tracker(self) -> RouteTracker | None:
        return self._tracker

    # ------------------------------------------------------------------ per frame
    def step(self, inp: PlannerInput) -> PlannerOutput:
        actions: list[Action] = []
        if inp.assignment is None:
            return self._no_assignment(actions)
        key = _route_key(inp.assignment)
        if key != self._route_key:
            return self._new_assignment(inp, key, actions)

        self._watch_server(inp)
        self._watch_cars(inp.detections, inp.steering)
        if self._state in (CarState.IDLE, CarState.ARRIVED):
            return self._still(actions, "arrived" if self._state is CarState.ARRIVED else "idle")
        self._take_answer(inp)
        self._renew(inp, actions)
        if self._state is CarState.STOPPED:
            cause = self._stop_cause
            if cause is not _StopCause.SERVER or self._server_lost:
                return self._still(actions, self._stop_reason)
            log.info("planner: server back, resuming")
        return self._drive(inp, actions)

    # ------------------------------------------------------------------ assignments
    def _no_assignment(self, actions: list[Action]) -> PlannerOutput:
        if self._state is not CarState.IDLE:
            self._release(actions, keep=())
            log.info("planner: assignment gone, idle")
            self._reset_trip()
            self._state = CarState.IDLE
        return self._still(actions, "no assignment")

    def _new_assignment(
        self, inp: PlannerInput, key: tuple[Any, ...], actions: list[Action]
    ) -> PlannerOutput:
        booking = inp.assignment
        assert booking is not None
        same_booking = self._booking is not None and booking.get("id") == self._booking
        try:
            steps = steps_from_route(booking.get("route") or {})
            departs_with_turn = steps[0].turn in TURNS
            sign_ahead = same_booking and self._rerouted_sign == steps[0].sign
            allowance = self.config.depart_hold_m if departs_with_turn else 0.0
            tracker = RouteTracker(
                steps,
                leg_lengths_m=inp.leg_lengths_m,
                config=self.config.localization,
                odometry_m=inp.odometry_m,
                start_allowance_m=allowance + (self.config.sign_ahead_max_m if sign_ahead else 0),
                sign_map=inp.sign_map,
            )
        except ValueError as exc:
            self._release(actions, keep=())
            held_booking = booking.get("id")
            self._reset_trip()
            self._route_key = key
            self._booking = held_booking if isinstance(held_booking, str) else None
            log.error("planner: unusable assignment: %s", exc)
            return self._stop(_StopCause.FAULT, actions, f"invalid assignment: {exc}")
        self._release(actions, keep=(steps[0].node,) if same_booking else ())
        held = dict(self._held)
        self._reset_trip()
        self._held = held
        self._tracker, self._route_key = tracker, key
        self._booking = str(booking.get("id")) if booking.get("id") is not None else None
        self._state = CarState.ASSIGNED
        self._rerouted_sign = None
        if sign_ahead:
            self._sign_ahead, self._sign_ahead_from = steps[0].sign, inp.odometry_m
        what = "new route" if same_booking else "assignment"
        log.info("planner: %s %s → %s", what, steps[0].node, steps[-1].node)
        if tracker.finished:
            return self._arrive(actions, "already at the destination")
        first_turn = steps[0].turn
        if departs_with_turn:
            # The car stands before the junction at its first node: it takes that turn
            # first, and (like any junction) only once the node is granted.
            self._hold(first_turn, inp, self.config.depart_hold_m)
            if steps[0].node not in self._held:
                self._depart = steps[0].node
                self._depart_clear_m = self.config.depart_hold_m + 0.3
                self._pending, self._busy = steps[0].node, False
                self._send_reserve(steps[0].node, inp.now, actions, acquire=True)
        return self._still(actions, f"{what}: {' → '.join(s.node for s in steps)}")

    # ------------------------------------------------------------------ watchers
    def _watch_server(self, inp: PlannerInput) -> None:
        if inp.server_ok:
            self._down_since = None
            self._server_lost = False
            return
        if self._down_since is None:
            self._down_since = inp.now
        if not self._server_lost and inp.now - self._down_since > self.config.server_timeout_s:
            self._server_lost = True
            log.warning("planner: server lost; finishing the leg, then stopping")

    def _watch_cars(self, detections: Sequence[Detection], steering: float) -> None:
        cfg = self.config
        shift = -cfg.car_ahead_steer_shift * max(-1.0, min(1.0, steering))
        ahead = any(
            d.label == CAR_LABEL
            and d.score >= cfg.car_min_score
            and d.height >= cfg.car_ahead_min_height
            and cfg.car_ahead_min_x + shift <= d.center_x <= cfg.car_ahead_max_x + shift
            and d.box[2] >= cfg.car_ahead_min_bottom
            for d in detections
        )
        if ahead:
            self._car_ahead, self._clear_frames = True, 0
        elif self._car_ahead:
            self._clear_frames += 1
            if self._clear_frames >= cfg.resume_frames:
                self._car_ahead = False

    # ------------------------------------------------------------------ reservations
    def _send_reserve(self, node: str, now: float, actions: list[Action], *, acquire: bool) -> None:
        """Ask for `node` (acquire: `now` on the frame clock, for the retry timer) or renew
        its lease (`now` on the lease clock, see `_lease_clock`)."""
        actions.append(Action("reserve", node, self._booking, "" if acquire else "renew"))
        self._asked = (node, acquire)
        if acquire:
            self._last_sent = now
        else:
            self._held[node] = now

    def _renew(self, inp: PlannerInput, actions: list[Action]) -> None:
        """Renew the lease of each held node every `renew_interval_s` of wall time."""
        now = _lease_clock(inp)
        for node, since in list(self._held.items()):
            if now - since >= self.config.renew_interval_s:
                self._send_reserve(node, now, actions, acquire=False)

    def _release_cleared(self, odometry_m: float, actions: list[Action]) -> None:
        """Give back each held node whose junction the car has left (a node held for a
        whole leg would deadlock two cars meeting on a two-way street)."""
        for node, at in list(self._release_at.items()):
            if odometry_m >= at:
                self._give_back(node, actions)

    def _release_left_behind(
        self, odometry_m: float, waiting_for: str, actions: list[Action]
    ) -> None:
        """While waiting on a busy node: give back the nodes passed `busy_release_m` ago."""
        for node, mouth in list(self._mouth_at.items()):
            if node != waiting_for and odometry_m - mouth >= self.config.busy_release_m:
                log.info("planner: %s left behind while %s is busy: given back", node, waiting_for)
                self._give_back(node, actions)

    def _give_back(self, node: str, actions: list[Action]) -> None:
        self._release_at.pop(node, None)
        self._mouth_at.pop(node, None)
        if node in self._held:
            actions.append(Action("release", node, self._booking))
            del self._held[node]

    def _release(self, actions: list[Action], *, keep: Sequence[str]) -> None:
        for node in [n for n in self._held if n not in keep]:
            actions.append(Action("release", node, self._booking))
            del self._held[node]

    def _take_answer(self, inp: PlannerInput) -> None:
        """Apply the answer to the last reserve, if it was this node's acquire."""
        asked = self._asked
        if asked is None or inp.reservation_granted is None:
            return
        node, acquire = asked
        if not acquire:
            if inp.reservation_granted is False and node in self._held:
                log.warning("planner: lost the hold of %s", node)
                del self._held[node]
            self._asked = None
            return
        if node != self._pending:
            return
        if inp.reservation_granted:
            self._held[node] = _lease_clock(inp)
            self._pending, self._busy = None, False
            self._asked = None
            log.info("planner: %s granted", node)
        elif not self._busy:
            self._busy = True
            log.info("planner: %s busy, waiting", node)

    def _reserve_next(self, inp: PlannerInput, actions: list[Action]) -> None:
        tracker = self._tracker
        assert tracker is not None
        step = tracker.expected
        if step is None:
            return
        remaining = self._leg_remaining(inp)
        # With the map's leg lengths the distance decides; the sign coming into view only
        # when they are unknown: a sign recognised far off (a straight leg shows the next
        # node's sign from the last junction) would stop the car there while the node is
        # busy, holding the junction it stands in — two cars meeting on a two-way street
        # then wait for each other's node for ever.
        if not self._approach and (
            remaining <= self.config.reserve_distance_m
            if remaining is not None
            else tracker.expected_in_view(inp.detections)
        ):
            self._approach = True
        if not self._approach or step.node in self._held:
            return
        if self._pending != step.node:
            self._pending, self._busy = step.node, False
            self._send_reserve(step.node, inp.now, actions, acquire=True)
        elif inp.now - self._last_sent >= self.config.reserve_retry_s and (
            self._busy or inp.reservation_granted is None or self._asked != (step.node, True)
        ):
            self._send_reserve(step.node, inp.now, actions, acquire=True)

    # ------------------------------------------------------------------ driving
    def _drive(self, inp: PlannerInput, actions: list[Action]) -> PlannerOutput:
        tracker = self._tracker
        assert tracker is not None
        if self._depart is not None:
            waiting = self._await_departure(inp, actions)
            if waiting is not None:
                return waiting
        self._watch_sign_ahead(inp)
        self._release_cleared(inp.odometry_m, actions)
        self._reserve_next(inp, actions)

        step = tracker.expected
        assert step is not None
        remaining = self._leg_remaining(inp)
        at_mouth = remaining is not None and remaining <= self.config.hold_distance_m
        must_wait = self._pending == step.node and (
            self._busy or at_mouth or tracker.expected_near(inp.detections)
        )
        if must_wait and self._server_lost:
            return self._stop(
                _StopCause.SERVER, actions, f"server lost before entering {step.node}"
            )
        if must_wait:
            if self._busy:
                self._release_left_behind(inp.odometry_m, step.node, actions)
            self._state = CarState.WAITING_AT_INTERSECTION
            why = "busy" if self._busy else "no answer yet"
            return self._still(actions, f"waiting for {step.node} ({why})")
        if self._car_ahead:
            self._state = CarState.STOPPED_FOR_CAR
            return self._still(actions, "car ahead")

        self._state = CarState.DRIVING
        events = tracker.update(inp.detections, odometry_m=inp.odometry_m)
        for event in events:
            if event.kind == "reached":
                return self._reached(inp, event, actions, tuple(events), remaining)
        if events:
            event = events[0]
            self._rerouted_sign = event.sign if event.kind == "wrong_sign" else None
            actions.append(
                Action(
                    "reroute",
                    tracker.current.node,
                    self._booking,
                    event.detail,
                    event.sign,
                    event.node,
                )
            )
            out = self._stop(_StopCause.REROUTE, actions, f"{event.kind}: {event.detail}")
            return _with_events(out, events)

        turn, near = self._turn_ahead(inp)
        left, right = self._wheels(inp, turn, near)
        reason = f"driving to {step.node}" + (" (server lost)" if self._server_lost else "")
        return PlannerOutput(
            self._state, left, right, turn, tuple(actions), reason, tracker.current.node
        )

    def _leg_remaining(self, inp: PlannerInput) -> float | None:
        """The map's distance left to the next node; unknown while the start node's sign
        is still ahead (the car is short of the start node by an unknown distance)."""
        assert self._tracker is not None
        return None if self._sign_ahead else self._tracker.leg_remaining_m(inp.odometry_m)

    def _watch_sign_ahead(self, inp: PlannerInput) -> None:
        """After a reroute from the node whose sign is ahead: once that sign is passed, the
        node's junction, turn and leg begin here (see `sign_ahead_max_m`)."""
        sign, tracker = self._sign_ahead, self._tracker
        if sign is None or tracker is None:
            return
        loc = self.config.localization
        in_view = any(d.label == sign and d.score >= loc.min_score for d in inp.detections)
        self._sign_gone = 0 if in_view else self._sign_gone + 1
        driven = inp.odometry_m - self._sign_ahead_from
        if self._sign_gone < max(1, loc.pass_frames) and driven < self.config.sign_ahead_max_m:
            return
        self._sign_ahead = None
        start = tracker.current
        log.info("planner: passed %s's sign, %.2f m after the reroute", start.node, driven)
        if start.node in self._held or self._pending == start.node:
            self._mouth_at[start.node] = inp.odometry_m
            self._release_at[start.node] = inp.odometry_m + self.config.junction_clear_m
        if start.turn in TURNS:
            self._hold(start.turn, inp, self.config.junction_exit_m)
        tracker.restart_leg(inp.odometry_m)

    def _await_departure(self, inp: PlannerInput, actions: list[Action]) -> PlannerOutput | None:
        """Before moving into the first node's junction (or one whose sign was passed before
        the car asked for it): hold it, or wait (None = go)."""
        node = self._depart
        assert node is not None
        if node in self._held:
            self._depart = None
            if self._sign_ahead is None:  # else from where its sign is passed
                self._release_at[node] = inp.odometry_m + self._depart_clear_m
                self._mouth_at[node] = inp.odometry_m
            return None
        if self._server_lost:
            return self._stop(_StopCause.SERVER, actions, f"server lost before leaving {node}")
        if self._pending != node:
            self._pending, self._busy = node, False
            self._send_reserve(node, inp.now, actions, acquire=True)
        elif inp.now - self._last_sent >= self.config.reserve_retry_s and (
            self._busy or inp.reservation_granted is None or self._asked != (node, True)
        ):
            self._send_reserve(node, inp.now, actions, acquire=True)
        self._state = CarState.WAITING_AT_INTERSECTION
        why = "busy" if self._busy else "no answer yet"
        return self._still(actions, f"waiting to leave through {node} ({why})")

    def _wheels(self, inp: PlannerInput, turn: str, near: bool) -> tuple[float, float]:
        """Wheel speeds: turn speed at or near a turn, cruise otherwise; slower in curves;
        a u-turn's half circle once the lane model has started it."""
        cfg = self.config
        arc = self._u_turn_arc(inp, turn)
        if arc is not None:
            return arc
        steering = inp.steering
        speed = cfg.turn_speed_mps if near and turn in ("left", "right") else cfg.cruise_speed_mps
        speed *= 1.0 - cfg.curve_slowdown * min(1.0, abs(steering))
        return wheel_speeds(steering, speed, cfg.geometry)

    def _hold(self, turn: str, inp: PlannerInput, distance_m: float) -> None:
        """Give the lane model `turn` (a node's own) for the next `distance_m` of driving;
        a u-turn until the car has also turned round (see `u_turn_min_deg`)."""
        self._hold_turn = lane_command(turn, self.config.localization.side)
        self._hold_until_m = inp.odometry_m + distance_m
        u_turn = turn == "u-turn" and inp.yaw_rad is not None
        self._u_turn_from = (inp.odometry_m, inp.yaw_rad) if u_turn else None
        self._u_arc = False

    def _u_turn_arc(self, inp: PlannerInput, turn: str) -> tuple[float, float] | None:
        """The wheel speeds of the u-turn's half circle, while the planner drives it."""
        if self._u_turn_from is None or inp.yaw_rad is None or self._hold_turn != turn:
            self._u_arc = False
            return None
        cfg = self.config
        side = 1.0 if turn == "left" else -1.0
        turned = abs(math.degrees(inp.yaw_rad - self._u_turn_from[1]))
        if not self._u_arc and side * inp.steering >= cfg.u_turn_commit_steering:
            self._u_arc = turned < cfg.u_turn_arc_deg
            if self._u_arc:
                log.info("planner: u-turn: driving the half circle (%.0f deg turned)", turned)
        if self._u_arc and turned >= cfg.u_turn_arc_deg:
            self._u_arc = False
            self._u_turn_from = None  # round: no second circle on this u-turn
            log.info("planner: u-turn: round, the lane model drives on")
        if not self._u_arc:
            return None
        radius = cfg.u_turn_radius_m
        if radius is None:
            lane = inp.sign_map.lane_width_m if inp.sign_map is not None else _LANE_WIDTH_M
            radius = max(lane / 2, cfg.geometry.wheel_base_m / 2)
        return curvature_wheel_speeds(side / radius, cfg.u_turn_speed_mps, cfg.geometry)

    def _turning_round(self, inp: PlannerInput) -> bool:
        if self._u_turn_from is None or inp.yaw_rad is None:
            return False
        odometry, yaw = self._u_turn_from
        turned = abs(math.degrees(inp.yaw_rad - yaw))
        driven = inp.odometry_m - odometry
        return turned < self.config.u_turn_min_deg and driven < self.config.u_turn_max_m

    def _turn_ahead(self, inp: PlannerInput) -> tuple[str, bool]:
        """The lane command, and whether the car is at or near the turn it names."""
        tracker = self._tracker
        assert tracker is not None
        if self._hold_turn is not None and (
            inp.odometry_m < self._hold_until_m or self._turning_round(inp)
        ):
            return self._hold_turn, True
        self._hold_turn, self._u_turn_from = None, None
        return tracker.next_turn, self._approach

    def _reached(
        self,
        inp: PlannerInput,
        event: LocalizationEvent,
        actions: list[Action],
        events: tuple[LocalizationEvent, ...],
        remaining_m: float | None = None,
    ) -> PlannerOutput:
        """The expected node is passed; `remaining_m` is what the map said was left of the
        leg then (None without leg lengths)."""
        tracker = self._tracker
        assert tracker is not None and event.node is not None
        node = event.node
        actions.append(Action("progress", node, self._booking))
        if self._pending == node:  # reached before any answer came: no hold to keep
            self._pending, self._busy = None, False
        self._release(actions, keep=(node,))
        # A sign that leaves the view early (a curved approach turns the camera away from
        # it) is passed well before its junction: by the map, hold on the turn and the
        # node that much longer.
        early = 0.0
        if remaining_m is not None:
            early = max(0.0, remaining_m - self.config.early_pass_margin_m)
            log.debug("planner: passed %s with %.2f m of the leg left", node, remaining_m)
        self._release_at = {node: inp.odometry_m + self.config.junction_clear_m + early}
        self._mouth_at = {node: inp.odometry_m}
        self._approach = False
        self._hold(tracker.current.turn, inp, self.config.junction_exit_m + early)
        if tracker.finished:
            return _with_events(self._arrive(actions, f"arrived at {node}"), events)
        if self._server_lost:
            out = self._stop(_StopCause.SERVER, actions, f"server lost: stopped at {node}")
            return _with_events(out, events)
        if node not in self._held and remaining_m is not None:
            # Passed before the map said to ask for it: the junction is still ahead and
            # not held. Like a departure: hold it here first.
            self._depart = node
            self._depart_clear_m = self.config.junction_clear_m + early
            self._pending, self._busy = node, False
            self._send_reserve(node, inp.now, actions, acquire=True)
            self._state = CarState.WAITING_AT_INTERSECTION
            out = self._still(actions, f"waiting for {node} (its sign passed early)")
            return _with_events(out, events)
        # Keep driving through the junction this frame with the node's own turn.
        turn, near = self._turn_ahead(inp)
        left, right = self._wheels(inp, turn, near)
        return PlannerOutput(
            self._state, left, right, turn, tuple(actions), f"reached {node}", node, events
        )

    # ------------------------------------------------------------------ endings
    def _arrive(self, actions: list[Action], reason: str) -> PlannerOutput:
        assert self._tracker is not None
        actions.append(Action("arrived", self._tracker.current.node, self._booking))
        self._release(actions, keep=())
        self._pending = None
        self._state = CarState.ARRIVED
        log.info("planner: %s", reason)
        return self._still(actions, reason)

    def _stop(self, cause: _StopCause, actions: list[Action], reason: str) -> PlannerOutput:
        if self._state is not CarState.STOPPED or self._stop_cause is not cause:
            log.warning("planner: safe stop: %s", reason)
        self._state, self._stop_cause, self._stop_reason = CarState.STOPPED, cause, reason
        return self._still(actions, reason)

    def _still(self, actions: list[Action], reason: str) -> PlannerOutput:
        tracker = self._tracker
        command = "straight" if tracker is None else (self._hold_turn or tracker.next_turn)
        node = None if tracker is None else tracker.current.node
        return PlannerOutput(self._state, 0.0, 0.0, command, tuple(actions), reason, node)


def _lease_clock(inp: PlannerInput) -> float:
    """The clock node leases are renewed by (see `PlannerInput.wall_now`)."""
    return inp.now if inp.wall_now is None else inp.wall_now


def _route_key(assignment: Mapping[str, Any]) -> tuple[Any, ...]:
    """What identifies a trip: the booking id and its route's nodes, signs and turns."""
    route = assignment.get("route")
    steps = route.get("steps") if isinstance(route, Mapping) else None
    if not isinstance(steps, list):
        return (assignment.get("id"), None)
    return (
        assignment.get("id"),
        assignment.get("rerouted"),
        tuple(
            (s.get("node"), s.get("sign"), s.get("turn")) if isinstance(s, Mapping) else None
            for s in steps
        ),
    )


def _with_events(out: PlannerOutput, events: Sequence[LocalizationEvent]) -> PlannerOutput:
    return PlannerOutput(
        out.state,
        out.left_mps,
        out.right_mps,
        out.command,
        out.actions,
        out.reason,
        out.node,
        tuple(events),
    )
