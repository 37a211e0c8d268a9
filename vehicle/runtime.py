"""The car's loop: camera → lane model + detector → planner → board, stream and server.

Threads and what each owns:

- the **loop** (the caller's thread, `run`): reads the camera, runs the models, steps
  the planner, writes the wheel goals and publishes the annotated frame. It never
  waits on the network: everything that talks to the server goes through the two
  workers below, by queue or by a locked slot.
- the **assignment watcher**: long-polls the server for this car's booking while it
  has none, and re-reads the booking while it has one (a station may cancel it). It
  owns the `assignment` slot.
- the **action worker**: carries out the planner's actions in order — reservations
  (their answers go to the `reservation` slot), progress and arrival (into the fleet
  client's outbox, which retries until the server acknowledges), reroutes.

Heartbeats and the outbox run inside `FleetClient`; the MJPEG encoder inside the
stream server. Per-stage timings are kept for the last `timing_window` frames.

The loop's clock is the camera's: a frame's `X-Sim-Time` when the simulator serves
it (so a synchronous world runs the car on simulated time), else its capture time.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from city import City, CityError
from vehicle.annotate import annotate
from vehicle.fleet_client import FleetClient, FleetError
from vehicle.interfaces import CameraFrame, CameraSource, MotorBoard
from vehicle.perception.detections import Detection, ObjectDetector
from vehicle.planner import Action, CarState, Planner, PlannerConfig, PlannerInput, PlannerOutput
from vehicle.sign_map import SignMap
from vehicle.stream import StreamAccess, StreamServer

log = logging.getLogger(__name__)

STAGES = ("camera", "lane", "detect", "plan", "board", "annotate", "total")
_ACTIVE = {
    CarState.ASSIGNED,
    CarState.DRIVING,
    CarState.WAITING_AT_INTERSECTION,
    CarState.STOPPED_FOR_CAR,
    CarState.STOPPED,
}


class SteeringModel(Protocol):
    def steer(self, frame_bgr: np.ndarray, command: str) -> float: ...


@dataclass(frozen=True)
class RuntimeConfig:
    """How the loop runs (seconds). `detect_every`: run the detector on every k-th frame."""

    detect_every: int = 1
    frame_timeout_s: float = 0.5
    blind_stop_s: float = 0.3
    # A synchronous simulation (frames marked X-Sim-Sync) serves the next frame only once
    # every car answered the last: the world stands still meanwhile, so a late frame is
    # no blindness. Its cars wait this long instead (stopping on 0.5 s made a slow tick
    # change how a car drove, so results depended on the machine's load).
    sync_frame_timeout_s: float = 20.0
    assignment_wait_s: float = 20.0
    booking_poll_s: float = 0.5
    annotate: bool = True
    timing_window: int = 2000
    planner: PlannerConfig = field(default_factory=PlannerConfig)

    def __post_init__(self) -> None:
        if self.detect_every < 1:
            raise ValueError(f"detect_every: must be at least 1, got {self.detect_every}")
        for name in (
            "frame_timeout_s",
            "blind_stop_s",
            "sync_frame_timeout_s",
            "assignment_wait_s",
            "booking_poll_s",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be positive, got {getattr(self, name)}")
        if self.timing_window < 10:
            raise ValueError("timing_window: must be at least 10")


class StageTimings:
    """Rolling per-stage durations (ms) of the last `window` frames; thread-safe summary."""

    def __init__(self, window: int) -> None:
        self._lock = threading.Lock()
        self._data = {stage: deque(maxlen=window) for stage in STAGES}

    def add(self, stage: str, ms: float) -> None:
        with self._lock:
            self._data[stage].append(ms)

    def summary(self) -> dict[str, dict[str, float]]:
        with self._lock:
            data = {k: np.asarray(v) for k, v in self._data.items() if v}
        return {
            k: {
                "p50_ms": round(float(np.percentile(v, 50)), 3),
                "p99_ms": round(float(np.percentile(v, 99)), 3),
                "n": int(v.size),
            }
            for k, v in data.items()
        }


class CarRuntime:
    """One car: its camera, models, planner, board, stream and server client."""

    def __init__(
        self,
        *,
        camera: CameraSource,
        board: MotorBoard,
        fleet: FleetClient,
        lane: SteeringModel,
        detector: ObjectDetector,
        node: str,
        from_node: str | None = None,
        config: RuntimeConfig | None = None,
        stream: StreamServer | None = None,
        stream_access: StreamAccess | None = None,
    ) -> None:
        self.config = config or RuntimeConfig()
        self.camera, self.board, self.fleet = camera, board, fleet
        self.lane, self.detector = lane, detector
        self.stream, self.stream_access = stream, stream_access
        self.planner = Planner(self.config.planner)
        self.timings = StageTimings(self.config.timing_window)
        self.node, self.from_node = node, from_node
        self._lock = threading.Lock()
        self._assignment: dict[str, Any] | None = None
        self._legs: tuple[float, ...] | None = None
        self._city: City | None = None
        self._sign_map: SignMap | None = None
        self._reservation: bool | None = None
        self._actions: queue.Queue[Action | None] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._frames = 0
        self._detections: list[Detection] = []
        self._command = "straight"
        self._steering = 0.0
        self._odometry_m = 0.0
        self._yaw_rad = 0.0  # heading change from the wheel speeds (counter-clockwise)
        self._track_m = self.config.planner.geometry.wheel_base_m
        self._last_clock: float | None = None
        self._last_frame_at = time.monotonic()
        self._blind = False
        self._sync = False  # the camera is a synchronous simulation's (X-Sim-Sync)
        self._stream_url: str | None = None
        self.last_output: PlannerOutput | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Connect the board, start the stream and the workers; report ready."""
        self.board.connect()
        self.board.set_torque(True)
        self.camera.connect()
        if self.stream is not None:
            self.stream.start()
            self._stream_url = self.stream.stream_url
        self._report_status(CarState.IDLE)
        self._city = self._load_city()
        self._sign_map = SignMap(self._city) if self._city is not None else None
        self._threads = [
            threading.Thread(target=self._watch_assignment, name="assignment", daemon=True),
            threading.Thread(target=self._work_actions, name="actions", daemon=True),
        ]
        for t in self._threads:
            t.start()

    def run(self, stop: threading.Event) -> None:
        """The loop, until `stop` is set."""
        while not stop.is_set() and not self._stop.is_set():
            self.step()

    def close(self) -> None:
        """Stop the wheels and every thread; release the board, camera and stream."""
        self._stop.set()
        self._actions.put(None)
        try:
            self.board.stop()
        finally:
            for t in self._threads:
                t.join(timeout=3)
            if self.stream is not None:
                self.stream.stop()
            self.camera.close()
            self.board.close()

    # ------------------------------------------------------------------ one frame
    def step(self) -> PlannerOutput | None:
        """Process one camera frame (or notice none came); returns the planner's decision."""
        t0 = time.perf_counter()
        timeout = self.config.sync_frame_timeout_s if self._sync else self.config.frame_timeout_s
        frame = self.camera.read(timeout)
        t1 = time.perf_counter()
        if frame is None:
            self._no_frame()
            return None
        self._sync = frame.meta.get("X-Sim-Sync") == "1"
        self._blind = False
        self._last_frame_at = time.monotonic()
        now = self._clock(frame)
        self._integrate_odometry(now)
        self._steering = float(self.lane.steer(frame.image, self._command))
        t2 = time.perf_counter()
        if self._frames % self.config.detect_every == 0:
            self._detections = list(self.detector.detect(frame.image))
        t3 = time.perf_counter()
        with self._lock:
            assignment = self._assignment
            legs = self._legs
            granted = self._reservation
        out = self.planner.step(
            PlannerInput(
                now=now,
                assignment=assignment,
                steering=self._steering,
                detections=self._detections,
                odometry_m=self._odometry_m,
                reservation_granted=granted,
                server_ok=self.fleet.online,
                leg_lengths_m=legs,
                yaw_rad=self._yaw_rad,
                sign_map=self._sign_map,
                wall_now=time.monotonic(),
            )
        )
        t4 = time.perf_counter()
        if self.fleet.service != "in_service":
            # An operator paused the car (or took it out of service): it stands still
            # and goes on once released; its trip, reservations and reports are kept.
            self.board.set_wheel_speeds(0.0, 0.0)
        else:
            self.board.set_wheel_speeds(out.left_mps, out.right_mps)
        t5 = time.perf_counter()
        self._command = out.command
        self._carry_out(out)
        t6 = time.perf_counter()
        if self.stream is not None and self.config.annotate:
            view = annotate(
                frame.image,
                self._detections,
                steering=self._steering,
                command=out.command,
                state=out.state.value,
                node=out.node,
            )
            self.stream.publish(view)
        t7 = time.perf_counter()
        self._frames += 1
        for stage, ms in zip(
            STAGES,
            (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t7 - t6, t7 - t1),
            strict=True,
        ):
            self.timings.add(stage, ms * 1000.0)
        self.last_output = out
        return out

    def _clock(self, frame: CameraFrame) -> float:
        sim_time = frame.meta.get("X-Sim-Time")
        if sim_time is not None:
            try:
                return float(sim_time)
            except ValueError:
                pass
        return frame.timestamp

    def _integrate_odometry(self, now: float) -> None:
        if self._last_clock is not None and now > self._last_clock:
            t = self.board.telemetry()
            dt = now - self._last_clock
            self._odometry_m += abs(t.left_mps + t.right_mps) / 2.0 * dt
            self._yaw_rad += (t.right_mps - t.left_mps) / self._track_m * dt
        self._last_clock = now

    def _no_frame(self) -> None:
        blind_after = self.config.sync_frame_timeout_s if self._sync else self.config.blind_stop_s
        if time.monotonic() - self._last_frame_at >= blind_after:
            if not self._blind:
                log.warning(
                    "car: no camera frame for %.1f s: wheels stopped",
                    time.monotonic() - self._last_frame_at,
                )
                self._blind = True
            self.board.stop()

    def _carry_out(self, out: PlannerOutput) -> None:
        for action in out.actions:
            if action.kind == "reserve":
                with self._lock:
                    self._reservation = None
            self._actions.put(action)
        if out.node is not None and out.node != self.node:
            self.from_node, self.node = self.node, out.node
        self._report_status(out.state)

    def _report_status(self, state: CarState) -> None:
        telemetry = self.board.telemetry()
        self.fleet.set_status(
            "driving" if state in _ACTIVE else "ready",
            self.node,
            battery_v=telemetry.battery_v,
            stream_url=self._stream_url,
            from_node=self.from_node,
        )

    # ------------------------------------------------------------------ workers
    def _load_city(self) -> City | None:
        """The server's map, for the length of each leg of a route (None if unavailable:
        the car then reserves nodes when their signs come into view)."""
        try:
            return City.from_dict(self.fleet.city_document())
        except (FleetError, CityError, ValueError) as exc:
            log.warning("car: no city map (%s): leg lengths unknown", exc)
            return None

    def _set_assignment(self, assignment: Mapping[str, Any] | None) -> None:
        legs = None
        if assignment is not None and self._city is not None:
            legs = leg_lengths(self._city, assignment.get("route"))
        with self._lock:
            self._assignment = dict(assignment) if assignment is not None else None
            self._legs = legs
        if self.stream_access is not None:
            token = assignment.get("stream_token") if assignment else None
            self.stream_access.set_booking_token(token or None)

    def _watch_assignment(self) -> None:
        cfg = self.config
        while not self._stop.is_set():
            with self._lock:
                current = self._assignment
            try:
                if current is None:
                    booking = self.fleet.wait_assignment(cfg.assignment_wait_s)
                    if booking is not None:
                        log.info(
                            "car: booking %s to %s", booking.get("id"), booking.get("destination")
                        )
                        self._set_assignment(booking)
                    continue
                booking = self.fleet.booking(str(current["id"]))
                if booking.get("status") in ("arrived", "cancelled", "failed"):
                    log.info("car: booking %s %s", booking.get("id"), booking.get("status"))
                    self._set_assignment(None)
                    continue
            except FleetError as exc:
                log.debug("car: assignment check failed: %s", exc)
            self._stop.wait(cfg.booking_poll_s)

    def _work_actions(self) -> None:
        while not self._stop.is_set():
            action = self._actions.get()
            if action is None:
                return
            try:
                self._do(action)
            except FleetError as exc:
                log.warning("car: %s %s failed: %s", action.kind, action.node, exc)
                if action.kind == "reserve":
                    with self._lock:
                        self._reservation = None

    def _do(self, action: Action) -> None:
        fleet = self.fleet
        if action.kind == "reserve" and action.node is not None:
            granted = fleet.reserve(action.node)
            with self._lock:
                self._reservation = granted
        elif action.kind == "release" and action.node is not None:
            fleet.release(action.node)
        elif action.kind == "progress" and action.booking and action.node:
            # One line per report, so a drill can check that none is lost (docs/reliability.md).
            log.info("car: passed %s on %s", action.node, action.booking)
            fleet.report_progress(action.booking, action.node)
        elif action.kind == "arrived" and action.booking:
            fleet.report_arrived(action.booking)
        elif action.kind == "reroute" and action.node is not None:
            with self._lock:
                current = self._assignment
            if current is None or current.get("id") != action.booking:
                return
            came_from = self.from_node if action.node == self.node else None
            node, came_from = reroute_origin(
                self._city, action.node, came_from, action.sign, action.expected
            )
            booking = fleet.reroute(str(current["id"]), node, came_from)
            log.info("car: rerouted from %s (%s)", node, action.detail)
            # The count makes every answer a new trip for the planner, even a route equal
            # to the last (the server may well send the same one): the car was stopped.
            rerouted = int(current.get("rerouted", 0)) + 1
            self._set_assignment({**current, "route": booking["route"], "rerouted": rerouted})


def leg_lengths(city: City, route: Any) -> tuple[float, ...] | None:
    """The lane length of each leg of a route document (``{"steps": [{"node"}, ...]}``) on
    the map; None if the document is malformed or leaves the map."""
    try:
        nodes = [s["node"] for s in route["steps"]]
        return tuple(city.edge(a, b).lane_length_m for a, b in zip(nodes, nodes[1:], strict=False))
    except (KeyError, TypeError, CityError):
        return None


def reroute_origin(
    city: City | None,
    last: str,
    came_from: str | None,
    seen_sign: str | None,
    expected: str | None = None,
) -> tuple[str, str | None]:
    """Where a new route starts, and the node the car came from there.

    After a wrong sign: the node that carries the sign the car sees instead of the
    expected one, when the map has exactly one such node (the car is on a road into it:
    it turned wrong somewhere after `last`); otherwise `last`, the node it confirmed last.
    The road it is on comes from `last` if one joins them, else from `expected` (passed
    without its sign being seen), else from the one node between `last` and the seen one;
    unknown otherwise. Knowing the road gives the new route's first turn, the one that
    takes the car on from the seen node.
    """
    if seen_sign is None or city is None:
        return last, came_from
    marked = [n for n, node in city.nodes.items() if node.sign == seen_sign]
    if len(marked) != 1 or marked[0] == last:
        return last, came_from
    seen = marked[0]
    for before in (last, expected):
        if before is not None and before != seen and (before, seen) in city.edges:
            return seen, before
    between = [
        n for n in city.nodes if n != seen and (last, n) in city.edges and (n, seen) in city.edges
    ]
    return seen, between[0] if len(between) == 1 else None
