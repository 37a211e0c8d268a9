"""Where the car is on its route, from the signs it recognises.

The car has no map position of its own: it knows the route (the nodes, the sign that
marks each, the turn to take there) and the detector's boxes. A node counts as
*reached* when its sign is seen steadily — in `hits` of the last `window` frames —
with a box that looks like a sign being passed: big enough to be near, not a
frame-filling false positive, and on the side of the road signs stand on. (The
original Pixelopolis car used 4 of 25 frames, a box-size threshold and 0.7
confidence.)

Things going wrong are reported once per leg, for the planner to stop and ask for a
new route rather than drive on blind:

- ``wrong_sign``: another sign type seen steadily where only the expected one (or the
  one just passed, until it leaves the view) should be;
- ``missed``: the car drove the leg's known length plus a margin without reaching the
  expected node.

Pure logic: no I/O, no clocks; odometry comes in with every frame.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from city.model import RouteStep as CityRouteStep
from city.turns import ARRIVE, DEPART, LEFT, RIGHT, STRAIGHT, TURNS, U_TURN
from vehicle.perception.detections import CAR_LABEL, Detection
from vehicle.sign_map import SignMap

log = logging.getLogger(__name__)

DRIVE_SIDES = ("right", "left")
ROUTE_TURNS = (DEPART, ARRIVE, *TURNS)
EventKind = Literal["reached", "wrong_sign", "missed"]


@dataclass(frozen=True)
class LocalizationConfig:
    """How steadily, how big and where a sign must be seen to count.

    `side_min_x`: for right-hand traffic a passed sign's box centre is right of this x
    (for left-hand traffic, left of ``1 - side_min_x``). `refractory_frames`: after a
    node is reached its sign must be absent this many frames in a row before it can
    count again (two consecutive nodes may carry the same sign type). `pass_frames`: a
    sign seen steadily counts as *passed* — the node reached — once it has been out of
    view this many frames in a row (it leaves the camera's view as the car draws level
    with it, at the junction's mouth); 0 reaches the node as soon as the sign is steady.
    `wrong_sign_after_m`: signs seen before the car has driven this far on a leg never
    count as wrong — turning through the junction it just passed (or departs through),
    the camera sweeps over the boards of the roads it is not taking.
    `misread_margin_m`: with a map (`SignMap`), a steady other sign counts as wrong only
    if a road into a node marked with it lies within the distance driven since the last
    node, give or take this; otherwise it is a misread and ignored (vehicle/sign_map.py).
    """

    window: int = 12
    hits: int = 4
    min_box_height: float = 0.10
    max_box_height: float = 0.9
    side: str = "right"
    side_min_x: float = 0.45
    wrong_sign_hits: int = 5
    miss_margin_m: float = 1.0
    min_score: float = 0.7
    refractory_frames: int = 3
    pass_frames: int = 2
    wrong_sign_after_m: float = 1.0
    misread_margin_m: float = 0.5
    # The next node's sign seen steadily stands for the expected node passed unseen only
    # once odometry has covered both legs but this much (steady sightings start ~1.4 m
    # short of a node; leg starts are good to ~0.7 m). Past half the leg was enough
    # before, and the expected node's own sign misread as the next one's (red-triangle
    # as red-square, at E) took the car for arrived two junctions early.
    skip_ahead_margin_m: float = 2.0
    # Odometry plausibility of a reach: sightings of the expected sign count towards it
    # only once the car has driven min(`reach_min_leg_fraction` of the leg, the leg but
    # `reach_max_early_m`) since the last node was passed (legs known, and the leg's start
    # known: not the first leg, which the car may begin anywhere along, nor the leg after
    # a node inferred as passed). A sign read wrongly as the expected one 0.8 m into a
    # 2.1 m leg (grid:12:7, beside n6) had the car "reach" n5 1.3 m early, and its
    # departure turn then took it off the route.
    reach_min_leg_fraction: float = 0.5
    reach_max_early_m: float = 1.0

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError(f"window: must be at least 1, got {self.window}")
        for name in ("hits", "wrong_sign_hits"):
            value = getattr(self, name)
            if not 1 <= value <= self.window:
                raise ValueError(f"{name}: must be in 1..window ({self.window}), got {value}")
        if not 0.0 <= self.min_box_height < self.max_box_height <= 1.0:
            raise ValueError(
                "min_box_height, max_box_height: need 0 <= min < max <= 1, got "
                f"{self.min_box_height}, {self.max_box_height}"
            )
        if self.side not in DRIVE_SIDES:
            raise ValueError(f"side: must be one of {', '.join(DRIVE_SIDES)}, got {self.side!r}")
        if not 0.0 <= self.side_min_x <= 1.0:
            raise ValueError(f"side_min_x: must be in [0, 1], got {self.side_min_x}")
        if self.miss_margin_m < 0:
            raise ValueError(f"miss_margin_m: must not be negative, got {self.miss_margin_m}")
        if not 0.0 <= self.min_score <= 1.0:
            raise ValueError(f"min_score: must be in [0, 1], got {self.min_score}")
        if self.wrong_sign_after_m < 0:
            raise ValueError(
                f"wrong_sign_after_m: must not be negative, got {self.wrong_sign_after_m}"
            )
        if self.misread_margin_m < 0:
            raise ValueError(f"misread_margin_m: must not be negative, got {self.misread_margin_m}")
        if self.skip_ahead_margin_m < 0:
            raise ValueError(
                f"skip_ahead_margin_m: must not be negative, got {self.skip_ahead_margin_m}"
            )
        if not 0.0 <= self.reach_min_leg_fraction <= 1.0:
            raise ValueError(
                f"reach_min_leg_fraction: must be in [0, 1], got {self.reach_min_leg_fraction}"
            )
        if self.reach_max_early_m < 0:
            raise ValueError(
                f"reach_max_early_m: must not be negative, got {self.reach_max_early_m}"
            )
        if self.pass_frames < 0:
            raise ValueError(f"pass_frames: must not be negative, got {self.pass_frames}")
        if self.refractory_frames < 0:
            raise ValueError(
                f"refractory_frames: must not be negative, got {self.refractory_frames}"
            )


class RouteStep(CityRouteStep):
    """A route step as the server sends it (`city.model.RouteStep`), readable from JSON."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RouteStep:
        """A step from ``{"node", "sign", "turn"}``; ValueError naming the bad field."""
        if not isinstance(data, Mapping):
            raise ValueError(f"route step: must be an object, got {type(data).__name__}")
        for name in ("node", "sign", "turn"):
            value = data.get(name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"route step {name}: must be a non-empty string, got {value!r}")
        if data["turn"] not in ROUTE_TURNS:
            raise ValueError(
                f"route step turn: must be one of {', '.join(ROUTE_TURNS)}, got {data['turn']!r}"
            )
        return cls(node=data["node"], sign=data["sign"], turn=data["turn"])


def steps_from_route(route: Mapping[str, Any]) -> tuple[RouteStep, ...]:
    """The steps of a route dict ``{"steps": [...], "length_m"}``; ValueError if malformed."""
    steps = route.get("steps") if isinstance(route, Mapping) else None
    if not isinstance(steps, list) or not steps:
        raise ValueError("route steps: must be a non-empty list")
    return tuple(RouteStep.from_dict(step) for step in steps)


@dataclass(frozen=True)
class LocalizationEvent:
    """Something the tracker concluded this frame. `index` is the route step it concerns."""

    kind: EventKind
    node: str | None
    index: int
    detail: str
    sign: str | None = None  # wrong_sign: the sign seen most steadily instead


class RouteTracker:
    """Follows a route's steps from the signs seen.

    Step 0 is the start node (the car is there); the node expected next is
    ``steps[index + 1]``. `leg_lengths_m[i]`, if given, is the distance from step i to
    step i + 1 and enables the "missed" check. `start_allowance_m` lengthens the first
    leg for that check only: a car that starts before its first node's junction (a
    departure turn, say a u-turn at a dead end) drives through it before the leg's
    node-to-node length begins. `sign_map`, if given, tells a wrong sign from a misread
    one: only a sign the car could be seeing by the map and its odometry is wrong.
    """

    def __init__(
        self,
        steps: Sequence[CityRouteStep],
        *,
        leg_lengths_m: Sequence[float] | None = None,
        config: LocalizationConfig | None = None,
        odometry_m: float = 0.0,
        start_allowance_m: float = 0.0,
        sign_map: SignMap | None = None,
    ) -> None:
        if not steps:
            raise ValueError("steps: a route has at least one step")
        if leg_lengths_m is not None and len(leg_lengths_m) != len(steps) - 1:
            raise ValueError(
                f"leg_lengths_m: need {len(steps) - 1} lengths (one per leg), "
                f"got {len(leg_lengths_m)}"
            )
        self.config = config or LocalizationConfig()
        self.steps: tuple[CityRouteStep, ...] = tuple(steps)
        self.leg_lengths_m = None if leg_lengths_m is None else tuple(leg_lengths_m)
        if start_allowance_m < 0:
            raise ValueError(f"start_allowance_m: must not be negative, got {start_allowance_m}")
        self._allowance_m = start_allowance_m
        self._sign_map = sign_map
        self._misreads: set[str] = set()  # logged once per leg
        self._index = 0
        self._leg_start_m = odometry_m
        # (odometry, plausible sign labels) of the last `window` frames
        self._history: deque[tuple[float, frozenset[str]]] = deque(maxlen=self.config.window)
        self._blocked: str | None = None  # the sign just passed, until it leaves the view
        self._absent = 0
        self._reported: set[EventKind] = set()  # wrong_sign / missed, once per leg
        self._armed = False  # the expected sign was seen steadily: reached once it is gone
        self._gone = 0  # frames in a row without the armed sign
        self._leg_start_known = False  # whether `_leg_start_m` is where a node was passed
        self._early_logged = False  # an early steady sighting was logged on this leg

    # ------------------------------------------------------------------ state
    @property
    def index(self) -> int:
        """The index of the last node reached (0: the start)."""
        return self._index

    @property
    def finished(self) -> bool:
        return self._index >= len(self.steps) - 1

    @property
    def current(self) -> CityRouteStep:
        """The last node reached."""
        return self.steps[self._index]

    @property
    def expected(self) -> CityRouteStep | None:
        """The node expected next, or None once the last one is reached."""
        return None if self.finished else self.steps[self._index + 1]

    @property
    def next_turn(self) -> str:
        """The lane command for the next node: "left", "right" or "straight"."""
        step = self.expected
        return "straight" if step is None else lane_command(step.turn, self.config.side)

    def restart_leg(self, odometry_m: float) -> None:
        """The start node is only now being passed (its sign was ahead): the first leg
        begins here, with no start allowance left. Only before the first node is reached."""
        if self._index != 0:
            raise RuntimeError("restart_leg: the first node has already been reached")
        self._leg_start_m = odometry_m
        self._leg_start_known = True
        self._allowance_m = 0.0
        self._history.clear()
        self._blocked, self._absent = self.current.sign, 0

    def leg_remaining_m(self, odometry_m: float) -> float | None:
        """Distance left to the expected node by odometry, if the leg's length is known."""
        if self.leg_lengths_m is None or self.finished:
            return None
        return self.leg_lengths_m[self._index] - (odometry_m - self._leg_start_m)

    # ------------------------------------------------------------------ box tests
    def on_drive_side(self, det: Detection) -> bool:
        if self.config.side == "right":
            return det.center_x > self.config.side_min_x
        return det.center_x < 1.0 - self.config.side_min_x

    def plausible(self, det: Detection) -> bool:
        """Whether a box looks like a sign being passed (size and side; label not checked)."""
        cfg = self.config
        return (
            det.score >= cfg.min_score
            and cfg.min_box_height <= det.height <= cfg.max_box_height
            and self.on_drive_side(det)
        )

    def expected_in_view(self, detections: Sequence[Detection]) -> bool:
        """The expected sign is seen on the drive side, at any size (e.g. still far off)."""
        step = self.expected
        return step is not None and any(
            d.label == step.sign and d.score >= self.config.min_score and self.on_drive_side(d)
            for d in detections
        )

    def expected_near(self, detections: Sequence[Detection]) -> bool:
        """The expected sign is seen with a box plausible for passing it (this frame)."""
        step = self.expected
        return step is not None and any(
            d.label == step.sign and self.plausible(d) for d in detections
        )

    # ------------------------------------------------------------------ per frame
    def update(
        self, detections: Sequence[Detection], *, odometry_m: float
    ) -> list[LocalizationEvent]:
        """Take one frame's detections; the events it leads to (usually none)."""
        if self.finished:
            return []
        labels = {d.label for d in detections if d.label != CAR_LABEL and self.plausible(d)}
        blocked = self._blocked
        if blocked is not None:
            if any(d.label == blocked and d.score >= self.config.min_score for d in detections):
                self._absent = 0
            else:
                self._absent += 1
            if self._absent >= self.config.refractory_frames:
                self._blocked = None
            else:
                labels.discard(blocked)
        self._history.append((odometry_m, frozenset(labels)))

        step = self.expected
        assert step is not None
        if not self._armed and self._count(step.sign) >= self.config.hits:
            earliest = self._earliest_reach_m()
            if self._count(step.sign, since_m=earliest) >= self.config.hits:
                self._armed = True
            elif not self._early_logged:  # (only with a finite floor: legs known)
                self._early_logged = True
                log.info(
                    "localization: %s seen steadily %.2f m into the leg: too early for "
                    "node %s by odometry (counts from %.2f m)",
                    step.sign, odometry_m - self._leg_start_m,
                    step.node, earliest - self._leg_start_m,
                )  # fmt: skip
        if self._armed:
            in_view = any(
                d.label == step.sign and d.score >= self.config.min_score for d in detections
            )
            self._gone = 0 if in_view else self._gone + 1
            if self._gone >= self.config.pass_frames:
                return [self._reach(step, odometry_m)]
            return []
        after = self._after_expected()
        if (
            after is not None
            and after.sign != step.sign
            and self._count(after.sign) >= self.config.hits
            and self._past_half_leg(odometry_m)
            and self._could_be_past_expected(odometry_m)
        ):
            # The expected sign was never in view (e.g. it stands where a curved road
            # points the camera away) but the next node's is, up close: the car has
            # passed the expected node — with its turn, the lane command until now.
            return [self._reach(step, odometry_m, inferred=True)]

        events: list[LocalizationEvent] = []
        if "wrong_sign" not in self._reported:
            # the node just passed shows other boards of its sign as the car turns
            # through its junction: never a wrong sign
            ok = {step.sign, self.current.sign}
            seen = Counter(s for frame in self._leg_frames() for s in frame)
            counts = {s: k for s, k in seen.items() if s not in ok}
            steady = sorted(s for s, k in counts.items() if k >= self.config.wrong_sign_hits)
            steady = [s for s in steady if self._could_see(s, odometry_m)]
            if steady:
                self._reported.add("wrong_sign")
                most = max(steady, key=counts.__getitem__)
                events.append(
                    LocalizationEvent(
                        "wrong_sign",
                        step.node,
                        self._index + 1,
                        f"saw {', '.join(steady)} instead of {step.sign} (node {step.node}) "
                        f"{odometry_m - self._leg_start_m:.2f} m after {self.current.node}; "
                        "leg sightings " + ", ".join(f"{s} {k}" for s, k in seen.most_common()),
                        sign=most,
                    )
                )
        remaining = self.leg_remaining_m(odometry_m)
        if (
            remaining is not None
            and not self._armed  # seen, not yet passed: not missed
            and "missed" not in self._reported
            and -remaining > self.config.miss_margin_m + self._next_leg_m() + self._allowance_m
        ):
            self._reported.add("missed")
            events.append(
                LocalizationEvent(
                    "missed",
                    step.node,
                    self._index + 1,
                    f"drove {odometry_m - self._leg_start_m:.2f} m of a "
                    f"{self.leg_lengths_m[self._index]:.2f} m leg without seeing {step.sign}",
                )
            )
        for event in events:
            log.warning("localization: %s: %s", event.kind, event.detail)
        return events

    def _could_see(self, sign: str, odometry_m: float) -> bool:
        """Whether the map lets the car see `sign` now (True without a map); a misread
        is logged once per leg."""
        if self._sign_map is None:
            return True
        driven = odometry_m - self._leg_start_m
        margin = self.config.misread_margin_m
        # a departure manoeuvre (the start allowance) adds odometry, never lane distance
        nearest, farthest = driven - self._allowance_m - margin, driven + margin
        if self._sign_map.could_see(
            sign, from_node=self.current.node, nearest_m=nearest, farthest_m=farthest
        ):
            return True
        if sign not in self._misreads:
            self._misreads.add(sign)
            log.info(
                "localization: %s seen %.2f m after %s, where no road into a node with it "
                "is: taken as a misread",
                sign, driven, self.current.node,
            )  # fmt: skip
        return False

    def _after_expected(self) -> CityRouteStep | None:
        """The route step after the expected one, if any."""
        k = self._index + 2
        return self.steps[k] if k < len(self.steps) else None

    def _could_be_past_expected(self, odometry_m: float) -> bool:
        """Whether odometry puts the car near the node after the expected one (True
        without leg lengths): see `skip_ahead_margin_m`."""
        legs, k = self.leg_lengths_m, self._index
        if legs is None or k + 1 >= len(legs):
            return True
        driven = odometry_m - self._leg_start_m
        return driven >= legs[k] + legs[k + 1] - self.config.skip_ahead_margin_m

    def _earliest_reach_m(self) -> float:
        """The odometry from which sightings of the expected sign count towards reaching
        it (see `LocalizationConfig.reach_min_leg_fraction`); -inf where unknown."""
        if self.leg_lengths_m is None or not self._leg_start_known:
            return -math.inf
        cfg, leg = self.config, self.leg_lengths_m[self._index]
        floor = min(cfg.reach_min_leg_fraction * leg, leg - cfg.reach_max_early_m)
        return self._leg_start_m + floor

    def _past_half_leg(self, odometry_m: float) -> bool:
        if self.leg_lengths_m is None:
            return True
        return odometry_m - self._leg_start_m >= 0.5 * self.leg_lengths_m[self._index]

    def _next_leg_m(self) -> float:
        """The leg after the expected node: a node is only called missed once the car
        could have seen the next one's sign instead (see the skip-ahead in `update`)."""
        legs = self.leg_lengths_m
        k = self._index + 1
        return legs[k] if legs is not None and k < len(legs) else 0.0

    def _count(self, label: str, *, since_m: float = -math.inf) -> int:
        """Frames in the window with `label` plausibly in view, seen at odometry `since_m`
        or later."""
        return sum(1 for at, frame in self._history if label in frame and at >= since_m)

    def _leg_frames(self) -> list[frozenset[str]]:
        """The frames seen `wrong_sign_after_m` or more into this leg: what a wrong sign is
        read from. (No departure allowance here: a car that took the wrong road out of its
        first junction must see that road's sign as wrong before it passes it.)"""
        start = self._leg_start_m + self.config.wrong_sign_after_m
        return [frame for at, frame in self._history if at >= start]

    def _reach(
        self, step: CityRouteStep, odometry_m: float, *, inferred: bool = False
    ) -> LocalizationEvent:
        hits = self._count(step.sign)
        after = self._after_expected()
        self._index += 1
        self._leg_start_m = odometry_m
        # an inferred pass happens near the next node, not at the one passed
        self._leg_start_known = not inferred
        self._early_logged = False
        self._allowance_m = 0.0
        self._reported.clear()
        self._misreads.clear()
        self._armed, self._gone = False, 0
        if inferred and after is not None:
            # The next sign's sightings stay: they count towards reaching it.
            detail = f"{step.sign} never in view; {after.sign} (the next node's) is near"
        else:
            self._history.clear()
            self._blocked, self._absent = step.sign, 0
            detail = f"{step.sign} in {hits} of the last {self.config.window} frames"
        log.info("localization: reached %s (%s)", step.node, detail)
        return LocalizationEvent("reached", step.node, self._index, detail)


def lane_command(turn: str, side: str = "right") -> str:
    """The lane model's command for a route turn.

    A u-turn crosses the traffic ("left" when driving on the right); arriving,
    departing and going straight are "straight".
    """
    if turn == U_TURN:
        return LEFT if side == "right" else RIGHT
    return turn if turn in (LEFT, RIGHT) else STRAIGHT
